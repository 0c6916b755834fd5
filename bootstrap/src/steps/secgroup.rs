//! Steps `amp-secgroup` and `hm-secgroup`: the amphora security group (TCP 9443 only from
//! the health-manager addresses; SSH from them and ICMP from the subnet when asked) and
//! the health-manager one (heartbeats, UDP, from the management subnet). Ingress rules of
//! our groups are converged to exactly the wanted set; Neutron's default egress rules are
//! left alone.

use std::collections::BTreeSet;

use async_trait::async_trait;
use futures::future::join_all;
use ipnet::IpNet;
use octa_cloud::model::{RuleSpec, SecurityGroup, SecurityGroupSpec};

use super::lookup;
use crate::ctx::Ctx;
use crate::owner::Found;
use crate::step::{Plan, Record, ResourceRef, Step, StepError};

/// The amphora agent's API port, fixed by the amphora image.
pub const AGENT_PORT: u16 = 9443;

pub enum SecGroup {
    Amphora,
    HealthManager,
}

fn rule(cx: &Ctx, protocol: &str, port: Option<u16>, from: IpNet) -> RuleSpec {
    let v4 = matches!(cx.answers.mgmt_network.cidr, IpNet::V4(_));
    RuleSpec {
        direction: "ingress".into(),
        ethertype: if v4 { "IPv4" } else { "IPv6" }.into(),
        protocol: Some(protocol.into()),
        port_range_min: port,
        port_range_max: port,
        remote_ip_prefix: Some(from),
    }
}

impl SecGroup {
    fn name<'a>(&self, cx: &'a Ctx) -> &'a str {
        match self {
            SecGroup::Amphora => &cx.answers.security_groups.amphora,
            SecGroup::HealthManager => &cx.answers.security_groups.health_manager,
        }
    }

    fn purpose(&self) -> &'static str {
        match self {
            SecGroup::Amphora => "Octavia amphora management security group",
            SecGroup::HealthManager => "Octavia health-manager security group",
        }
    }

    /// The ingress rules the group must have, no more, no fewer.
    pub fn wanted_rules(&self, cx: &Ctx) -> BTreeSet<RuleSpec> {
        let a = &cx.answers;
        let cidr = a.mgmt_network.cidr;
        let mut out = BTreeSet::new();
        match self {
            SecGroup::Amphora => {
                for addr in a.controller_addresses() {
                    let host = IpNet::from(addr);
                    out.insert(rule(cx, "tcp", Some(AGENT_PORT), host));
                    if a.security_groups.amphora_ssh {
                        out.insert(rule(cx, "tcp", Some(22), host));
                    }
                }
                if a.security_groups.amphora_icmp {
                    let icmp = if matches!(cidr, IpNet::V4(_)) {
                        "icmp"
                    } else {
                        "ipv6-icmp"
                    };
                    out.insert(rule(cx, icmp, None, cidr));
                }
            }
            SecGroup::HealthManager => {
                out.insert(rule(cx, "udp", Some(a.health_manager.port), cidr));
            }
        }
        out
    }

    /// (missing, extra) ingress rules of `group`; extras only count in groups we own.
    fn diff(&self, cx: &Ctx, group: &SecurityGroup) -> (Vec<RuleSpec>, Vec<String>) {
        let wanted = self.wanted_rules(cx);
        let have: BTreeSet<&RuleSpec> = group.rules.iter().map(|r| &r.spec).collect();
        let missing = wanted
            .iter()
            .filter(|w| !have.contains(w))
            .cloned()
            .collect();
        let extra = if cx.is_adopted(&group.id) {
            Vec::new()
        } else {
            group
                .rules
                .iter()
                .filter(|r| r.spec.direction == "ingress" && !wanted.contains(&r.spec))
                .map(|r| r.id.clone())
                .collect()
        };
        (missing, extra)
    }
}

fn describe_rule(r: &RuleSpec) -> String {
    let port = r
        .port_range_min
        .map(|p| format!(" {p}"))
        .unwrap_or_default();
    let from = r
        .remote_ip_prefix
        .map(|p| format!(" from {p}"))
        .unwrap_or_default();
    format!("{}{port}{from}", r.protocol.as_deref().unwrap_or("any"))
}

#[async_trait]
impl Step for SecGroup {
    fn id(&self) -> &'static str {
        match self {
            SecGroup::Amphora => "amp-secgroup",
            SecGroup::HealthManager => "hm-secgroup",
        }
    }

    fn describe(&self, cx: &Ctx) -> String {
        format!("security group {}", self.name(cx))
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        let name = self.name(cx);
        let found = lookup::security_group(cx, name).await?;
        if let Some(p) = lookup::not_ours_plan(&found, "security group", name, cx.adopt) {
            return Ok(p);
        }
        let Found::Ours(group) = found else {
            let rules: Vec<String> = self.wanted_rules(cx).iter().map(describe_rule).collect();
            return Ok(Plan::Create {
                changes: vec![format!("security group {name} with {}", rules.join(", "))],
            });
        };
        let (missing, extra) = self.diff(cx, &group);
        let mut changes: Vec<String> = missing
            .iter()
            .map(|r| format!("add rule {}", describe_rule(r)))
            .collect();
        changes.extend(extra.iter().map(|id| format!("remove rule {id}")));
        if !group.tags.contains(&cx.tag()) && !cx.is_adopted(&group.id) {
            changes.push(format!("tag with {}", cx.tag()));
        }
        Ok(if changes.is_empty() {
            Plan::noop(format!("security group {name} is {}", group.id))
        } else {
            Plan::Update { changes }
        })
    }

    async fn apply(&self, cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        let name = self.name(cx).to_owned();
        let (group, record) = match lookup::security_group(cx, &name).await? {
            Found::Ours(g) => {
                let r = Record::created("security-group", &g.id, &name);
                (g, r)
            }
            Found::Foreign(mut v) if cx.adopt && v.len() == 1 => {
                let g = v.remove(0);
                cx.mark_adopted(&g.id);
                let r = Record {
                    created: Vec::new(),
                    adopted: vec![ResourceRef {
                        kind: "security-group".into(),
                        id: g.id.clone(),
                        name: name.clone(),
                    }],
                };
                (g, r)
            }
            Found::Missing => {
                let spec = SecurityGroupSpec {
                    name: name.clone(),
                    description: cx.description(self.purpose()),
                    tags: vec![cx.tag()],
                };
                let g = cx
                    .neutron
                    .create_security_group(&spec)
                    .await
                    .map_err(StepError::cloud(format!("creating security group {name}")))?;
                let r = Record::created("security-group", &g.id, &name);
                (g, r)
            }
            _ => {
                return Err(StepError::check(
                    format!("security group {name} is not this deployment's"),
                    "run `octa plan` for details",
                ));
            }
        };
        if !group.tags.contains(&cx.tag()) && !cx.is_adopted(&group.id) {
            let mut tags = group.tags.clone();
            tags.push(cx.tag());
            cx.neutron
                .set_tags("security-groups", &group.id, &tags)
                .await
                .map_err(StepError::cloud(format!("tagging security group {name}")))?;
        }
        let (missing, extra) = self.diff(cx, &group);
        // Rules are independent of each other: create them concurrently.
        let created = join_all(missing.iter().map(|r| cx.neutron.create_rule(&group.id, r))).await;
        for (r, result) in missing.iter().zip(created) {
            result.map_err(StepError::cloud(format!(
                "adding rule {} to security group {name}",
                describe_rule(r)
            )))?;
        }
        for id in extra {
            match cx.neutron.delete_rule(&id).await {
                Err(e) if !e.is_not_found() => {
                    return Err(StepError::Cloud {
                        what: format!("removing rule {id} from security group {name}"),
                        source: Box::new(e),
                    });
                }
                _ => {}
            }
        }
        Ok(record)
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        let name = self.name(cx);
        let group = lookup::require(
            lookup::security_group(cx, name).await?,
            &format!("security group {name}"),
            self.id(),
        )?;
        let (missing, extra) = self.diff(cx, &group);
        if missing.is_empty() && extra.is_empty() {
            return Ok(());
        }
        let missing: Vec<String> = missing.iter().map(describe_rule).collect();
        Err(StepError::check(
            format!(
                "security group {name}: missing rules [{}], unexpected rules {:?}",
                missing.join(", "),
                extra
            ),
            "run `octa install` again to converge the rules",
        ))
    }

    async fn undo(&self, cx: &Ctx, record: &Record) -> (Vec<String>, Vec<StepError>) {
        let found = match lookup::security_group(cx, self.name(cx)).await {
            Ok(Found::Ours(g)) => vec![g.id],
            _ => Vec::new(),
        };
        super::undo_each(cx, record, "security-group", found, |id| {
            let n = cx.neutron.clone();
            async move { n.delete_security_group(&id).await }
        })
        .await
    }
}
