//! `octa plan`: what `octa install` would change, per step, without changing anything.
//! Exit 0 when it could proceed, 3 when a step is blocked.

use clap::Args;
use octa_bootstrap::engine;
use octa_bootstrap::steps;

use super::session::{self, Common, CtxParts};
use super::show;
use crate::exit::ExitCode;
use crate::ui::{OutputMode, Ui};

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: Common,
    /// Plan as if `--adopt` were given.
    #[arg(long)]
    pub adopt: bool,
}

impl PlanArgs {
    pub fn output_mode(&self) -> OutputMode {
        self.common.output_mode()
    }
}

pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    super::block_on(run_async(args))?
}

async fn run_async(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let ui = Ui::new(args.output_mode());
    let (sourced, previous) = match &args.common.playbook {
        Some(p) => {
            let s = session::from_playbook(p)?;
            let prev = octa_bootstrap::state::read(&s.answers.state_dir.join("state.json"))?;
            (s, prev)
        }
        None => {
            let (s, st) = session::from_state(&args.common.state_dir)?;
            (s, Some(st))
        }
    };
    let deployment = sourced
        .answers
        .deployment
        .clone()
        .or_else(|| previous.as_ref().map(|s| s.install_id.clone()))
        .unwrap_or_else(|| "<new>".into());
    let adopted = previous
        .as_ref()
        .map(|s| s.adopted_ids().map(str::to_owned).collect())
        .unwrap_or_default();
    let os = session::connect(&args.common, &sourced.answers).await?;
    let cx = session::build_ctx(
        &args.common,
        sourced,
        os,
        CtxParts {
            deployment: deployment.clone(),
            adopt: args.adopt,
            adopted,
            octavia_conf: previous.as_ref().and_then(|s| s.octavia_conf.clone()),
        },
    )?;
    let planned = match engine::plan_all(&cx, &steps::all()).await {
        Ok(p) => p,
        Err(e) => return Ok(super::report(&ui, &e)),
    };
    show::plan(&ui, &deployment, &planned);
    ui.json(&serde_json::json!({ "deployment": deployment, "steps": planned }))?;
    Ok(if planned.iter().any(|p| p.plan.is_blocked()) {
        ExitCode::CRITICAL
    } else {
        ExitCode::SUCCESS
    })
}
