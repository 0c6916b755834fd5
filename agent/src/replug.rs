//! Re-plugging after a reboot (`octa-agent replug`, run by `amphora-netns.service`): a
//! rebooted amphora finds its hot-plugged ports back in the root namespace and a fresh,
//! empty amphora namespace. Each port recorded in `base_path/plugged_interfaces`
//! (`<mac> <name>`) is moved back in under its name and configured from its interface
//! file, which is read back into the same `netplumb` spec the plug applied.

use std::path::Path;

use ipnet::IpNet;
use octa_netplumb::hotplug::{IfaceSpec, MAIN_TABLE, RouteSpec, RuleSpec};
use serde_json::Value;

use crate::config::AgentConfig;
use crate::netops::{self, PlugPlan};

fn ip_net(address: &Value, prefix: &Value) -> Option<IpNet> {
    let ip = address.as_str()?.parse().ok()?;
    IpNet::new(ip, u8::try_from(prefix.as_u64()?).ok()?).ok()
}

/// An interface file (as `ifaces::interface_file` writes it, and stock's agent too) as
/// the spec to apply; `None` if it is not one.
pub fn spec_from_file(file: &Value) -> Option<IfaceSpec> {
    let mut spec = IfaceSpec {
        name: file["name"].as_str()?.to_owned(),
        mtu: file["mtu"].as_u64().and_then(|m| u32::try_from(m).ok()),
        ..IfaceSpec::default()
    };
    for a in file["addresses"].as_array()? {
        // A DHCP/SLAAC entry has no address: a spec without any starts the DHCP client.
        let Some(net) = ip_net(&a["address"], &a["prefixlen"]) else {
            continue;
        };
        if a["octavia_owned"] == Value::Bool(false) {
            spec.foreign_addresses.push(net);
        } else {
            spec.addresses.push(net);
        }
    }
    for r in file["routes"].as_array()? {
        let dst: IpNet = r["dst"].as_str()?.parse().ok()?;
        let ip = |key: &str| r[key].as_str().and_then(|s| s.parse().ok());
        spec.routes.push(RouteSpec {
            dst: dst.trunc(),
            gateway: ip("gateway"),
            prefsrc: ip("prefsrc"),
            table: r["table"]
                .as_u64()
                .and_then(|t| u32::try_from(t).ok())
                .unwrap_or(MAIN_TABLE),
            onlink: r["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "onlink")),
            link_scope: r["scope"] == "link",
        });
    }
    for r in file["rules"].as_array()? {
        spec.rules.push(RuleSpec {
            src: ip_net(&r["src"], &r["src_len"])?,
            table: u32::try_from(r["table"].as_u64()?).ok()?,
        });
    }
    Some(spec)
}

/// Moves every recorded port back into the amphora namespace and configures it; one line
/// per port saying what happened. Errors are per port: the others are still plugged.
pub async fn replug(config: &AgentConfig) -> (Vec<String>, usize) {
    let recorded =
        std::fs::read_to_string(config.base_path.join("plugged_interfaces")).unwrap_or_default();
    let inside = netops::links(config.namespace.as_deref()).await;
    let mut report = Vec::new();
    let mut failures = 0;
    for line in recorded.lines() {
        let Some((mac, name)) = line.split_once(' ') else {
            continue;
        };
        let done = plug_one(config, mac, name, &inside).await;
        if done.is_err() {
            failures += 1;
        }
        report.push(match done {
            Ok(what) => format!("{name} ({mac}): {what}"),
            Err(e) => format!("{name} ({mac}): FAILED: {e}"),
        });
    }
    (report, failures)
}

async fn plug_one(
    config: &AgentConfig,
    mac: &str,
    name: &str,
    inside: &[octa_netplumb::hotplug::LinkSummary],
) -> Result<&'static str, String> {
    let path = config.network_dir.join(format!("{name}.json"));
    let spec = read_spec(&path)?;
    let moving = config.namespace.is_some() && !inside.iter().any(|l| l.mac == mac);
    if moving && !netops::links(None).await.iter().any(|l| l.mac == mac) {
        return Err("no link with this MAC (not hot-plugged yet?)".to_owned());
    }
    let plan = PlugPlan {
        mac: mac.to_owned(),
        namespace: config.namespace.clone(),
        moving,
        iface: spec,
    };
    netops::plug(&plan).await?;
    Ok(if moving {
        "moved in and configured"
    } else {
        "configured"
    })
}

fn read_spec(path: &Path) -> Result<IfaceSpec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    spec_from_file(&json).ok_or_else(|| format!("{}: not an interface file", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ifaces::{Vip, interface_file, vip_iface};

    #[test]
    fn an_interface_file_reads_back_as_the_spec_that_wrote_it() {
        let vip = Vip {
            ip: "203.0.113.10".parse().expect("literal"),
            prefixlen: 24,
            gateway: Some("203.0.113.1".parse().expect("literal")),
            host_routes: vec![(
                "198.51.100.0/24".parse().expect("literal"),
                "203.0.113.254".parse().expect("literal"),
            )],
        };
        let vrrp = Some("203.0.113.5/24".parse().expect("literal"));
        for active_standby in [false, true] {
            let spec = vip_iface(
                "eth1",
                Some(1450),
                std::slice::from_ref(&vip),
                vrrp,
                &[],
                active_standby,
            );
            let file = interface_file(&spec, &[4]);
            assert_eq!(spec_from_file(&file), Some(spec));
        }
        assert_eq!(spec_from_file(&serde_json::json!({"name": 1})), None);
    }

    #[test]
    fn a_dhcp_port_reads_back_as_a_spec_that_asks_dhcp_again() {
        let spec = crate::ifaces::port_iface("eth2", Some(1450), &[]);
        let file = interface_file(&spec, &[4, 6]);
        let read = spec_from_file(&file).expect("an interface file");
        assert!(crate::ifaces::asks_dhcp(&read));
        assert_eq!(read, spec);
    }
}
