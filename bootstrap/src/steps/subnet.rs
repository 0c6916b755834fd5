//! Step `mgmt-subnet`: the management subnet on our network, without a gateway (amphorae
//! must not route through it) and with DHCP (amphorae get their management address from
//! Neutron), leaving the first addresses outside the pool for health-manager ports.

use async_trait::async_trait;
use octa_cloud::model::{Subnet, SubnetSpec};

use super::lookup;
use crate::ctx::Ctx;
use crate::owner::Found;
use crate::step::{Plan, Record, ResourceRef, Step, StepError};

pub struct MgmtSubnet;

fn spec(cx: &Ctx, network_id: &str) -> SubnetSpec {
    let m = &cx.answers.mgmt_network;
    let pool = cx.answers.allocation_pool();
    SubnetSpec {
        name: m.subnet_name.clone(),
        description: cx.description("Octavia load-balancer management subnet"),
        network_id: network_id.to_owned(),
        cidr: m.cidr,
        gateway_ip: None,
        allocation_pools: vec![(pool.start, pool.end)],
        enable_dhcp: true,
        tags: vec![cx.tag()],
    }
}

fn mismatches(cx: &Ctx, have: &Subnet, network_id: &str) -> Vec<String> {
    let want = spec(cx, network_id);
    let mut out = Vec::new();
    if have.network_id != network_id {
        out.push(format!(
            "it is on network {}, not on {network_id}",
            have.network_id
        ));
    }
    if have.cidr != want.cidr {
        out.push(format!(
            "its CIDR is {}, the playbook says {}",
            have.cidr, want.cidr
        ));
    }
    if let Some(gw) = have.gateway_ip {
        out.push(format!(
            "it has gateway {gw}; the management subnet must have none"
        ));
    }
    if have.allocation_pools != want.allocation_pools {
        out.push(format!(
            "its allocation pools are {:?}, the playbook means {:?}",
            have.allocation_pools, want.allocation_pools
        ));
    }
    out
}

#[async_trait]
impl Step for MgmtSubnet {
    fn id(&self) -> &'static str {
        "mgmt-subnet"
    }

    fn describe(&self, cx: &Ctx) -> String {
        let m = &cx.answers.mgmt_network;
        format!("management subnet {} {}", m.subnet_name, m.cidr)
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        let name = &cx.answers.mgmt_network.subnet_name;
        let found = lookup::subnet(cx).await?;
        if let Some(p) = lookup::not_ours_plan(&found, "subnet", name, cx.adopt) {
            return Ok(p);
        }
        let Found::Ours(have) = found else {
            let pool = cx.answers.allocation_pool();
            return Ok(Plan::Create {
                changes: vec![format!(
                    "subnet {name} {} without gateway, pool {}-{}",
                    cx.answers.mgmt_network.cidr, pool.start, pool.end
                )],
            });
        };
        let network_id = match lookup::network(cx).await? {
            Found::Ours(n) => n.id,
            _ => have.network_id.clone(),
        };
        let wrong = mismatches(cx, &have, &network_id);
        Ok(if !wrong.is_empty() {
            Plan::blocked(
                format!("subnet {name} ({}): {}", have.id, wrong.join("; ")),
                "fix the playbook, or `octa uninstall` and install again",
            )
        } else if !have.tags.contains(&cx.tag()) && !cx.is_adopted(&have.id) {
            Plan::Update {
                changes: vec![format!("tag subnet {name} with {}", cx.tag())],
            }
        } else {
            Plan::noop(format!("subnet {name} is {}", have.id))
        })
    }

    async fn apply(&self, cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        let name = cx.answers.mgmt_network.subnet_name.clone();
        match lookup::subnet(cx).await? {
            Found::Ours(s) => {
                if !s.tags.contains(&cx.tag()) && !cx.is_adopted(&s.id) {
                    let mut tags = s.tags.clone();
                    tags.push(cx.tag());
                    cx.neutron
                        .set_tags("subnets", &s.id, &tags)
                        .await
                        .map_err(StepError::cloud(format!("tagging subnet {name}")))?;
                }
                Ok(Record::created("subnet", &s.id, &name))
            }
            Found::Foreign(v) if cx.adopt && v.len() == 1 => {
                cx.mark_adopted(&v[0].id);
                Ok(Record {
                    created: Vec::new(),
                    adopted: vec![ResourceRef {
                        kind: "subnet".into(),
                        id: v[0].id.clone(),
                        name,
                    }],
                })
            }
            Found::Missing => {
                let net = lookup::require(
                    lookup::network(cx).await?,
                    "management network",
                    "mgmt-network",
                )?;
                let s = cx
                    .neutron
                    .create_subnet(&spec(cx, &net.id))
                    .await
                    .map_err(StepError::cloud(format!("creating subnet {name}")))?;
                Ok(Record::created("subnet", &s.id, &name))
            }
            _ => Err(StepError::check(
                format!("subnet {name} is not this deployment's"),
                "run `octa plan` for details",
            )),
        }
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        let s = lookup::require(lookup::subnet(cx).await?, "management subnet", self.id())?;
        let net = lookup::require(
            lookup::network(cx).await?,
            "management network",
            "mgmt-network",
        )?;
        let wrong = mismatches(cx, &s, &net.id);
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(StepError::check(
                format!("subnet {} ({}): {}", s.name, s.id, wrong.join("; ")),
                "fix the playbook or reinstall",
            ))
        }
    }

    async fn undo(&self, cx: &Ctx, record: &Record) -> (Vec<String>, Vec<StepError>) {
        let (found, network) = match lookup::subnet(cx).await {
            Ok(Found::Ours(s)) => (vec![s.id], Some(s.network_id)),
            _ => (Vec::new(), None),
        };
        // Kept while others' ports hold addresses in it (see the network step).
        if let Some(net) = network
            && let Ok(ports) = cx.neutron.ports_on_network(&net).await
        {
            let busy = ports.iter().any(|p| {
                !p.device_owner.starts_with("network:")
                    && p.fixed_ips.iter().any(|f| found.contains(&f.subnet_id))
            });
            if busy {
                let msg = format!(
                    "kept subnet {}: ports of others still have addresses in it",
                    cx.answers.mgmt_network.subnet_name
                );
                return (vec![msg], vec![]);
            }
        }
        super::undo_each(cx, record, "subnet", found, |id| {
            let n = cx.neutron.clone();
            async move { n.delete_subnet(&id).await }
        })
        .await
    }
}
