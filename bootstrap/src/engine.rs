//! Running the steps: `plan_all` (every plan, concurrently: they only read), `install`
//! (refuse on any Blocked plan before the first write, then apply in order, saving the
//! state after every step, then verify everything), `status` (verify every step) and
//! `uninstall` (undo in reverse order, never stopping half-way).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::join_all;
use serde::Serialize;
use thiserror::Error;

use crate::ctx::Ctx;
use crate::state::{State, StateDir, StateError};
use crate::step::{Plan, Step, StepError};

/// One step's plan, for display and JSON.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    pub id: &'static str,
    pub describe: String,
    pub plan: Plan,
}

/// Progress callbacks (indicatif in the CLI, nothing in tests).
pub trait Observer: Send + Sync {
    fn started(&self, _id: &str, _describe: &str) {}
    fn finished(&self, _id: &str, _outcome: &str) {}
}

/// An observer that shows nothing.
pub struct Quiet;
impl Observer for Quiet {}

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("planning step {step}")]
    Plan {
        step: &'static str,
        #[source]
        source: StepError,
    },
    #[error("{} step(s) blocked; nothing was changed", blocked.len())]
    Blocked { blocked: Vec<PlannedStep> },
    #[error("step {step} failed; the state is saved and `octa install` continues from there")]
    Apply {
        step: &'static str,
        #[source]
        source: StepError,
    },
    #[error(
        "interrupted after step {after}; the state is saved and `octa install` continues from there"
    )]
    Interrupted { after: String },
    #[error(
        "the answers differ from those of the install in {path} (deployment {deployment}); pass --replan to apply the new ones"
    )]
    AnswersChanged { path: String, deployment: String },
    #[error("verification failed: {}", failed.iter().map(|(s, e)| format!("{s}: {e}")).collect::<Vec<_>>().join("; "))]
    Verify { failed: Vec<(&'static str, String)> },
    #[error("uninstall finished with {} error(s): {}", errors.len(), errors.join("; "))]
    Undo {
        errors: Vec<String>,
        removed: Vec<String>,
    },
}

impl EngineError {
    /// The style.md §2.3 exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::Blocked { .. } | EngineError::AnswersChanged { .. } => 3,
            EngineError::Apply { .. } | EngineError::Verify { .. } | EngineError::Undo { .. } => 4,
            EngineError::Interrupted { .. } => 5,
            EngineError::State(StateError::Locked { .. }) => 3,
            _ => 1,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            EngineError::Apply { source, .. } => source.hint().map(str::to_owned),
            EngineError::Blocked { blocked } => Some(
                blocked
                    .iter()
                    .filter_map(|p| match &p.plan {
                        Plan::Blocked { hint, .. } => Some(format!("{}: {hint}", p.id)),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            _ => None,
        }
    }
}

/// Plans every step concurrently.
pub async fn plan_all(cx: &Ctx, steps: &[Box<dyn Step>]) -> Result<Vec<PlannedStep>, EngineError> {
    let plans = join_all(steps.iter().map(|s| s.plan(cx))).await;
    steps
        .iter()
        .zip(plans)
        .map(|(s, p)| {
            Ok(PlannedStep {
                id: s.id(),
                describe: s.describe(cx),
                plan: p.map_err(|source| EngineError::Plan {
                    step: s.id(),
                    source,
                })?,
            })
        })
        .collect()
}

/// The Blocked steps of a plan, as an error, or nothing.
pub fn refuse_blocked(planned: &[PlannedStep]) -> Result<(), EngineError> {
    let blocked: Vec<PlannedStep> = planned
        .iter()
        .filter(|p| p.plan.is_blocked())
        .cloned()
        .collect();
    if blocked.is_empty() {
        Ok(())
    } else {
        Err(EngineError::Blocked { blocked })
    }
}

fn rfc3339(cx: &Ctx) -> String {
    cx.now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Applies `planned` in order (plans must have been checked with `refuse_blocked`).
/// `stop` is set by a signal handler: the running step finishes, the state is saved, and
/// the install ends with `Interrupted`.
pub async fn apply_all(
    cx: &Ctx,
    steps: &[Box<dyn Step>],
    planned: &[PlannedStep],
    dir: &StateDir,
    state: &mut State,
    observer: &dyn Observer,
    stop: Arc<AtomicBool>,
) -> Result<(), EngineError> {
    let at = rfc3339(cx);
    dir.save(state)?;
    for (step, p) in steps.iter().zip(planned) {
        observer.started(step.id(), &p.describe);
        if p.plan.is_noop() {
            state.applied(step.id(), state.record(step.id()), &at);
        } else {
            match step.apply(cx, &p.plan).await {
                Ok(record) => state.applied(step.id(), record, &at),
                Err(e) => {
                    state.failed(step.id(), crate::error_chain(&e), &at);
                    dir.save(state)?;
                    observer.finished(step.id(), "failed");
                    return Err(EngineError::Apply {
                        step: step.id(),
                        source: e,
                    });
                }
            }
        }
        dir.save(state)?;
        observer.finished(step.id(), if p.plan.is_noop() { "ok" } else { "done" });
        crate::testing::checkpoint(cx, &format!("after-{}", step.id()));
        if stop.load(Ordering::SeqCst) {
            return Err(EngineError::Interrupted {
                after: step.id().to_owned(),
            });
        }
    }
    Ok(())
}

/// Runs every step's `verify`; the failures, by step.
pub async fn verify_all(
    cx: &Ctx,
    steps: &[Box<dyn Step>],
) -> Vec<(&'static str, Result<(), StepError>)> {
    let results = join_all(steps.iter().map(|s| s.verify(cx))).await;
    steps.iter().map(|s| s.id()).zip(results).collect()
}

/// Undoes every step in reverse order; collects what was removed and every error.
pub async fn undo_all(
    cx: &Ctx,
    steps: &[Box<dyn Step>],
    dir: &StateDir,
    state: &mut State,
    observer: &dyn Observer,
) -> Result<Vec<String>, EngineError> {
    let at = rfc3339(cx);
    let (mut removed, mut errors) = (Vec::new(), Vec::new());
    for step in steps.iter().rev() {
        observer.started(step.id(), &step.describe(cx));
        let (done, errs) = step.undo(cx, &state.record(step.id())).await;
        removed.extend(done);
        let msg = (!errs.is_empty()).then(|| {
            errs.iter()
                .map(|e| crate::error_chain(e))
                .collect::<Vec<_>>()
                .join("; ")
        });
        if let Some(m) = &msg {
            errors.push(format!("{}: {m}", step.id()));
        }
        state.undone(step.id(), msg, &at);
        // Keep going even if the state cannot be saved: undo never stops half-way.
        if let Err(e) = dir.save(state) {
            errors.push(crate::error_chain(&e));
        }
        observer.finished(
            step.id(),
            if errs.is_empty() { "removed" } else { "failed" },
        );
    }
    if errors.is_empty() {
        dir.remove()?;
        Ok(removed)
    } else {
        Err(EngineError::Undo { errors, removed })
    }
}
