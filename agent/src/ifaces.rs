//! The stock interface layouts of plugged ports (Zed's `VIPInterfaceFile` and
//! `PortInterfaceFile`), as `netplumb` specs to apply and as the JSON interface file
//! stock's `amphora-interface` reads when an amphora image re-plugs after a reboot:
//!
//! - VIP port: the VRRP address with its subnet prefix; each VIP as /32 or /128 (owned
//!   by keepalived under ACTIVE_STANDBY, so neither added nor removed then); the VIP
//!   subnet on-link; a default route through the gateway (on-link); host routes.
//!   Outside ACTIVE_STANDBY, policy routing answers from the VIP the way it came in:
//!   table 1 holds the default route, the on-link subnet with the VIP as preferred
//!   source and the host routes, and a rule sends traffic from the VIP to table 1.
//! - Member port: its fixed addresses with their subnet prefix and host routes.

use std::net::IpAddr;

use ipnet::IpNet;
use octa_netplumb::hotplug::{IfaceSpec, MAIN_TABLE, RouteSpec, RuleSpec};
use serde_json::{Value, json};

/// The VIP policy-routing table.
pub const VIP_TABLE: u32 = 1;

/// One VIP with what its subnet says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    /// The address.
    pub ip: IpAddr,
    /// Its subnet's prefix length.
    pub prefixlen: u8,
    /// The subnet's gateway.
    pub gateway: Option<IpAddr>,
    /// The subnet's host routes: (destination, next hop).
    pub host_routes: Vec<(IpNet, IpAddr)>,
}

/// One fixed address of a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixed {
    /// Address and subnet prefix.
    pub address: IpNet,
    /// The subnet's gateway (used for VIP-network ports only, as stock).
    pub gateway: Option<IpAddr>,
    /// Host routes.
    pub host_routes: Vec<(IpNet, IpAddr)>,
}

fn host_net(ip: IpAddr) -> IpNet {
    IpNet::from(ip)
}

fn default_net(ip: IpAddr) -> IpNet {
    let any = if ip.is_ipv4() {
        IpAddr::from([0u8; 4])
    } else {
        IpAddr::from([0u8; 16])
    };
    IpNet::new(any, 0).unwrap_or_else(|_| IpNet::from(any))
}

fn via(dst: IpNet, gateway: IpAddr, table: u32) -> RouteSpec {
    RouteSpec {
        dst,
        gateway: Some(gateway),
        prefsrc: None,
        table,
        onlink: true,
        link_scope: false,
    }
}

fn host_routes(routes: &[(IpNet, IpAddr)], table: u32) -> impl Iterator<Item = RouteSpec> + '_ {
    routes.iter().map(move |(dst, hop)| via(*dst, *hop, table))
}

/// The VIP interface: `vrrp` is this amphora's own address on the VIP subnet.
pub fn vip_iface(
    name: &str,
    mtu: Option<u32>,
    vips: &[Vip],
    vrrp: Option<IpNet>,
    fixed: &[Fixed],
    active_standby: bool,
) -> IfaceSpec {
    let mut spec = IfaceSpec {
        name: name.to_owned(),
        mtu,
        addresses: vrrp.into_iter().collect(),
        ..IfaceSpec::default()
    };
    for vip in vips {
        if let Some(gw) = vip.gateway {
            spec.routes.push(via(default_net(vip.ip), gw, MAIN_TABLE));
            if !active_standby {
                spec.routes.push(via(default_net(vip.ip), gw, VIP_TABLE));
            }
        }
        if active_standby {
            spec.foreign_addresses.push(host_net(vip.ip));
        } else {
            spec.addresses.push(host_net(vip.ip));
        }
        let subnet = IpNet::new(vip.ip, vip.prefixlen)
            .map(|n| n.trunc())
            .unwrap_or_else(|_| host_net(vip.ip));
        spec.routes.push(RouteSpec {
            dst: subnet,
            gateway: None,
            prefsrc: None,
            table: MAIN_TABLE,
            onlink: false,
            link_scope: true,
        });
        if !active_standby {
            spec.routes.push(RouteSpec {
                dst: subnet,
                gateway: None,
                prefsrc: Some(vip.ip),
                table: VIP_TABLE,
                onlink: false,
                link_scope: true,
            });
            spec.rules.push(RuleSpec {
                src: host_net(vip.ip),
                table: VIP_TABLE,
            });
        }
        spec.routes
            .extend(host_routes(&vip.host_routes, MAIN_TABLE));
        spec.routes.extend(host_routes(&vip.host_routes, VIP_TABLE));
    }
    for f in fixed {
        spec.addresses.push(f.address);
        if let Some(gw) = f.gateway {
            spec.routes.push(via(default_net(gw), gw, MAIN_TABLE));
            if !active_standby {
                spec.routes.push(via(default_net(gw), gw, VIP_TABLE));
            }
        }
        spec.routes.extend(host_routes(&f.host_routes, MAIN_TABLE));
    }
    spec
}

/// A member-network interface.
pub fn port_iface(name: &str, mtu: Option<u32>, fixed: &[Fixed]) -> IfaceSpec {
    let mut spec = IfaceSpec {
        name: name.to_owned(),
        mtu,
        ..IfaceSpec::default()
    };
    for f in fixed {
        spec.addresses.push(f.address);
        spec.routes.extend(host_routes(&f.host_routes, MAIN_TABLE));
    }
    spec
}

/// A port plugged without any static address gets its addresses from DHCP and SLAAC.
pub fn asks_dhcp(spec: &IfaceSpec) -> bool {
    spec.addresses.is_empty() && spec.foreign_addresses.is_empty()
}

/// The interface file stock's `amphora-interface` reads (`/etc/octavia/interfaces/
/// <name>.json`), for `spec`. Without static addresses the port asks DHCP (stock's
/// `dhcp`/`ipv6auto` entries, which its `amphora-interface` acts on).
pub fn interface_file(spec: &IfaceSpec, families: &[u8]) -> Value {
    let mut addresses: Vec<Value> = Vec::new();
    for net in &spec.addresses {
        let mut a = json!({"address": net.addr().to_string(), "prefixlen": net.prefix_len()});
        if net.prefix_len() == net.max_prefix_len() {
            a["octavia_owned"] = json!(true);
        }
        addresses.push(a);
    }
    for net in &spec.foreign_addresses {
        addresses.push(json!({"address": net.addr().to_string(), "prefixlen": net.prefix_len(), "octavia_owned": false}));
    }
    if asks_dhcp(spec) {
        addresses.push(json!({"dhcp": true, "ipv6auto": true}));
    }
    let routes: Vec<Value> = spec
        .routes
        .iter()
        .map(|r| {
            let mut route = json!({"dst": r.dst.to_string()});
            if let Some(gw) = r.gateway {
                route["gateway"] = json!(gw.to_string());
            }
            if r.onlink {
                route["flags"] = json!(["onlink"]);
            }
            if let Some(src) = r.prefsrc {
                route["prefsrc"] = json!(src.to_string());
            }
            if r.link_scope {
                route["scope"] = json!("link");
            }
            if r.table != MAIN_TABLE {
                route["table"] = json!(r.table);
            }
            route
        })
        .collect();
    let rules: Vec<Value> = spec
        .rules
        .iter()
        .map(|r| json!({"src": r.src.addr().to_string(), "src_len": r.src.prefix_len(), "table": r.table}))
        .collect();
    let script = |verb: &str| -> Vec<Value> {
        families
            .iter()
            .map(|f| {
                let family = if *f == 6 { "ipv6" } else { "ipv4" };
                json!({"command": format!("octavia-agent-lvs-masquerade {verb} {family} {}", spec.name)})
            })
            .collect()
    };
    let mut file = json!({
        "name": spec.name,
        "addresses": addresses,
        "routes": routes,
        "rules": rules,
        "scripts": {"up": script("add"), "down": script("delete")},
    });
    if let Some(mtu) = spec.mtu {
        file["mtu"] = json!(mtu);
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().expect("literal")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("literal")
    }

    fn vip() -> Vip {
        Vip {
            ip: ip("203.0.113.10"),
            prefixlen: 24,
            gateway: Some(ip("203.0.113.1")),
            host_routes: vec![(net("198.51.100.0/24"), ip("203.0.113.254"))],
        }
    }

    #[test]
    fn single_topology_routes_vip_traffic_through_table_1() {
        let spec = vip_iface(
            "eth1",
            Some(1450),
            &[vip()],
            Some(net("203.0.113.5/24")),
            &[],
            false,
        );
        assert_eq!(
            spec.addresses,
            [net("203.0.113.5/24"), net("203.0.113.10/32")]
        );
        assert_eq!(
            spec.rules,
            [RuleSpec {
                src: net("203.0.113.10/32"),
                table: 1
            }]
        );
        let table1: Vec<_> = spec
            .routes
            .iter()
            .filter(|r| r.table == VIP_TABLE)
            .collect();
        assert_eq!(
            table1.len(),
            3,
            "default, on-link subnet with VIP source, host route"
        );
        assert!(table1.iter().any(|r| r.dst == net("0.0.0.0/0") && r.onlink));
        assert!(
            table1
                .iter()
                .any(|r| r.prefsrc == Some(ip("203.0.113.10")) && r.link_scope)
        );
        let file = interface_file(&spec, &[4]);
        assert_eq!(
            file["rules"],
            json!([{"src": "203.0.113.10", "src_len": 32, "table": 1}])
        );
        assert_eq!(file["addresses"][1]["octavia_owned"], json!(true));
        assert_eq!(file["mtu"], json!(1450));
        assert_eq!(
            file["scripts"]["up"][0]["command"],
            json!("octavia-agent-lvs-masquerade add ipv4 eth1")
        );
    }

    #[test]
    fn active_standby_leaves_the_vip_and_table_1_to_keepalived() {
        let spec = vip_iface(
            "eth1",
            None,
            &[vip()],
            Some(net("203.0.113.5/24")),
            &[],
            true,
        );
        assert_eq!(spec.addresses, [net("203.0.113.5/24")]);
        assert_eq!(spec.foreign_addresses, [net("203.0.113.10/32")]);
        assert!(spec.rules.is_empty());
        // Host routes go to both tables whatever the topology, as stock writes them.
        assert_eq!(
            spec.routes.iter().filter(|r| r.table == VIP_TABLE).count(),
            1
        );
        let file = interface_file(&spec, &[4]);
        assert_eq!(file["addresses"][1]["octavia_owned"], json!(false));
    }

    #[test]
    fn a_port_without_fixed_ips_asks_dhcp() {
        let spec = port_iface("eth2", None, &[]);
        let file = interface_file(&spec, &[4, 6]);
        assert_eq!(file["addresses"], json!([{"dhcp": true, "ipv6auto": true}]));
        assert_eq!(file["scripts"]["down"].as_array().map(Vec::len), Some(2));
    }
}
