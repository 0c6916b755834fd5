//! Step `hm-firewall`: the octa-owned nftables table `inet octa_hm` on the health-manager
//! interface (heartbeats and replies accepted, everything else from the management network
//! dropped), written as one batch by netplumb. Skipped when the playbook turns it off.

use async_trait::async_trait;
use octa_netplumb::firewall::{self, DEFAULT_TABLE, FirewallSpec};

use crate::ctx::Ctx;
use crate::step::{Plan, Record, Step, StepError};

pub struct HmFirewall;

fn spec(cx: &Ctx) -> FirewallSpec {
    FirewallSpec {
        table: DEFAULT_TABLE.to_owned(),
        iface: cx.answers.interface.name.clone(),
        udp_port: cx.answers.health_manager.port,
        owner: cx.deployment.clone(),
    }
}

fn observe() -> Result<Option<String>, StepError> {
    firewall::observe_firewall(None, DEFAULT_TABLE).map_err(StepError::net(format!(
        "reading nftables table inet {DEFAULT_TABLE}"
    )))
}

#[async_trait]
impl Step for HmFirewall {
    fn id(&self) -> &'static str {
        "hm-firewall"
    }

    fn describe(&self, cx: &Ctx) -> String {
        format!(
            "nftables table inet {DEFAULT_TABLE} (UDP {} on {})",
            cx.answers.health_manager.port, cx.answers.interface.name
        )
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        if !cx.answers.health_manager.firewall {
            return Ok(Plan::noop("turned off by health_manager.firewall"));
        }
        let wanted = spec(cx);
        Ok(match observe()? {
            None => Plan::Create {
                changes: vec![format!("table inet {DEFAULT_TABLE}")],
            },
            Some(cur) if cur == wanted.ruleset() => Plan::noop("table is current"),
            Some(cur) if !cur.contains(&format!("octa-owner={}", cx.deployment)) => Plan::blocked(
                format!("nftables table inet {DEFAULT_TABLE} exists and is not this deployment's"),
                "remove it (`nft delete table inet octa_hm`) or set health_manager.firewall: false",
            ),
            Some(_) => Plan::Update {
                changes: vec![format!("rewrite table inet {DEFAULT_TABLE}")],
            },
        })
    }

    async fn apply(&self, cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        if !cx.answers.health_manager.firewall {
            return Ok(Record::default());
        }
        firewall::ensure_firewall(None, &spec(cx)).map_err(StepError::net(format!(
            "writing nftables table inet {DEFAULT_TABLE}"
        )))?;
        Ok(Record::created("nft-table", DEFAULT_TABLE, "inet"))
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        if !cx.answers.health_manager.firewall {
            return Ok(());
        }
        match observe()? {
            Some(cur) if cur == spec(cx).ruleset() => Ok(()),
            _ => Err(StepError::check(
                format!("nftables table inet {DEFAULT_TABLE} is missing or differs"),
                "run `octa install` (or `octa net converge`) to rewrite it",
            )),
        }
    }

    async fn undo(&self, cx: &Ctx, _record: &Record) -> (Vec<String>, Vec<StepError>) {
        match firewall::ensure_firewall_absent(None, DEFAULT_TABLE, &cx.deployment) {
            Ok(true) => (
                vec![format!("removed nftables table inet {DEFAULT_TABLE}")],
                vec![],
            ),
            Ok(false) => (vec![], vec![]),
            // Not ours: left in place, and said so.
            Err(e) if e.is_conflict() => (
                vec![format!("kept nftables table inet {DEFAULT_TABLE}: {e}")],
                vec![],
            ),
            Err(e) => (
                vec![],
                vec![StepError::Net {
                    what: format!("removing nftables table inet {DEFAULT_TABLE}"),
                    source: Box::new(e),
                }],
            ),
        }
    }
}
