//! The composite operations behind `octa net`: `setup` (OVS port, kernel link,
//! firewall), `teardown` (the reverse, never stopping half-way), and `show` (what is
//! there, with a verdict per property). All of them take a [`PlumbState`], the same
//! description the boot unit re-reads.

use std::time::Duration;

use ipnet::IpNet;
use serde::Serialize;

use crate::error::{NetError, Result};
use crate::firewall::{self, DEFAULT_TABLE, FirewallSpec};
use crate::link::{self, LinkObserved, LinkSpec, format_mac, parse_mac};
use crate::netns::with_netlink;
use crate::ovs::{self, InternalPortSpec, PortObserved, PortOutcome};
use crate::ovsdb::{Ovsdb, Remote};
use crate::persist::PlumbState;

/// Longest Linux interface name (IFNAMSIZ - 1).
const MAX_IFNAME: usize = 15;

/// Checks every field before anything is touched; the error names field, value and
/// what would be accepted.
pub fn validate(state: &PlumbState) -> Result<()> {
    let name_ok = (1..=MAX_IFNAME).contains(&state.name.len())
        && state
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !name_ok {
        return Err(NetError::Invalid {
            field: "--name",
            value: state.name.clone(),
            expected: "1 to 15 characters among letters, digits, '-', '_' and '.'",
        });
    }
    Remote::parse(&state.ovsdb)?;
    parse_mac(&state.mac)?;
    if state.iface_id.trim().is_empty() {
        return Err(NetError::Invalid {
            field: "--port-id",
            value: state.iface_id.clone(),
            expected: "the Neutron port id",
        });
    }
    let has_v6 = state.addresses.iter().any(|a| matches!(a, IpNet::V6(_)));
    if let Some(mtu) = state.mtu {
        let min = if has_v6 { 1280 } else { 68 };
        if mtu < min || mtu > 65_535 {
            return Err(NetError::Invalid {
                field: "--mtu",
                value: mtu.to_string(),
                expected: "68 to 65535 (1280 or more with an IPv6 address)",
            });
        }
    }
    if state.addresses.is_empty() {
        return Err(NetError::Invalid {
            field: "--address",
            value: String::new(),
            expected: "at least one CIDR such as 172.16.0.2/24",
        });
    }
    for net in &state.addresses {
        let host_part_zero =
            net.addr() == net.network() && net.prefix_len() < net.max_prefix_len() - 1;
        if host_part_zero || net.addr().is_unspecified() || net.addr().is_multicast() {
            return Err(NetError::Invalid {
                field: "--address",
                value: net.to_string(),
                expected: "a host address with its prefix, such as 172.16.0.2/24 (not the network address)",
            });
        }
    }
    Ok(())
}

fn port_spec(state: &PlumbState) -> Result<InternalPortSpec> {
    Ok(InternalPortSpec {
        bridge: state.bridge.clone(),
        name: state.name.clone(),
        iface_id: state.iface_id.clone(),
        mac: format_mac(&parse_mac(&state.mac)?),
        mtu: state.mtu,
        owner: state.owner.clone(),
    })
}

fn firewall_spec(state: &PlumbState) -> Option<FirewallSpec> {
    state.firewall_port.map(|udp_port| FirewallSpec {
        table: DEFAULT_TABLE.to_owned(),
        iface: state.name.clone(),
        udp_port,
        owner: state.owner.clone(),
    })
}

/// What `setup` did.
#[derive(Debug, Clone, Serialize)]
pub struct SetupReport {
    /// `created`, `unchanged` or `repaired: ...`.
    pub ovs: String,
    /// Kernel changes.
    pub link: Vec<String>,
    /// Whether the firewall table was (re)written.
    pub firewall_written: bool,
    /// OVSDB transactions with a write (0 on a converged system).
    pub ovsdb_write_transactions: u64,
}

impl SetupReport {
    /// True when nothing at all was written.
    pub fn unchanged(&self) -> bool {
        self.ovsdb_write_transactions == 0 && self.link.is_empty() && !self.firewall_written
    }
}

/// Converges the OVS port, the kernel link and the firewall to `state`, each step
/// waiting at most `deadline`.
pub async fn setup(state: &PlumbState, deadline: Duration) -> Result<SetupReport> {
    validate(state)?;
    let spec = port_spec(state)?;
    let db = Ovsdb::connect(&Remote::parse(&state.ovsdb)?, deadline).await?;
    let outcome = ovs::ensure_internal_port(&db, &spec).await?;
    ovs::wait_ofport(&db, &spec.name, deadline).await?;
    let link_spec = LinkSpec {
        name: state.name.clone(),
        mac: parse_mac(&state.mac)?,
        mtu: state.mtu,
        addresses: state.addresses.clone(),
    };
    let link_changes = with_netlink(state.netns.as_deref(), move |handle| async move {
        link::wait_for_link(&handle, &link_spec.name, deadline).await?;
        link::ensure_link(&handle, &link_spec).await
    })
    .await?;
    let firewall_written = match firewall_spec(state) {
        Some(fw) => firewall::ensure_firewall(state.netns.as_deref(), &fw)?,
        None => false,
    };
    Ok(SetupReport {
        ovs: match outcome {
            PortOutcome::Unchanged => "unchanged".to_owned(),
            PortOutcome::Created => "created".to_owned(),
            PortOutcome::Repaired(cols) => format!("repaired {}", cols.join(", ")),
        },
        link: link_changes,
        firewall_written,
        ovsdb_write_transactions: db.write_transactions(),
    })
}

/// Removes what `setup` made: the firewall table and the OVS port (ovs-vswitchd then
/// deletes the kernel netdev). Keeps going past failures and returns all of them.
pub async fn teardown(state: &PlumbState, deadline: Duration) -> (Vec<String>, Vec<NetError>) {
    let (mut done, mut errors) = (Vec::new(), Vec::new());
    if state.firewall_port.is_some() {
        match firewall::ensure_firewall_absent(state.netns.as_deref(), DEFAULT_TABLE, &state.owner)
        {
            Ok(true) => done.push(format!("removed nftables table inet {DEFAULT_TABLE}")),
            Ok(false) => {}
            Err(e) => errors.push(e),
        }
    }
    let removed = async {
        let db = Ovsdb::connect(&Remote::parse(&state.ovsdb)?, deadline).await?;
        ovs::ensure_internal_port_absent(&db, &state.bridge, &state.name, &state.owner).await
    };
    match removed.await {
        Ok(true) => done.push(format!(
            "removed OVS port {} from {}",
            state.name, state.bridge
        )),
        Ok(false) => {}
        Err(e) => errors.push(e),
    }
    (done, errors)
}

/// One property and whether it is as wanted.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The property, e.g. `kernel MTU`.
    pub property: String,
    /// Whether it matches.
    pub ok: bool,
    /// Wanted and seen.
    pub detail: String,
}

/// What `show` found.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    /// The OVSDB Interface row.
    pub ovsdb: Option<PortObserved>,
    /// The kernel netdev.
    pub kernel: Option<LinkObserved>,
    /// The firewall table, as nft lists it.
    pub firewall: Option<String>,
    /// A verdict per property.
    pub verdicts: Vec<Verdict>,
}

/// Observes everything `setup` converges and judges it against `state`.
pub async fn show(state: &PlumbState, deadline: Duration) -> Result<ShowReport> {
    let db = Ovsdb::connect(&Remote::parse(&state.ovsdb)?, deadline).await?;
    let ovsdb = ovs::observe_port(&db, &state.name).await?;
    let name = state.name.clone();
    let kernel = with_netlink(state.netns.as_deref(), move |h| async move {
        link::observe_link(&h, &name).await
    })
    .await?;
    let firewall = firewall::observe_firewall(state.netns.as_deref(), DEFAULT_TABLE)?;
    let verdicts = judge(state, ovsdb.as_ref(), kernel.as_ref(), firewall.as_deref());
    Ok(ShowReport {
        ovsdb,
        kernel,
        firewall,
        verdicts,
    })
}

fn shown<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "nothing".to_owned(), |v| v.to_string())
}

fn judge(
    state: &PlumbState,
    ovsdb: Option<&PortObserved>,
    kernel: Option<&LinkObserved>,
    firewall: Option<&str>,
) -> Vec<Verdict> {
    let mac = parse_mac(&state.mac)
        .map(|m| format_mac(&m))
        .unwrap_or_default();
    let mut v = Vec::new();
    let mut add = |property: &str, ok: bool, wanted: String, seen: String| {
        v.push(Verdict {
            property: property.to_owned(),
            ok,
            detail: format!("wanted {wanted}, seen {seen}"),
        });
    };
    let o = ovsdb.cloned();
    add(
        "OVS interface",
        o.is_some(),
        "present".into(),
        if o.is_some() {
            "present".into()
        } else {
            "absent".into()
        },
    );
    if let Some(o) = &o {
        add(
            "OVS type",
            o.kind == "internal",
            "internal".into(),
            o.kind.clone(),
        );
        add(
            "OVS iface-id",
            o.iface_id.as_deref() == Some(&state.iface_id),
            state.iface_id.clone(),
            shown(o.iface_id.as_ref()),
        );
        add(
            "OVS attached-mac",
            o.attached_mac.as_deref() == Some(&mac),
            mac.clone(),
            shown(o.attached_mac.as_ref()),
        );
        add(
            "OVS iface-status",
            o.iface_status.as_deref() == Some("active"),
            "active".into(),
            shown(o.iface_status.as_ref()),
        );
        add(
            "OVS skip_cleanup",
            o.skip_cleanup.as_deref() == Some("true"),
            "true".into(),
            shown(o.skip_cleanup.as_ref()),
        );
        add(
            "OVS owner",
            o.owner.as_deref() == Some(&state.owner),
            state.owner.clone(),
            shown(o.owner.as_ref()),
        );
        add(
            "OVS mac",
            o.mac.as_deref() == Some(&mac),
            mac.clone(),
            shown(o.mac.as_ref()),
        );
        add(
            "OVS mtu_request",
            o.mtu_request == state.mtu,
            shown(state.mtu),
            shown(o.mtu_request),
        );
        add(
            "OVS ofport",
            o.ofport.is_some_and(|p| p > 0),
            "a port number".into(),
            o.ofport.map_or_else(
                || "nothing (is ovs-vswitchd running?)".to_owned(),
                |p| p.to_string(),
            ),
        );
    }
    add(
        "kernel interface",
        kernel.is_some(),
        "present".into(),
        if kernel.is_some() {
            "present".into()
        } else {
            "absent".into()
        },
    );
    if let Some(k) = kernel {
        add(
            "kernel MAC",
            k.mac.as_deref() == Some(&mac),
            mac.clone(),
            shown(k.mac.as_ref()),
        );
        if let Some(mtu) = state.mtu {
            add(
                "kernel MTU",
                k.mtu == Some(mtu),
                mtu.to_string(),
                shown(k.mtu),
            );
        }
        add(
            "kernel up",
            k.up,
            "up".into(),
            if k.up { "up".into() } else { "down".into() },
        );
        for want in &state.addresses {
            add(
                &format!("address {want}"),
                k.addresses.contains(want),
                "present".into(),
                k.addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    if let Some(spec) = firewall_spec(state) {
        let ok = firewall == Some(spec.ruleset().as_str());
        add(
            "firewall table",
            ok,
            format!("inet {} as octa writes it", spec.table),
            match (ok, firewall.is_some()) {
                (true, _) => "it".into(),
                (false, true) => "a different table (re-run octa net plumb to repair)".into(),
                (false, false) => "no table".into(),
            },
        );
    }
    v
}
