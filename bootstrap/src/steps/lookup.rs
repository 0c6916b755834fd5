//! Finding this deployment's objects by name and mark, shared by the steps: later steps
//! look up what earlier ones made instead of trusting ids from a previous run.

use octa_cloud::model::{Network, Port, SecurityGroup, Subnet};

use crate::ctx::Ctx;
use crate::owner::{self, Found};
use crate::step::StepError;

pub fn ours(cx: &Ctx, id: &str, tags: &[String], description: &str) -> bool {
    cx.is_adopted(id) || owner::is_ours(&cx.deployment, tags, description)
}

pub async fn network(cx: &Ctx) -> Result<Found<Network>, StepError> {
    let name = &cx.answers.mgmt_network.name;
    let all = cx
        .neutron
        .networks_named(name)
        .await
        .map_err(StepError::cloud(format!("listing networks named {name}")))?;
    Ok(owner::classify(all, |n| {
        ours(cx, &n.id, &n.tags, &n.description)
    }))
}

pub async fn subnet(cx: &Ctx) -> Result<Found<Subnet>, StepError> {
    let name = &cx.answers.mgmt_network.subnet_name;
    let all = cx
        .neutron
        .subnets_named(name)
        .await
        .map_err(StepError::cloud(format!("listing subnets named {name}")))?;
    Ok(owner::classify(all, |s| {
        ours(cx, &s.id, &s.tags, &s.description)
    }))
}

pub async fn security_group(cx: &Ctx, name: &str) -> Result<Found<SecurityGroup>, StepError> {
    let all = cx
        .neutron
        .security_groups_named(name)
        .await
        .map_err(StepError::cloud(format!(
            "listing security groups named {name}"
        )))?;
    Ok(owner::classify(all, |g| {
        ours(cx, &g.id, &g.tags, &g.description)
    }))
}

pub async fn hm_port(cx: &Ctx) -> Result<Found<Port>, StepError> {
    let name = cx.answers.hm_port_name(&cx.host);
    let all = cx
        .neutron
        .ports_named(&name)
        .await
        .map_err(StepError::cloud(format!("listing ports named {name}")))?;
    Ok(owner::classify(all, |p| {
        ours(cx, &p.id, &p.tags, &p.description)
    }))
}

/// The one object of ours, or a `Check` error saying what is wrong (for apply/verify of
/// steps that depend on it).
pub fn require<T>(found: Found<T>, what: &str, earlier_step: &str) -> Result<T, StepError> {
    match found {
        Found::Ours(t) => Ok(t),
        Found::Missing | Found::Foreign(_) => Err(StepError::check(
            format!("{what} of this deployment does not exist"),
            format!("run `octa install` again; step {earlier_step} creates it"),
        )),
        Found::Duplicates(v) => Err(StepError::check(
            format!(
                "{} objects of this deployment are named like the {what}",
                v.len()
            ),
            "delete the extra ones with the openstack CLI, then run `octa install` again",
        )),
    }
}

/// The plan for a missing / foreign / duplicate object of a given kind and name.
pub fn not_ours_plan<T>(
    found: &Found<T>,
    kind: &str,
    name: &str,
    adopt: bool,
) -> Option<crate::step::Plan> {
    use crate::step::Plan;
    match found {
        Found::Foreign(v) if v.len() == 1 && adopt => Some(Plan::Adopt {
            changes: vec![format!(
                "adopt the existing {kind} {name} (it will never be deleted by octa)"
            )],
        }),
        Found::Foreign(v) => Some(Plan::blocked(
            format!(
                "{} {kind}{} named {name} already exist{} and {} not marked as octa's",
                v.len(),
                if v.len() == 1 { "" } else { "s" },
                if v.len() == 1 { "s" } else { "" },
                if v.len() == 1 { "is" } else { "are" },
            ),
            if v.len() == 1 {
                "rename it, choose another name in the playbook, or pass --adopt to use it as it is"
                    .to_owned()
            } else {
                format!("choose another {kind} name in the playbook")
            },
        )),
        Found::Duplicates(v) => Some(Plan::blocked(
            format!(
                "{} {kind}s named {name} are marked as this deployment's",
                v.len()
            ),
            "delete the extra ones with the openstack CLI",
        )),
        _ => None,
    }
}
