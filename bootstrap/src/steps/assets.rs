//! Step `amphora-assets`: checks that what Nova and Glance must provide for amphorae
//! exists: the flavor, exactly one image with the amphora tag, the SSH keypair. Nothing is
//! created; a missing asset blocks with the command that makes it. Skipped when the
//! playbook has no `amphora` section (e.g. the lab, which has no Nova).

use async_trait::async_trait;

use crate::ctx::Ctx;
use crate::step::{Plan, Record, Step, StepError};

pub struct AmphoraAssets;

async fn problems(cx: &Ctx) -> Result<Vec<(String, String)>, StepError> {
    let Some(a) = &cx.answers.amphora else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    if a.flavor.is_some() || a.keypair.is_some() {
        let has = cx
            .session
            .has_service("compute")
            .await
            .map_err(StepError::cloud("reading the service catalog"))?;
        if !has {
            out.push((
                "the catalog lists no compute (Nova) service, but amphora.flavor/keypair are set"
                    .into(),
                format!(
                    "{}: remove the amphora section, or install Nova",
                    (cx.whereis)("amphora")
                ),
            ));
            return Ok(out);
        }
    }
    if let Some(f) = &a.flavor {
        let found = cx
            .nova
            .flavor(f)
            .await
            .map_err(StepError::cloud(format!("looking up flavor {f}")))?;
        if found.is_none() {
            out.push((
                format!("{}: flavor {f} does not exist", (cx.whereis)("amphora.flavor")),
                format!("create it: `openstack flavor create --vcpus 1 --ram 1024 --disk 2 --private {f}`"),
            ));
        }
    }
    if let Some(k) = &a.keypair {
        let found = cx
            .nova
            .keypair_exists(k)
            .await
            .map_err(StepError::cloud(format!("looking up keypair {k}")))?;
        if !found {
            out.push((
                format!(
                    "{}: keypair {k} does not exist",
                    (cx.whereis)("amphora.keypair")
                ),
                format!(
                    "create it: `openstack keypair create --public-key ~/.ssh/id_ed25519.pub {k}`"
                ),
            ));
        }
    }
    if let Some(tag) = &a.image_tag {
        let images = cx
            .glance
            .images_tagged(tag)
            .await
            .map_err(StepError::cloud(format!("looking up images tagged {tag}")))?;
        match images.len() {
            1 => {}
            0 => out.push((
                format!("{}: no image is tagged {tag} (Octavia would fail with ImageGetException)", (cx.whereis)("amphora.image_tag")),
                format!("upload an amphora image: `openstack image create --tag {tag} --disk-format qcow2 --container-format bare --file amphora.qcow2 amphora`"),
            )),
            n => out.push((
                format!("{n} images are tagged {tag}; Octavia picks one arbitrarily"),
                "remove the tag from the old images".into(),
            )),
        }
    }
    Ok(out)
}

#[async_trait]
impl Step for AmphoraAssets {
    fn id(&self) -> &'static str {
        "amphora-assets"
    }

    fn describe(&self, _cx: &Ctx) -> String {
        "amphora flavor, image and keypair".into()
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        if cx.answers.amphora.is_none() {
            return Ok(Plan::noop("no amphora section: not checked"));
        }
        let bad = problems(cx).await?;
        Ok(if bad.is_empty() {
            Plan::noop("flavor, image and keypair exist")
        } else {
            let reasons: Vec<&str> = bad.iter().map(|(r, _)| r.as_str()).collect();
            let hints: Vec<&str> = bad.iter().map(|(_, h)| h.as_str()).collect();
            Plan::blocked(reasons.join("; "), hints.join("; "))
        })
    }

    async fn apply(&self, _cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        Ok(Record::default())
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        match problems(cx).await?.into_iter().next() {
            None => Ok(()),
            Some((r, h)) => Err(StepError::check(r, h)),
        }
    }

    async fn undo(&self, _cx: &Ctx, _record: &Record) -> (Vec<String>, Vec<StepError>) {
        (vec![], vec![])
    }
}
