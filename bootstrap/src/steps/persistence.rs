//! Step `persistence`: what makes the interface and its firewall survive a reboot: the
//! netplumb state file under the state directory and a oneshot systemd unit running
//! `octa net converge --state FILE` after Open vSwitch (enabled where systemd runs).

use std::path::PathBuf;

use async_trait::async_trait;
use octa_netplumb::persist;

use super::hm_iface::plumb_state;
use crate::ctx::Ctx;
use crate::step::{Plan, Record, ResourceRef, Step, StepError};

pub struct Persistence;

fn state_path(cx: &Ctx) -> PathBuf {
    cx.answers
        .state_dir
        .join(format!("{}.json", cx.answers.interface.name))
}

fn unit_path(cx: &Ctx) -> PathBuf {
    cx.unit_dir
        .join(persist::unit_name(&cx.answers.interface.name))
}

fn unit_text(cx: &Ctx) -> String {
    persist::unit_text(&cx.octa_exe, &state_path(cx), &cx.answers.interface.name)
}

/// Files that differ from what they must hold (`None` content: the port is not there yet).
async fn stale(cx: &Ctx) -> Result<Vec<String>, StepError> {
    let mut out = Vec::new();
    let wanted = plumb_state(cx).await?;
    let current = persist::read_state(&state_path(cx)).ok();
    if wanted.is_none() || current != wanted {
        out.push(format!("write {}", state_path(cx).display()));
    }
    if std::fs::read_to_string(unit_path(cx)).ok() != Some(unit_text(cx)) {
        out.push(format!("write {}", unit_path(cx).display()));
    }
    Ok(out)
}

#[async_trait]
impl Step for Persistence {
    fn id(&self) -> &'static str {
        "persistence"
    }

    fn describe(&self, cx: &Ctx) -> String {
        format!(
            "boot unit {}",
            persist::unit_name(&cx.answers.interface.name)
        )
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        let changes = stale(cx).await?;
        Ok(if changes.is_empty() {
            Plan::noop("state file and unit are current")
        } else {
            Plan::Create { changes }
        })
    }

    async fn apply(&self, cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        let state = plumb_state(cx).await?.ok_or_else(|| {
            StepError::check(
                "the health-manager port does not exist",
                "run `octa install` again",
            )
        })?;
        let path = state_path(cx);
        persist::write_state(&path, &state)
            .map_err(StepError::net(format!("writing {}", path.display())))?;
        let name = &cx.answers.interface.name;
        let (unit, _) = persist::install_unit(&cx.unit_dir, name, &unit_text(cx)).map_err(
            StepError::net(format!("installing the boot unit of {name}")),
        )?;
        let file = |p: &PathBuf| ResourceRef {
            kind: "file".into(),
            id: p.display().to_string(),
            name: String::new(),
        };
        Ok(Record {
            created: vec![file(&path), file(&unit)],
            adopted: Vec::new(),
        })
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        let changes = stale(cx).await?;
        if changes.is_empty() {
            Ok(())
        } else {
            Err(StepError::check(
                format!("boot persistence is stale: {}", changes.join(", ")),
                "run `octa install` again",
            ))
        }
    }

    async fn undo(&self, cx: &Ctx, _record: &Record) -> (Vec<String>, Vec<StepError>) {
        let (mut done, mut errors) = (Vec::new(), Vec::new());
        match persist::remove_unit(&cx.unit_dir, &cx.answers.interface.name) {
            Ok(true) => done.push(format!("removed {}", unit_path(cx).display())),
            Ok(false) => {}
            Err(e) => errors.push(StepError::Net {
                what: "removing the boot unit".into(),
                source: Box::new(e),
            }),
        }
        let path = state_path(cx);
        match std::fs::remove_file(&path) {
            Ok(()) => done.push(format!("removed {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => errors.push(StepError::io(path.display())(e)),
        }
        (done, errors)
    }
}
