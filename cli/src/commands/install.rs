//! `octa install`: plan every step, refuse before any write if one is blocked, show the
//! plan, confirm (at a terminal), apply with a progress line per step, verify. Answers come
//! from `--playbook FILE` (unattended with `--yes`) or from guided prompts.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use clap::Args;
use octa_bootstrap::engine::{self, EngineError};
use octa_bootstrap::state::{State, StateDir, answers_digest};
use octa_bootstrap::steps;

use super::guided;
use super::session::{self, Common, CtxParts};
use super::show;
use crate::exit::ExitCode;
use crate::progress::StepProgress;
use crate::ui::{OutputMode, Ui};

#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub common: Common,
    /// Never prompt; requires --playbook.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Use same-named objects that carry no octa mark instead of refusing (never deleted later).
    #[arg(long)]
    pub adopt: bool,
    /// Accept answers that differ from those of the recorded install.
    #[arg(long)]
    pub replan: bool,
    /// Also write the stock octavia.conf options (0600: it holds secrets) to FILE.
    #[arg(long, value_name = "FILE")]
    pub octavia_conf: Option<PathBuf>,
    /// Write the answers as a playbook to FILE (guided mode or not).
    #[arg(long, value_name = "FILE")]
    pub save_playbook: Option<PathBuf>,
}

impl InstallArgs {
    pub fn output_mode(&self) -> OutputMode {
        self.common.output_mode()
    }
}

pub fn run(args: InstallArgs) -> anyhow::Result<ExitCode> {
    super::block_on(run_async(args))?
}

async fn run_async(args: InstallArgs) -> anyhow::Result<ExitCode> {
    let ui = Ui::new(args.output_mode());
    let interactive = !args.yes && guided::is_terminal();
    let sourced = match (&args.common.playbook, interactive) {
        (Some(p), _) => session::from_playbook(p)?,
        (None, true) => guided::ask(&args.common).await?,
        (None, false) if args.yes => bail!(
            "--yes needs --playbook FILE: unattended installs take their answers from a playbook (see playbooks/README.md)"
        ),
        (None, false) => bail!(
            "no terminal to ask on: run `octa install --playbook FILE --yes` (see playbooks/README.md), or run it at a terminal for the guided mode"
        ),
    };
    if args.common.playbook.is_some() && !args.yes && !interactive {
        bail!("no terminal to confirm the plan on: add --yes to install unattended");
    }
    if let Some(path) = &args.save_playbook {
        octa_bootstrap::netplumb::persist::write_atomic(
            path,
            sourced.answers.to_yaml().as_bytes(),
            0o644,
        )
        .with_context(|| format!("writing the playbook {}", path.display()))?;
        ui.line(format!("answers saved to {}", path.display()));
    }

    let dir = StateDir::lock(&sourced.answers.state_dir)?;
    let previous = dir.load()?;
    let digest = answers_digest(&sourced.answers);
    let deployment = match (&sourced.answers.deployment, &previous) {
        (Some(d), Some(st)) if *d != st.install_id => bail!(
            "the playbook says deployment {d}, but {} records deployment {}; use another state_dir or uninstall first",
            dir.path().display(),
            st.install_id
        ),
        (Some(d), _) => d.clone(),
        (None, Some(st)) => st.install_id.clone(),
        (None, None) => octa_bootstrap::state::new_deployment_id()?,
    };
    if let Some(st) = &previous
        && st.answers_digest != digest
        && !args.replan
    {
        return Ok(super::report(
            &ui,
            &EngineError::AnswersChanged {
                path: dir.path().display().to_string(),
                deployment,
            },
        ));
    }
    let mut state = previous
        .clone()
        .unwrap_or_else(|| State::new(deployment.clone(), digest.clone()));
    let adopted = state.adopted_ids().map(str::to_owned).collect();
    let octavia_conf = args
        .octavia_conf
        .clone()
        .or_else(|| state.octavia_conf.clone());

    let os = session::connect(&args.common, &sourced.answers).await?;
    let cx = session::build_ctx(
        &args.common,
        sourced,
        os,
        CtxParts {
            deployment: deployment.clone(),
            adopt: args.adopt,
            adopted,
            octavia_conf: octavia_conf.clone(),
        },
    )?;
    let all = steps::all();
    let planned = match engine::plan_all(&cx, &all).await {
        Ok(p) => p,
        Err(e) => return Ok(super::report(&ui, &e)),
    };
    show::plan(&ui, &deployment, &planned);
    if let Err(e) = engine::refuse_blocked(&planned) {
        return Ok(super::report(&ui, &e));
    }
    let changes = planned.iter().any(|p| !p.plan.is_noop());
    if changes && interactive && !guided::confirm("Apply this plan?")? {
        ui.line("nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }

    state.answers_digest = digest;
    state.answers = Some(cx.answers.clone());
    state.octavia_conf = octavia_conf;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let progress = StepProgress::new(args.output_mode());
    if changes
        && let Err(e) = engine::apply_all(
            &cx,
            &all,
            &planned,
            &dir,
            &mut state,
            &progress,
            stop.clone(),
        )
        .await
    {
        progress.clear();
        return Ok(super::report(&ui, &e));
    }
    progress.clear();
    // A plan of no-ops has just observed every postcondition; verify after changes only.
    let failed: Vec<(&'static str, String)> = if changes {
        engine::verify_all(&cx, &all)
            .await
            .into_iter()
            .filter_map(|(id, r)| r.err().map(|e| (id, octa_bootstrap::error_chain(&e))))
            .collect()
    } else {
        Vec::new()
    };
    if !failed.is_empty() {
        return Ok(super::report(&ui, &EngineError::Verify { failed }));
    }
    ui.json(&serde_json::json!({
        "deployment": deployment,
        "changed": changes,
        "steps": planned,
        "state_file": dir.path(),
    }))?;
    ui.line(if changes {
        format!("installed: deployment {deployment}, every step verified")
    } else {
        format!("nothing to change: deployment {deployment} is installed and verified")
    });
    Ok(ExitCode::SUCCESS)
}
