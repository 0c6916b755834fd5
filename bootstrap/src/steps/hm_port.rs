//! Step `hm-port`: this controller's health-manager port on the management network:
//! `device_owner=Octavia:health-mgr`, bound to this host, a fixed address outside the
//! allocation pool, the health-manager security group. Binding and groups are converged in
//! place; a different fixed address blocks (amphorae already know the old one).

use async_trait::async_trait;
use octa_cloud::model::{FixedIp, Port, PortSpec, PortUpdate};

use super::lookup;
use crate::ctx::Ctx;
use crate::owner::Found;
use crate::step::{Plan, Record, ResourceRef, Step, StepError};

pub const DEVICE_OWNER: &str = "Octavia:health-mgr";

pub struct HmPort;

/// What must be updated in place on `port` (given the HM security group id, if known).
fn drift(cx: &Ctx, port: &Port, hm_sg: Option<&str>) -> PortUpdate {
    let mut u = PortUpdate::default();
    if port.host_id != cx.host {
        u.host_id = Some(cx.host.clone());
    }
    if let Some(sg) = hm_sg
        && port.security_groups != [sg.to_owned()]
    {
        u.security_groups = Some(vec![sg.to_owned()]);
    }
    if port.device_owner != DEVICE_OWNER {
        u.device_owner = Some(DEVICE_OWNER.into());
    }
    u
}

fn describe_drift(u: &PortUpdate) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(h) = &u.host_id {
        out.push(format!("bind to host {h}"));
    }
    if let Some(g) = &u.security_groups {
        out.push(format!("security groups {g:?}"));
    }
    if let Some(o) = &u.device_owner {
        out.push(format!("device owner {o}"));
    }
    out
}

fn address_matches(cx: &Ctx, port: &Port) -> bool {
    port.fixed_ips
        .iter()
        .any(|f| f.ip_address == cx.answers.hm_address())
}

async fn hm_sg_id(cx: &Ctx) -> Result<Option<String>, StepError> {
    Ok(
        match lookup::security_group(cx, &cx.answers.security_groups.health_manager).await? {
            Found::Ours(g) => Some(g.id),
            _ => None,
        },
    )
}

#[async_trait]
impl Step for HmPort {
    fn id(&self) -> &'static str {
        "hm-port"
    }

    fn describe(&self, cx: &Ctx) -> String {
        format!(
            "health-manager port {} ({} on host {})",
            cx.answers.hm_port_name(&cx.host),
            cx.answers.hm_address(),
            cx.host
        )
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        let name = cx.answers.hm_port_name(&cx.host);
        let found = lookup::hm_port(cx).await?;
        if let Some(p) = lookup::not_ours_plan(&found, "port", &name, false) {
            return Ok(p);
        }
        let Found::Ours(port) = found else {
            return Ok(Plan::Create {
                changes: vec![format!(
                    "port {name} with {} bound to {}",
                    cx.answers.hm_address(),
                    cx.host
                )],
            });
        };
        if !address_matches(cx, &port) {
            return Ok(Plan::blocked(
                format!(
                    "port {name} ({}) has addresses {:?}, the playbook says {}",
                    port.id,
                    port.fixed_ips
                        .iter()
                        .map(|f| f.ip_address)
                        .collect::<Vec<_>>(),
                    cx.answers.hm_address()
                ),
                "set health_manager.address to the port's address, or `octa uninstall` first",
            ));
        }
        let mut changes = describe_drift(&drift(cx, &port, hm_sg_id(cx).await?.as_deref()));
        if !port.tags.contains(&cx.tag()) {
            changes.push(format!("tag with {}", cx.tag()));
        }
        Ok(if changes.is_empty() {
            Plan::noop(format!("port {name} is {} ({})", port.id, port.mac_address))
        } else {
            Plan::Update { changes }
        })
    }

    async fn apply(&self, cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        let name = cx.answers.hm_port_name(&cx.host);
        let sg = lookup::require(
            lookup::security_group(cx, &cx.answers.security_groups.health_manager).await?,
            "health-manager security group",
            "hm-secgroup",
        )?;
        let port = match lookup::hm_port(cx).await? {
            Found::Ours(p) => p,
            Found::Missing => {
                let net = lookup::require(
                    lookup::network(cx).await?,
                    "management network",
                    "mgmt-network",
                )?;
                let subnet = lookup::require(
                    lookup::subnet(cx).await?,
                    "management subnet",
                    "mgmt-subnet",
                )?;
                let spec = PortSpec {
                    name: name.clone(),
                    description: cx.description("Octavia health-manager port"),
                    network_id: net.id,
                    fixed_ips: vec![FixedIp {
                        subnet_id: subnet.id,
                        ip_address: cx.answers.hm_address(),
                    }],
                    device_owner: DEVICE_OWNER.into(),
                    device_id: format!("octa-hm-{}", cx.host),
                    host_id: cx.host.clone(),
                    security_groups: vec![sg.id.clone()],
                    tags: vec![cx.tag()],
                };
                cx.neutron
                    .create_port(&spec)
                    .await
                    .map_err(StepError::cloud(format!("creating port {name}")))?
            }
            _ => {
                return Err(StepError::check(
                    format!("port {name} is not this deployment's"),
                    "run `octa plan` for details",
                ));
            }
        };
        if !port.tags.contains(&cx.tag()) {
            let mut tags = port.tags.clone();
            tags.push(cx.tag());
            cx.neutron
                .set_tags("ports", &port.id, &tags)
                .await
                .map_err(StepError::cloud(format!("tagging port {name}")))?;
        }
        let update = drift(cx, &port, Some(&sg.id));
        if update != PortUpdate::default() {
            cx.neutron
                .update_port(&port.id, &update)
                .await
                .map_err(StepError::cloud(format!("updating port {name}")))?;
        }
        Ok(Record {
            created: vec![ResourceRef {
                kind: "port".into(),
                id: port.id,
                name,
            }],
            adopted: Vec::new(),
        })
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        let port = lookup::require(lookup::hm_port(cx).await?, "health-manager port", self.id())?;
        let d = describe_drift(&drift(cx, &port, hm_sg_id(cx).await?.as_deref()));
        if !address_matches(cx, &port) || !d.is_empty() {
            return Err(StepError::check(
                format!("port {} ({}) differs: {}", port.name, port.id, d.join(", ")),
                "run `octa install` again",
            ));
        }
        Ok(())
    }

    async fn undo(&self, cx: &Ctx, record: &Record) -> (Vec<String>, Vec<StepError>) {
        let found = match lookup::hm_port(cx).await {
            Ok(Found::Ours(p)) => vec![p.id],
            _ => Vec::new(),
        };
        super::undo_each(cx, record, "port", found, |id| {
            let n = cx.neutron.clone();
            async move { n.delete_port(&id).await }
        })
        .await
    }
}
