//! Step `secrets`: the heartbeat key (HMAC-SHA256 key shared by amphorae and health
//! managers): random, 0600, never a well-known default; or the operator's own file. The CA
//! passphrase is written by the `pki` step; here it is only checked to be private.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use async_trait::async_trait;
use octa_pki::{PkiDir, PkiFile};

use crate::ctx::Ctx;
use crate::step::{Plan, Record, ResourceRef, Step, StepError};

pub struct Secrets;

/// Keys every guide copies and nobody should run with.
const WELL_KNOWN: &[&str] = &[
    "insecure",
    "insecure-key-do-not-use-this-key",
    "octavia",
    "password",
];

/// Where the heartbeat key lives.
pub fn key_path(cx: &Ctx) -> PathBuf {
    cx.answers
        .health_manager
        .heartbeat_key_file
        .clone()
        .unwrap_or_else(|| cx.answers.state_dir.join("heartbeat_key"))
}

/// Reads the heartbeat key (for rendering the configuration).
pub fn read_key(cx: &Ctx) -> Result<String, StepError> {
    let path = key_path(cx);
    let key = std::fs::read_to_string(&path).map_err(StepError::io(path.display()))?;
    Ok(key.trim().to_owned())
}

/// What is wrong with the key and passphrase files, if anything.
fn problems(cx: &Ctx) -> Vec<String> {
    let mut out = Vec::new();
    let path = key_path(cx);
    match std::fs::read_to_string(&path) {
        Err(_) => out.push(format!("{} is missing or unreadable", path.display())),
        Ok(k) if k.trim().len() < 16 || WELL_KNOWN.contains(&k.trim()) => out.push(format!(
            "{} holds a short or well-known heartbeat key",
            path.display()
        )),
        Ok(_) => {}
    }
    let pass = PkiDir::new(cx.answers.pki.dir.clone()).path(PkiFile::Passphrase);
    for p in [path, pass] {
        if let Ok(meta) = std::fs::metadata(&p)
            && meta.permissions().mode() & 0o077 != 0
        {
            out.push(format!(
                "{} is readable by others (mode {:o}); chmod 600 it",
                p.display(),
                meta.permissions().mode() & 0o777
            ));
        }
    }
    out
}

fn generate() -> Result<String, StepError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| StepError::check("the system random generator failed", ""))?;
    Ok(hex::encode(bytes))
}

#[async_trait]
impl Step for Secrets {
    fn id(&self) -> &'static str {
        "secrets"
    }

    fn describe(&self, cx: &Ctx) -> String {
        format!("heartbeat key {}", key_path(cx).display())
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        let path = key_path(cx);
        if !path.exists() {
            if cx.answers.health_manager.heartbeat_key_file.is_some() {
                return Ok(Plan::blocked(
                    format!(
                        "health_manager.heartbeat_key_file {} does not exist",
                        path.display()
                    ),
                    "create it (e.g. `openssl rand -hex 32 > FILE; chmod 600 FILE`) or remove the key to have octa generate one",
                ));
            }
            return Ok(Plan::Create {
                changes: vec![format!("random heartbeat key in {} (0600)", path.display())],
            });
        }
        let bad = problems(cx);
        Ok(if bad.is_empty() {
            Plan::noop("heartbeat key present and private")
        } else {
            Plan::blocked(bad.join("; "), "replace the key, or fix the file mode")
        })
    }

    async fn apply(&self, cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        let path = key_path(cx);
        if path.exists() {
            return Ok(Record::default());
        }
        let key = generate()?;
        octa_netplumb::persist::write_atomic(&path, format!("{key}\n").as_bytes(), 0o600)
            .map_err(StepError::net(format!("writing {}", path.display())))?;
        Ok(Record {
            created: vec![ResourceRef {
                kind: "file".into(),
                id: path.display().to_string(),
                name: String::new(),
            }],
            adopted: Vec::new(),
        })
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        let bad = problems(cx);
        if bad.is_empty() {
            Ok(())
        } else {
            Err(StepError::check(bad.join("; "), "run `octa install` again"))
        }
    }

    async fn undo(&self, _cx: &Ctx, record: &Record) -> (Vec<String>, Vec<StepError>) {
        super::remove_files(record)
    }
}
