//! `octa status`: the recorded install (state file) and a fresh `verify` of every step.
//! Exit 0 when everything verifies, 4 when a step does not, 3 when there is no install.

use clap::Args;
use octa_bootstrap::engine;
use octa_bootstrap::steps;
use serde::Serialize;

use super::session::{self, Common, CtxParts};
use crate::exit::ExitCode;
use crate::ui::{OutputMode, Ui};

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: Common,
}

impl StatusArgs {
    pub fn output_mode(&self) -> OutputMode {
        self.common.output_mode()
    }
}

#[derive(Serialize)]
struct StepStatus {
    id: &'static str,
    recorded: Option<String>,
    verified: bool,
    problem: Option<String>,
    hint: Option<String>,
}

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    super::block_on(run_async(args))?
}

async fn run_async(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let ui = Ui::new(args.output_mode());
    let state_dir = session::state_dir(&args.common)?;
    let (sourced, st) = session::from_state(&state_dir)?;
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
    let all = steps::all();
    let results = engine::verify_all(&cx, &all).await;
    let rows: Vec<StepStatus> = results
        .into_iter()
        .map(|(id, r)| StepStatus {
            id,
            recorded: st
                .step(id)
                .map(|s| format!("{:?}", s.status).to_lowercase()),
            verified: r.is_ok(),
            hint: r.as_ref().err().and_then(|e| e.hint().map(str::to_owned)),
            problem: r.err().map(|e| octa_bootstrap::error_chain(&e)),
        })
        .collect();
    ui.line(format!(
        "deployment {} ({})",
        st.install_id,
        state_dir.join("state.json").display()
    ));
    for r in &rows {
        ui.line(format!(
            "  {:<8} {:<15} recorded {}",
            if r.verified { "ok" } else { "FAILED" },
            r.id,
            r.recorded.as_deref().unwrap_or("never")
        ));
        if let Some(p) = &r.problem {
            ui.line(format!("{:27}- {p}", ""));
        }
        if let Some(h) = &r.hint {
            ui.line(format!("{:27}- hint: {h}", ""));
        }
    }
    let ok = rows.iter().all(|r| r.verified);
    ui.json(&serde_json::json!({ "deployment": st.install_id, "verified": ok, "steps": rows }))?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::STEP_FAILED
    })
}
