//! Network facts and plugging for `SystemHost`, through iproute2 (`ip -j`): links with
//! their MAC, addresses and byte counters in a namespace, and moving a hot-plugged port
//! into the amphora namespace under its stock name (`eth1` for the VIP, `ethN` N ≥ 2 for
//! member networks) with its addresses, MTU and routes.
//!
//! `netplumb` has no operation yet that finds a link by MAC and moves it between
//! namespaces, so this goes through `ip`, the tool stock's `amphora-interface` uses too.

use std::net::IpAddr;
use std::process::Command;

use serde_json::Value;

use crate::haproxy::{ensure_namespace, output};

/// One link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface name.
    pub name: String,
    /// MAC, lower case.
    pub mac: String,
    /// Its addresses.
    pub addresses: Vec<IpAddr>,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Bytes received.
    pub rx_bytes: u64,
}

/// What plugging one port means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlugPlan {
    /// The link's name where it is now (the agent's namespace).
    pub current: String,
    /// The amphora namespace, where the link is configured; `None`: the agent's own.
    pub namespace: Option<String>,
    /// Whether the link is still in the agent's namespace and moves into `namespace`.
    pub moving: bool,
    /// Its name there (`eth1`...).
    pub name: String,
    /// MTU to set.
    pub mtu: Option<u32>,
    /// Addresses with their prefix length.
    pub addresses: Vec<(IpAddr, u8)>,
    /// Default gateway (on-link).
    pub gateway: Option<IpAddr>,
    /// Host routes: (destination CIDR, next hop).
    pub routes: Vec<(String, IpAddr)>,
}

fn ip(namespace: Option<&str>) -> Command {
    let mut cmd = Command::new("ip");
    if let Some(ns) = namespace {
        cmd.args(["-n", ns]);
    }
    cmd
}

/// Links of `namespace` (`None`: the agent's own); empty if the namespace is absent.
pub fn links(namespace: Option<&str>) -> Vec<LinkInfo> {
    let Ok(out) = ip(namespace).args(["-j", "-s", "addr", "show"]).output() else {
        return Vec::new();
    };
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    parsed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|link| {
            let stat = |dir: &str| link["stats64"][dir]["bytes"].as_u64().unwrap_or(0);
            Some(LinkInfo {
                name: link["ifname"].as_str()?.to_owned(),
                mac: link["address"].as_str().unwrap_or("").to_lowercase(),
                addresses: link["addr_info"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a["local"].as_str()?.parse().ok())
                    .collect(),
                tx_bytes: stat("tx"),
                rx_bytes: stat("rx"),
            })
        })
        .collect()
}

/// Moves, renames and configures the link; the first failing command's output is the
/// error.
pub fn plug(plan: &PlugPlan) -> Result<(), String> {
    let ns = plan.namespace.as_deref();
    if let (true, Some(ns)) = (plan.moving, ns) {
        ensure_namespace(ns)?;
        // A link must be down to be renamed.
        output(ip(None).args(["link", "set", "dev", &plan.current, "down"]))?;
        output(ip(None).args(["link", "set", "dev", &plan.current, "netns", ns]))?;
    }
    if plan.current != plan.name {
        output(ip(ns).args(["link", "set", "dev", &plan.current, "name", &plan.name]))?;
    }
    if let Some(mtu) = plan.mtu {
        output(ip(ns).args(["link", "set", "dev", &plan.name, "mtu", &mtu.to_string()]))?;
    }
    for (addr, prefix) in &plan.addresses {
        output(ip(ns).args([
            "addr",
            "replace",
            &format!("{addr}/{prefix}"),
            "dev",
            &plan.name,
        ]))?;
    }
    output(ip(ns).args(["link", "set", "dev", &plan.name, "up"]))?;
    if let Some(gw) = plan.gateway {
        let family = if gw.is_ipv4() { "-4" } else { "-6" };
        output(
            ip(ns)
                .args([family, "route", "replace", "default", "via"])
                .args([&gw.to_string(), "dev", &plan.name, "onlink"]),
        )?;
    }
    for (dest, via) in &plan.routes {
        output(ip(ns).args([
            "route",
            "replace",
            dest,
            "via",
            &via.to_string(),
            "dev",
            &plan.name,
        ]))?;
    }
    Ok(())
}
