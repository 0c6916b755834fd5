//! The state file `<state_dir>/state.json`: which steps ran, what each created or
//! adopted, under which deployment id and answers. Written atomically (temp file, fsync,
//! rename) and only when its content changes, under an exclusive lock so two `octa` runs
//! cannot interleave.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::answers::Answers;
use crate::step::{Record, ResourceRef};

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pending,
    Applied,
    Failed,
    Undone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepState {
    pub id: String,
    pub status: Status,
    #[serde(default)]
    pub created: Vec<ResourceRef>,
    #[serde(default)]
    pub adopted: Vec<ResourceRef>,
    /// RFC 3339 time of the last status change.
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub schema: u32,
    /// The deployment id: the ownership mark of everything this install made.
    pub install_id: String,
    pub answers_digest: String,
    /// The answers of the last install, so status and uninstall need no playbook.
    #[serde(default)]
    pub answers: Option<Answers>,
    /// `--octavia-conf` of the last install.
    #[serde(default)]
    pub octavia_conf: Option<PathBuf>,
    pub steps: Vec<StepState>,
}

#[derive(Debug, Error)]
pub enum StateError {
    #[error("cannot use state directory {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("another octa run holds the lock {path}; wait for it to finish")]
    Locked { path: PathBuf },
    #[error("state file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "state file {path} has schema {found}, this octa reads schema {SCHEMA}; use the octa version that wrote it"
    )]
    Schema { path: PathBuf, found: u32 },
}

/// The answers' digest ([`Answers::digest`]): a changed playbook between runs shows here.
pub fn answers_digest(answers: &Answers) -> String {
    answers.digest()
}

/// A fresh deployment id: `octa-` and 8 random hex digits (the system RNG, via aws-lc-rs).
pub fn new_deployment_id() -> Result<String, StateError> {
    let mut b = [0u8; 4];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| StateError::Io {
        path: PathBuf::from("<system random generator>"),
        source: std::io::Error::other("no random bytes"),
    })?;
    Ok(format!("octa-{}", hex::encode(b)))
}

impl State {
    pub fn new(install_id: String, answers_digest: String) -> State {
        State {
            schema: SCHEMA,
            install_id,
            answers_digest,
            answers: None,
            octavia_conf: None,
            steps: Vec::new(),
        }
    }

    pub fn step(&self, id: &str) -> Option<&StepState> {
        self.steps.iter().find(|s| s.id == id)
    }

    fn step_mut(&mut self, id: &str) -> &mut StepState {
        if let Some(i) = self.steps.iter().position(|s| s.id == id) {
            return &mut self.steps[i];
        }
        self.steps.push(StepState {
            id: id.to_owned(),
            status: Status::Pending,
            created: Vec::new(),
            adopted: Vec::new(),
            at: None,
            error: None,
        });
        let last = self.steps.len() - 1;
        &mut self.steps[last]
    }

    /// Records a successful apply; the timestamp moves only when something changed, so a
    /// converged re-run leaves the file byte-identical.
    pub fn applied(&mut self, id: &str, record: Record, at: &str) {
        let s = self.step_mut(id);
        let before = (
            s.status,
            s.created.len(),
            s.adopted.len(),
            s.error.is_some(),
        );
        for r in record.created {
            if !s.created.iter().any(|c| c.kind == r.kind && c.id == r.id) {
                s.created.push(r);
            }
        }
        for r in record.adopted {
            if !s.adopted.iter().any(|c| c.kind == r.kind && c.id == r.id) {
                s.adopted.push(r);
            }
        }
        s.status = Status::Applied;
        s.error = None;
        if before != (s.status, s.created.len(), s.adopted.len(), false) {
            s.at = Some(at.to_owned());
        }
    }

    pub fn failed(&mut self, id: &str, error: String, at: &str) {
        let s = self.step_mut(id);
        s.status = Status::Failed;
        s.error = Some(error);
        s.at = Some(at.to_owned());
    }

    pub fn undone(&mut self, id: &str, error: Option<String>, at: &str) {
        let s = self.step_mut(id);
        if error.is_none() {
            s.status = Status::Undone;
            s.created.clear();
            s.adopted.clear();
        } else {
            s.status = Status::Failed;
        }
        s.error = error;
        s.at = Some(at.to_owned());
    }

    /// The record `undo` gets for step `id`.
    pub fn record(&self, id: &str) -> Record {
        self.step(id)
            .map(|s| Record {
                created: s.created.clone(),
                adopted: s.adopted.clone(),
            })
            .unwrap_or_default()
    }

    /// Ids of every adopted object (never deleted, treated as ours for use).
    pub fn adopted_ids(&self) -> impl Iterator<Item = &str> {
        self.steps
            .iter()
            .flat_map(|s| s.adopted.iter().map(|r| r.id.as_str()))
    }
}

/// The state directory, locked for the lifetime of this value.
pub struct StateDir {
    dir: PathBuf,
    _lock: Flock<File>,
}

impl StateDir {
    /// Creates the directory (0700) if needed and takes the exclusive lock.
    pub fn lock(dir: &Path) -> Result<StateDir, StateError> {
        let io = |source| StateError::Io {
            path: dir.to_owned(),
            source,
        };
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let path = dir.join("state.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .map_err(|_| StateError::Locked { path: path.clone() })?;
        Ok(StateDir {
            dir: dir.to_owned(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn load(&self) -> Result<Option<State>, StateError> {
        read(&self.path())
    }

    /// Writes `state` atomically; returns false (and writes nothing) if the file already
    /// holds exactly this content.
    pub fn save(&self, state: &State) -> Result<bool, StateError> {
        let path = self.path();
        let mut bytes = serde_json::to_vec_pretty(state).map_err(|e| StateError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        if std::fs::read(&path).ok().as_deref() == Some(&bytes[..]) {
            return Ok(false);
        }
        octa_netplumb::persist::write_atomic(&path, &bytes, 0o600).map_err(|e| StateError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(true)
    }

    /// Removes the state file (after a complete uninstall).
    pub fn remove(&self) -> Result<(), StateError> {
        match std::fs::remove_file(self.path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StateError::Io {
                path: self.path(),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

/// Reads a state file without locking (for `octa status`).
pub fn read(path: &Path) -> Result<Option<State>, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let state: State = serde_json::from_str(&text).map_err(|e| StateError::Invalid {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if state.schema != SCHEMA {
        return Err(StateError::Schema {
            path: path.to_owned(),
            found: state.schema,
        });
    }
    Ok(Some(state))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rec(id: &str) -> Record {
        Record::created("network", id, "n")
    }

    #[test]
    fn a_converged_rerun_writes_nothing_and_records_merge() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::lock(tmp.path()).unwrap();
        let mut s = State::new("d1".into(), "abc".into());
        s.applied("mgmt-network", rec("n1"), "t1");
        assert!(dir.save(&s).unwrap());
        s.applied("mgmt-network", rec("n1"), "t2");
        assert!(!dir.save(&s).unwrap(), "same record, same bytes");
        assert_eq!(dir.load().unwrap().unwrap(), s);
        s.undone("mgmt-network", None, "t3");
        assert_eq!(s.record("mgmt-network"), Record::default());
    }

    #[test]
    fn a_second_holder_of_the_lock_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let _first = StateDir::lock(tmp.path()).unwrap();
        let err = StateDir::lock(tmp.path()).err().unwrap();
        assert!(
            err.to_string().contains("another octa run holds the lock"),
            "{err}"
        );
    }
}
