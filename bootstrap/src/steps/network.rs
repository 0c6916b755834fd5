//! Step `mgmt-network`: the load-balancer management network (VXLAN by default), marked
//! as this deployment's. Its type and segmentation id cannot change after creation, so a
//! mismatch blocks instead of planning an update.

use async_trait::async_trait;
use octa_cloud::model::{Network, NetworkSpec};

use super::lookup;
use crate::ctx::Ctx;
use crate::owner::Found;
use crate::step::{Plan, Record, ResourceRef, Step, StepError};

pub struct MgmtNetwork;

fn spec(cx: &Ctx) -> NetworkSpec {
    let m = &cx.answers.mgmt_network;
    NetworkSpec {
        name: m.name.clone(),
        description: cx.description("Octavia load-balancer management network"),
        network_type: Some(m.network_type.clone()),
        segmentation_id: m.segmentation_id,
        physical_network: m.physical_network.clone(),
        mtu: m.mtu,
        tags: vec![cx.tag()],
    }
}

/// Differences that need a human (immutable or risky properties).
fn mismatches(cx: &Ctx, net: &Network) -> Vec<String> {
    let m = &cx.answers.mgmt_network;
    let mut out = Vec::new();
    if let Some(t) = &net.network_type
        && *t != m.network_type
    {
        out.push(format!("type is {t}, the playbook says {}", m.network_type));
    }
    if let (Some(want), Some(have)) = (m.segmentation_id, net.segmentation_id)
        && want != have
    {
        out.push(format!(
            "segmentation id is {have}, the playbook says {want}"
        ));
    }
    if let (Some(want), Some(have)) = (m.mtu, net.mtu)
        && want != have
    {
        out.push(format!("MTU is {have}, the playbook says {want}"));
    }
    out
}

#[async_trait]
impl Step for MgmtNetwork {
    fn id(&self) -> &'static str {
        "mgmt-network"
    }

    fn describe(&self, cx: &Ctx) -> String {
        let m = &cx.answers.mgmt_network;
        format!("management network {} ({})", m.name, m.network_type)
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        let name = &cx.answers.mgmt_network.name;
        let found = lookup::network(cx).await?;
        if let Some(p) = lookup::not_ours_plan(&found, "network", name, cx.adopt) {
            return Ok(p);
        }
        Ok(match found {
            Found::Ours(net) => {
                let wrong = mismatches(cx, &net);
                if !wrong.is_empty() {
                    Plan::blocked(
                        format!("network {name} ({}): {}", net.id, wrong.join(", ")),
                        "these cannot be changed in place: fix the playbook, or `octa uninstall` and install again",
                    )
                } else if !net.tags.contains(&cx.tag()) && !cx.is_adopted(&net.id) {
                    Plan::Update {
                        changes: vec![format!("tag network {name} with {}", cx.tag())],
                    }
                } else {
                    Plan::noop(format!("network {name} is {}", net.id))
                }
            }
            _ => Plan::Create {
                changes: vec![format!(
                    "network {name} ({})",
                    cx.answers.mgmt_network.network_type
                )],
            },
        })
    }

    async fn apply(&self, cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        let name = cx.answers.mgmt_network.name.clone();
        match lookup::network(cx).await? {
            Found::Ours(net) => {
                if !net.tags.contains(&cx.tag()) && !cx.is_adopted(&net.id) {
                    let mut tags = net.tags.clone();
                    tags.push(cx.tag());
                    cx.neutron
                        .set_tags("networks", &net.id, &tags)
                        .await
                        .map_err(StepError::cloud(format!("tagging network {name}")))?;
                }
                Ok(Record::created("network", &net.id, &name))
            }
            Found::Foreign(v) if cx.adopt && v.len() == 1 => {
                let net = &v[0];
                cx.mark_adopted(&net.id);
                Ok(Record {
                    created: Vec::new(),
                    adopted: vec![ResourceRef {
                        kind: "network".into(),
                        id: net.id.clone(),
                        name,
                    }],
                })
            }
            Found::Missing => {
                let net = cx
                    .neutron
                    .create_network(&spec(cx))
                    .await
                    .map_err(StepError::cloud(format!("creating network {name}")))?;
                Ok(Record::created("network", &net.id, &name))
            }
            other => Err(plan_error(&other, &name)),
        }
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        let net = lookup::require(lookup::network(cx).await?, "management network", self.id())?;
        let wrong = mismatches(cx, &net);
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(StepError::check(
                format!("network {} ({}): {}", net.name, net.id, wrong.join(", ")),
                "fix the playbook or reinstall",
            ))
        }
    }

    async fn undo(&self, cx: &Ctx, record: &Record) -> (Vec<String>, Vec<StepError>) {
        let found = match lookup::network(cx).await {
            Ok(Found::Ours(n)) => vec![n.id],
            _ => Vec::new(),
        };
        // A shared parent stays while anyone else still uses it (another controller's
        // health-manager port, amphorae): removing it would cut them off.
        let mut kept = Vec::new();
        for id in record.created.iter().map(|r| &r.id).chain(&found) {
            if let Ok(ports) = cx.neutron.ports_on_network(id).await {
                let others = ports
                    .iter()
                    .filter(|p| !p.device_owner.starts_with("network:"))
                    .count();
                if others > 0 {
                    kept.push(id.clone());
                }
            }
        }
        if !kept.is_empty() {
            let msg = format!(
                "kept network {} ({}): ports of others are still on it; delete them, then run `octa uninstall` again",
                cx.answers.mgmt_network.name,
                kept.join(", ")
            );
            return (vec![msg], vec![]);
        }
        super::undo_each(cx, record, "network", found, |id| {
            let n = cx.neutron.clone();
            async move { n.delete_network(&id).await }
        })
        .await
    }
}

fn plan_error<T>(found: &Found<T>, name: &str) -> StepError {
    match lookup::not_ours_plan(found, "network", name, false) {
        Some(Plan::Blocked { reason, hint }) => StepError::check(reason, hint),
        _ => StepError::check(
            format!("network {name}: unexpected state"),
            "run `octa plan`",
        ),
    }
}
