//! Step `hm-iface`: the health-manager port on this host, through netplumb: an OVS
//! internal port on the integration bridge carrying the Neutron port's id and MAC (so the
//! OVS agent binds it), then MAC, MTU and the static address by netlink. Done when Neutron
//! reports the port ACTIVE.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use ipnet::IpNet;
use octa_netplumb::persist::{PlumbState, STATE_VERSION};
use octa_netplumb::plumb;

use super::lookup;
use crate::ctx::Ctx;
use crate::owner::Found;
use crate::step::{Plan, Record, Step, StepError};

pub struct HmIface;

/// What the interface must look like, from the Neutron port and network; `None` while the
/// port does not exist. The firewall port is included (the boot unit converges both).
pub async fn plumb_state(cx: &Ctx) -> Result<Option<PlumbState>, StepError> {
    let Found::Ours(port) = lookup::hm_port(cx).await? else {
        return Ok(None);
    };
    let mtu = match lookup::network(cx).await? {
        Found::Ours(n) => n.mtu,
        _ => None,
    };
    Ok(Some(state_for(cx, port.id, port.mac_address, mtu)))
}

/// The plumbing description for the given port identity.
pub fn state_for(cx: &Ctx, port_id: String, mac: String, mtu: Option<u32>) -> PlumbState {
    let a = &cx.answers;
    let prefix = a.mgmt_network.cidr.prefix_len();
    PlumbState {
        version: STATE_VERSION,
        ovsdb: a.interface.ovsdb.clone(),
        bridge: a.interface.bridge.clone(),
        name: a.interface.name.clone(),
        iface_id: port_id,
        mac,
        mtu,
        addresses: IpNet::new(a.hm_address(), prefix).into_iter().collect(),
        netns: None,
        firewall_port: a.health_manager.firewall.then_some(a.health_manager.port),
        owner: cx.deployment.clone(),
    }
}

fn without_firewall(mut s: PlumbState) -> PlumbState {
    s.firewall_port = None;
    s
}

async fn failing_verdicts(cx: &Ctx, state: &PlumbState) -> Result<Vec<String>, StepError> {
    let report = plumb::show(&without_firewall(state.clone()), cx.timeout)
        .await
        .map_err(StepError::net(format!(
            "observing interface {}",
            state.name
        )))?;
    Ok(report
        .verdicts
        .into_iter()
        .filter(|v| !v.ok)
        .map(|v| format!("{}: {}", v.property, v.detail))
        .collect())
}

/// Waits for Neutron to mark the port ACTIVE (the OVS agent saw the interface).
async fn wait_active(cx: &Ctx, port_id: &str, patience: Duration) -> Result<(), StepError> {
    let end = Instant::now() + patience;
    loop {
        let port = cx
            .neutron
            .port(port_id)
            .await
            .map_err(StepError::cloud(format!("reading port {port_id}")))?;
        if port.status == "ACTIVE" {
            return Ok(());
        }
        if Instant::now() >= end {
            return Err(StepError::check(
                format!(
                    "port {port_id} is {} (binding {}) after {} s; the OVS agent has not bound it",
                    port.status,
                    port.vif_type,
                    patience.as_secs()
                ),
                format!(
                    "check that neutron-openvswitch-agent runs on host {} and manages bridge {}",
                    cx.host, cx.answers.interface.bridge
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[async_trait]
impl Step for HmIface {
    fn id(&self) -> &'static str {
        "hm-iface"
    }

    fn describe(&self, cx: &Ctx) -> String {
        let i = &cx.answers.interface;
        format!(
            "interface {} on {} ({})",
            i.name,
            i.bridge,
            cx.answers.hm_address()
        )
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        let name = &cx.answers.interface.name;
        let Some(state) = plumb_state(cx).await? else {
            return Ok(Plan::Create {
                changes: vec![format!(
                    "OVS internal port {name} on {} with the health-manager port's MAC, address {}",
                    cx.answers.interface.bridge,
                    cx.answers.hm_address()
                )],
            });
        };
        let mut failing = failing_verdicts(cx, &state).await?;
        // Plumbed but not bound: the OVS agent has not seen it (yet); apply waits for it.
        let port = cx
            .neutron
            .port(&state.iface_id)
            .await
            .map_err(StepError::cloud(format!("reading port {}", state.iface_id)))?;
        if port.status != "ACTIVE" {
            failing.push(format!(
                "port {} is {} in Neutron, not ACTIVE",
                port.id, port.status
            ));
        }
        Ok(if failing.is_empty() {
            Plan::noop(format!("{name} is plumbed and its port ACTIVE"))
        } else {
            Plan::Update { changes: failing }
        })
    }

    async fn apply(&self, cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        let state = plumb_state(cx).await?.ok_or_else(|| {
            StepError::check(
                "the health-manager port does not exist",
                "run `octa install` again; step hm-port creates it",
            )
        })?;
        plumb::setup(&without_firewall(state.clone()), cx.timeout)
            .await
            .map_err(StepError::net(format!("plumbing interface {}", state.name)))?;
        wait_active(cx, &state.iface_id, cx.timeout.max(Duration::from_secs(60))).await?;
        Ok(Record::created("ovs-port", &state.name, &state.bridge))
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        let state = plumb_state(cx).await?.ok_or_else(|| {
            StepError::check(
                "the health-manager port does not exist",
                "run `octa install`",
            )
        })?;
        let failing = failing_verdicts(cx, &state).await?;
        if !failing.is_empty() {
            return Err(StepError::check(
                format!("interface {}: {}", state.name, failing.join("; ")),
                "run `octa install` (or `octa net converge`) to repair it",
            ));
        }
        wait_active(cx, &state.iface_id, Duration::ZERO).await
    }

    async fn undo(&self, cx: &Ctx, _record: &Record) -> (Vec<String>, Vec<StepError>) {
        // Teardown needs only bridge, name and owner; the port may already be gone.
        let state = without_firewall(state_for(cx, String::new(), String::new(), None));
        let (done, errors) = plumb::teardown(&state, cx.timeout).await;
        let errors = errors
            .into_iter()
            .map(|e| StepError::Net {
                what: format!("removing interface {}", state.name),
                source: Box::new(e),
            })
            .collect();
        (done, errors)
    }
}
