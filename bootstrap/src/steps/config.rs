//! Step `config`: renders octa-control's configuration into the state directory and, with
//! `--octavia-conf FILE`, the stock `octavia.conf` options, from the ids the cloud
//! assigned. Files are written only when their content changes; a file at the target path
//! that octa did not render is never overwritten.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use octa_pki::{PkiDir, PkiFile};

use super::{lookup, secrets};
use crate::ctx::Ctx;
use crate::owner::Found;
use crate::render::{self, CloudIds};
use crate::step::{Plan, Record, ResourceRef, Step, StepError};

pub struct Config;

fn control_path(cx: &Ctx) -> PathBuf {
    cx.answers.state_dir.join("octa-control.yaml")
}

fn id_of<T>(found: Found<T>, id: impl Fn(&T) -> String) -> String {
    match found {
        Found::Ours(t) => id(&t),
        _ => "<not created yet>".into(),
    }
}

async fn ids(cx: &Ctx) -> Result<CloudIds, StepError> {
    let a = &cx.answers;
    let flavor = match a.amphora.as_ref().and_then(|x| x.flavor.clone()) {
        Some(f) => cx
            .nova
            .flavor(&f)
            .await
            .map_err(StepError::cloud(format!("looking up flavor {f}")))?
            .map(|x| x.id),
        None => None,
    };
    Ok(CloudIds {
        network: id_of(lookup::network(cx).await?, |n| n.id.clone()),
        subnet: id_of(lookup::subnet(cx).await?, |s| s.id.clone()),
        amp_secgroup: id_of(
            lookup::security_group(cx, &a.security_groups.amphora).await?,
            |g| g.id.clone(),
        ),
        hm_secgroup: id_of(
            lookup::security_group(cx, &a.security_groups.health_manager).await?,
            |g| g.id.clone(),
        ),
        hm_port: id_of(lookup::hm_port(cx).await?, |p| p.id.clone()),
        flavor,
    })
}

/// Every file with the content it must hold and its mode.
async fn wanted(cx: &Ctx) -> Result<Vec<(PathBuf, String, u32)>, StepError> {
    let ids = ids(cx).await?;
    let mut out = vec![(
        control_path(cx),
        render::control_yaml(&cx.answers, &cx.deployment, &ids, &secrets::key_path(cx)),
        0o640,
    )];
    if let Some(path) = &cx.octavia_conf {
        let key = secrets::read_key(cx).unwrap_or_default();
        let pass_file = PkiDir::new(cx.answers.pki.dir.clone()).path(PkiFile::Passphrase);
        let pass = std::fs::read_to_string(&pass_file).unwrap_or_default();
        let text = render::octavia_conf(&cx.answers, &cx.deployment, &ids, &key, pass.trim());
        out.push((path.clone(), text, 0o600));
    }
    Ok(out)
}

/// Whether `path` may be (over)written: absent, or rendered by us.
fn writable(path: &Path, deployment: &str) -> bool {
    match std::fs::read_to_string(path) {
        Ok(t) => render::is_ours(&t, deployment),
        Err(_) => true,
    }
}

#[async_trait]
impl Step for Config {
    fn id(&self) -> &'static str {
        "config"
    }

    fn describe(&self, cx: &Ctx) -> String {
        match &cx.octavia_conf {
            Some(p) => format!(
                "configuration files ({} and {})",
                control_path(cx).display(),
                p.display()
            ),
            None => format!("configuration file {}", control_path(cx).display()),
        }
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        let mut changes = Vec::new();
        for (path, text, _) in wanted(cx).await? {
            if !writable(&path, &cx.deployment) {
                return Ok(Plan::blocked(
                    format!("{} exists and was not written by octa", path.display()),
                    "move it away or choose another path; octa never overwrites it",
                ));
            }
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                changes.push(format!("write {}", path.display()));
            }
        }
        Ok(if changes.is_empty() {
            Plan::noop("configuration is current")
        } else {
            Plan::Update { changes }
        })
    }

    async fn apply(&self, cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        let mut record = Record::default();
        for (path, text, mode) in wanted(cx).await? {
            if !writable(&path, &cx.deployment) {
                return Err(StepError::check(
                    format!("{} exists and was not written by octa", path.display()),
                    "move it away or choose another path",
                ));
            }
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                octa_netplumb::persist::write_atomic(&path, text.as_bytes(), mode)
                    .map_err(StepError::net(format!("writing {}", path.display())))?;
            }
            record.created.push(ResourceRef {
                kind: "file".into(),
                id: path.display().to_string(),
                name: String::new(),
            });
        }
        Ok(record)
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        for (path, text, _) in wanted(cx).await? {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                return Err(StepError::check(
                    format!("{} is missing or out of date", path.display()),
                    "run `octa install` again",
                ));
            }
        }
        Ok(())
    }

    async fn undo(&self, cx: &Ctx, record: &Record) -> (Vec<String>, Vec<StepError>) {
        let mut ours = record.clone();
        ours.created
            .retain(|r| writable(Path::new(&r.id), &cx.deployment));
        super::remove_files(&ours)
    }
}
