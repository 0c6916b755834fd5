//! `SystemHost`'s network side, through `netplumb` (rtnetlink; only a missing namespace
//! is created with `ip netns add`, as the image's `amphora-netns.service` does): the
//! links of a namespace with their MAC, addresses and byte counters; plugging a
//! hot-plugged port, found by its MAC, into the amphora namespace under its stock name
//! with its addresses, MTU, routes (the VIP's policy table 1 included) and rules, or
//! with a DHCP client when it has no fixed IP; and
//! the gratuitous ARP / neighbour advertisements for a VIP.

use std::error::Error;
use std::net::IpAddr;

use octa_netplumb::hotplug::{self, IfaceSpec, LinkSummary};
use octa_netplumb::netns::with_netlink;

use crate::haproxy::ensure_namespace;
use crate::{dhcp, ifaces};

/// What plugging one port means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlugPlan {
    /// The port's MAC (lower case): how the link is found on either side.
    pub mac: String,
    /// The amphora namespace, where the link is configured; `None`: the agent's own.
    pub namespace: Option<String>,
    /// Whether the link is still in the agent's namespace and moves into `namespace`.
    pub moving: bool,
    /// Its configuration there (name `eth1`..., addresses, routes, rules).
    pub iface: IfaceSpec,
}

/// The error and its causes on one line (`netplumb` errors carry the kernel's answer
/// as their source).
fn error_text(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Links of `namespace` (`None`: the agent's own); empty if the namespace is absent.
pub async fn links(namespace: Option<&str>) -> Vec<LinkSummary> {
    let result = with_netlink(namespace, |handle| async move {
        hotplug::list_links(&handle).await
    })
    .await;
    result.unwrap_or_else(|e| {
        // An amphora before its first plug has no namespace yet: nothing to list.
        tracing::debug!("links of {namespace:?}: {}", error_text(&e));
        Vec::new()
    })
}

/// Moves the link into the namespace (if it is not there yet), renames and configures
/// it; the error names the netlink operation that failed and the kernel's answer.
pub async fn plug(plan: &PlugPlan) -> Result<(), String> {
    let missing = |mac: &str| octa_netplumb::error::NetError::Invalid {
        field: "MAC",
        value: mac.to_owned(),
        expected: "the MAC of a link of the namespace",
    };
    if let (true, Some(ns)) = (plan.moving, plan.namespace.clone()) {
        ensure_namespace(&ns)?;
        let mac = plan.mac.clone();
        with_netlink(None, move |handle| async move {
            let link = hotplug::find_by_mac(&handle, &mac)
                .await?
                .ok_or_else(|| missing(&mac))?;
            hotplug::move_to_netns(&handle, link.index, &link.name, &ns).await
        })
        .await
        .map_err(|e| error_text(&e))?;
    }
    let (mac, spec) = (plan.mac.clone(), plan.iface.clone());
    let changes = with_netlink(plan.namespace.as_deref(), move |handle| async move {
        let link = hotplug::find_by_mac(&handle, &mac)
            .await?
            .ok_or_else(|| missing(&mac))?;
        hotplug::configure(&handle, &link, &spec).await
    })
    .await
    .map_err(|e| error_text(&e))?;
    tracing::info!(
        "plugged {} as {}: {}",
        plan.mac,
        plan.iface.name,
        changes.join(", ")
    );
    if ifaces::asks_dhcp(&plan.iface) {
        let (ns, name) = (plan.namespace.clone(), plan.iface.name.clone());
        tokio::task::spawn_blocking(move || dhcp::start(ns.as_deref(), &name))
            .await
            .map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// Gratuitous ARP / unsolicited NA for `addresses` out of `iface`, twice each (a lost
/// first frame is the common case right after a link comes up).
pub fn announce(namespace: Option<&str>, iface: &str, addresses: &[IpAddr]) -> Result<(), String> {
    octa_netplumb::advertise::announce(namespace, iface, addresses, 2).map_err(|e| error_text(&e))
}
