//! `octa uninstall`: undo every step in reverse order, removing only what this deployment
//! made (tagged or recorded); adopted objects and same-named objects of others are left.
//! It never stops half-way: every error is collected and reported at the end (exit 4).

use clap::Args;
use octa_bootstrap::engine;
use octa_bootstrap::state::StateDir;
use octa_bootstrap::steps;

use super::session::{self, Common, CtxParts};
use crate::exit::ExitCode;
use crate::progress::StepProgress;
use crate::ui::{OutputMode, Ui};

#[derive(Debug, Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub common: Common,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

impl UninstallArgs {
    pub fn output_mode(&self) -> OutputMode {
        self.common.output_mode()
    }
}

pub fn run(args: UninstallArgs) -> anyhow::Result<ExitCode> {
    super::block_on(run_async(args))?
}

async fn run_async(args: UninstallArgs) -> anyhow::Result<ExitCode> {
    let ui = Ui::new(args.output_mode());
    let state_dir = session::state_dir(&args.common)?;
    let dir = StateDir::lock(&state_dir)?;
    let (sourced, mut st) = session::from_state(&state_dir)?;
    let interactive = !args.yes && super::guided::is_terminal();
    if !args.yes && !interactive {
        anyhow::bail!("no terminal to confirm on: add --yes to uninstall unattended");
    }
    if interactive
        && !super::guided::confirm(&format!(
            "Remove everything deployment {} created?",
            st.install_id
        ))?
    {
        ui.line("nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }
    let os = session::connect(&args.common, &sourced.answers).await?;
    let cx = session::build_ctx(
        &args.common,
        sourced,
        os,
        CtxParts {
            deployment: st.install_id.clone(),
            adopt: false,
            adopted: st.adopted_ids().map(str::to_owned).collect(),
            octavia_conf: st.octavia_conf.clone(),
        },
    )?;
    let progress = StepProgress::new(args.output_mode());
    let result = engine::undo_all(&cx, &steps::all(), &dir, &mut st, &progress).await;
    progress.clear();
    match result {
        Ok(removed) => {
            for r in &removed {
                ui.line(format!("  {r}"));
            }
            ui.json(&serde_json::json!({ "deployment": st.install_id, "removed": removed }))?;
            ui.line(format!("uninstalled deployment {}", st.install_id));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(super::report(&ui, &e)),
    }
}
