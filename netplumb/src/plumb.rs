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
    // The library's own errors say "MAC" and "OVSDB remote"; here they are flags.
    if Remote::parse(&state.ovsdb).is_err() {
        return Err(NetError::Invalid {
            field: "--ovsdb",
            value: state.ovsdb.clone(),
            expected: "unix:PATH or tcp:HOST:PORT, e.g. unix:/var/run/openvswitch/db.sock",
        });
    }
    if parse_mac(&state.mac).is_err() {
        return Err(NetError::Invalid {
            field: "--mac",
            value: state.mac.clone(),
            expected: "six hex octets such as fa:16:3e:12:34:56 (not multicast, not all zero)",
        });
    }
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
    let netns = state.netns.clone();
    let link_changes = with_netlink(state.netns.as_deref(), move |handle| async move {
        link::wait_for_link(&handle, &link_spec.name, deadline).await?;
        link::ensure_link(&handle, &link_spec, netns.as_deref()).await
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

/// Collects verdicts: each compares what was wanted with what was seen.
struct Judge(Vec<Verdict>);

impl Judge {
    fn add(&mut self, property: &str, ok: bool, wanted: &str, seen: &str) {
        self.0.push(Verdict {
            property: property.to_owned(),
            ok,
            detail: format!("wanted {wanted}, seen {seen}"),
        });
    }

    /// `seen` must equal `wanted`; nothing seen is shown as `nothing`.
    fn equal<T: ToString>(&mut self, property: &str, wanted: &str, seen: Option<T>) {
        let seen = seen.map(|v| v.to_string());
        let ok = seen.as_deref() == Some(wanted);
        self.add(property, ok, wanted, seen.as_deref().unwrap_or("nothing"));
    }

    fn present(&mut self, property: &str, present: bool) {
        let seen = if present { "present" } else { "absent" };
        self.add(property, present, "present", seen);
    }
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
    let mut j = Judge(Vec::new());
    j.present("OVS interface", ovsdb.is_some());
    if let Some(o) = ovsdb {
        judge_ovs(&mut j, state, &mac, o);
    }
    j.present("kernel interface", kernel.is_some());
    if let Some(k) = kernel {
        judge_kernel(&mut j, state, &mac, k);
    }
    if let Some(spec) = firewall_spec(state) {
        let ok = firewall == Some(spec.ruleset().as_str());
        let seen = match (ok, firewall.is_some()) {
            (true, _) => "it",
            (false, true) => "a different table (re-run octa net plumb to repair)",
            (false, false) => "no table",
        };
        let wanted = format!("inet {} as octa writes it", spec.table);
        j.add("firewall table", ok, &wanted, seen);
    }
    j.0
}

fn judge_ovs(j: &mut Judge, state: &PlumbState, mac: &str, o: &PortObserved) {
    j.equal("OVS type", "internal", Some(&o.kind));
    j.equal("OVS iface-id", &state.iface_id, o.iface_id.as_ref());
    j.equal("OVS attached-mac", mac, o.attached_mac.as_ref());
    j.equal("OVS iface-status", "active", o.iface_status.as_ref());
    j.equal("OVS skip_cleanup", "true", o.skip_cleanup.as_ref());
    j.equal("OVS owner", &state.owner, o.owner.as_ref());
    j.equal("OVS mac", mac, o.mac.as_ref());
    match state.mtu {
        Some(mtu) => j.equal("OVS mtu_request", &mtu.to_string(), o.mtu_request),
        None => j.add(
            "OVS mtu_request",
            o.mtu_request.is_none(),
            "nothing",
            &o.mtu_request
                .map_or("nothing".to_owned(), |m| m.to_string()),
        ),
    }
    let seen = o.ofport.map_or_else(
        || "nothing (is ovs-vswitchd running?)".to_owned(),
        |p| p.to_string(),
    );
    let ok = o.ofport.is_some_and(|p| p > 0);
    j.add("OVS ofport", ok, "a port number", &seen);
}

fn judge_kernel(j: &mut Judge, state: &PlumbState, mac: &str, k: &LinkObserved) {
    j.equal("kernel MAC", mac, k.mac.as_ref());
    if let Some(mtu) = state.mtu {
        j.equal("kernel MTU", &mtu.to_string(), k.mtu);
    }
    j.add("kernel up", k.up, "up", if k.up { "up" } else { "down" });
    let seen: Vec<String> = k.addresses.iter().map(ToString::to_string).collect();
    for want in &state.addresses {
        let ok = k.addresses.contains(want);
        j.add(&format!("address {want}"), ok, "present", &seen.join(" "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> PlumbState {
        PlumbState {
            version: crate::persist::STATE_VERSION,
            ovsdb: "unix:/run/openvswitch/db.sock".into(),
            bridge: "br-int".into(),
            name: "o-hm0".into(),
            iface_id: "p1".into(),
            mac: "FA:16:3E:00:00:01".into(),
            mtu: Some(1450),
            addresses: vec!["172.16.0.2/24".parse().unwrap_or_else(|_| unreachable!())],
            netns: None,
            firewall_port: None,
            owner: "octa".into(),
        }
    }

    fn observed() -> (PortObserved, LinkObserved) {
        let mac = Some("fa:16:3e:00:00:01".to_owned());
        let port = PortObserved {
            kind: "internal".into(),
            iface_id: Some("p1".into()),
            attached_mac: mac.clone(),
            iface_status: Some("active".into()),
            skip_cleanup: Some("true".into()),
            owner: Some("octa".into()),
            mac: mac.clone(),
            mtu_request: Some(1450),
            ofport: Some(2),
            error: None,
        };
        let link = LinkObserved {
            index: 7,
            mac,
            mtu: Some(1450),
            up: true,
            addresses: state().addresses,
        };
        (port, link)
    }

    #[test]
    fn every_property_gets_a_verdict_and_drift_fails_only_its_own() {
        let (port, mut link) = observed();
        let all = judge(&state(), Some(&port), Some(&link), None);
        assert_eq!(all.len(), 15);
        assert!(all.iter().all(|v| v.ok), "{all:?}");
        link.mtu = Some(1500);
        let failed: Vec<_> = judge(&state(), Some(&port), Some(&link), None)
            .into_iter()
            .filter(|v| !v.ok)
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].property, "kernel MTU");
        assert_eq!(failed[0].detail, "wanted 1450, seen 1500");
        let absent = judge(&state(), None, None, None);
        assert_eq!(absent.len(), 2);
        assert!(
            absent
                .iter()
                .all(|v| !v.ok && v.detail == "wanted present, seen absent")
        );
    }

    #[test]
    fn bad_input_names_the_flag() {
        let mut s = state();
        s.mac = "01:00:5e:00:00:01".into();
        let err = validate(&s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("Invalid --mac \"01:00:5e:00:00:01\": six hex octets"),
            "{err}"
        );
        let mut s = state();
        s.ovsdb = "ssl:1.2.3.4:6640".into();
        let err = validate(&s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("Invalid --ovsdb \"ssl:1.2.3.4:6640\""),
            "{err}"
        );
        assert!(validate(&state()).is_ok());
    }
}
