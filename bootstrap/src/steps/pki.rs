//! Step `pki`: the server CA (key encrypted with a passphrase stock Octavia can load), the
//! client CA and the client certificate, in Octavia's file names, through `octa_pki`.
//! Existing files are kept; only missing ones are written.

use async_trait::async_trait;
use octa_pki::{InitOptions, KeyType, Level, PkiDir, PkiFile, Thresholds};

use crate::ctx::Ctx;
use crate::step::{Plan, Record, ResourceRef, Step, StepError};

pub struct Pki;

fn dir(cx: &Ctx) -> PkiDir {
    PkiDir::new(cx.answers.pki.dir.clone())
}

fn missing(cx: &Ctx) -> Vec<&'static str> {
    let d = dir(cx);
    PkiFile::ALL
        .iter()
        .filter(|f| !d.has(**f))
        .map(|f| f.name())
        .collect()
}

fn problems(cx: &Ctx) -> Vec<String> {
    let report = octa_pki::inspect(&dir(cx), None, Thresholds::default(), cx.now);
    report
        .findings
        .into_iter()
        .filter(|f| f.level == Level::Critical)
        .map(|f| format!("{}: {}", f.check, f.detail))
        .collect()
}

#[async_trait]
impl Step for Pki {
    fn id(&self) -> &'static str {
        "pki"
    }

    fn describe(&self, cx: &Ctx) -> String {
        format!(
            "certificate authorities in {}",
            cx.answers.pki.dir.display()
        )
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        let missing = missing(cx);
        if missing.len() == PkiFile::ALL.len() {
            return Ok(Plan::Create {
                changes: vec![format!(
                    "server CA, client CA ({}) and client certificate in {}",
                    cx.answers.pki.key_type,
                    cx.answers.pki.dir.display()
                )],
            });
        }
        if !missing.is_empty() {
            return Ok(Plan::Create {
                changes: missing.iter().map(|f| format!("write {f}")).collect(),
            });
        }
        let bad = problems(cx);
        Ok(if bad.is_empty() {
            Plan::noop("CAs and client certificate are valid")
        } else {
            Plan::blocked(
                format!(
                    "the PKI in {} is not usable: {}",
                    cx.answers.pki.dir.display(),
                    bad.join("; ")
                ),
                format!(
                    "see `octa pki check --dir {}`",
                    cx.answers.pki.dir.display()
                ),
            )
        })
    }

    async fn apply(&self, cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        // Playbook spelling (validated at load) to the pki crate's key types.
        let key_type = match cx.answers.pki.key_type.as_str() {
            "rsa4096" => KeyType::Rsa4096,
            "ec-p384" => KeyType::EcP384,
            other => {
                return Err(StepError::check(
                    format!(
                        "{}: unknown key type {other:?}",
                        (cx.whereis)("pki.key_type")
                    ),
                    "use rsa4096 or ec-p384",
                ));
            }
        };
        let opts = InitOptions {
            key_type,
            ..InitOptions::default()
        };
        let report = octa_pki::init(&dir(cx), &opts, cx.now).map_err(|source| StepError::Pki {
            what: format!("creating the PKI in {}", cx.answers.pki.dir.display()),
            source: Box::new(source),
        })?;
        Ok(Record {
            created: report
                .created
                .iter()
                .map(|p| ResourceRef {
                    kind: "file".into(),
                    id: p.display().to_string(),
                    name: String::new(),
                })
                .collect(),
            adopted: Vec::new(),
        })
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        let missing = missing(cx);
        let mut bad: Vec<String> = missing.iter().map(|f| format!("{f} is missing")).collect();
        if missing.is_empty() {
            bad.extend(problems(cx));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(StepError::check(
                bad.join("; "),
                format!(
                    "see `octa pki check --dir {}`",
                    cx.answers.pki.dir.display()
                ),
            ))
        }
    }

    async fn undo(&self, _cx: &Ctx, record: &Record) -> (Vec<String>, Vec<StepError>) {
        super::remove_files(record)
    }
}
