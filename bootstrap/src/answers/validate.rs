//! Checks of `Answers` that types cannot express: ranges, addresses that must fall inside
//! (or outside) the management subnet, names Linux or OVS would refuse. Every problem is
//! collected, so an operator fixes a playbook in one pass.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use ipnet::IpNet;

use super::{AllocationPool, Answers, PLAYBOOK_VERSION, nth_host};

/// One thing wrong with the answers: the dotted key path and a message naming the bad
/// value and what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Longest Linux interface name (IFNAMSIZ - 1).
const IFNAME_MAX: usize = 15;
const NETWORK_TYPES: [&str; 4] = ["vxlan", "geneve", "vlan", "flat"];
const KEY_TYPES: [&str; 2] = ["rsa4096", "ec-p384"];
const ENDPOINT_INTERFACES: [&str; 3] = ["public", "internal", "admin"];

/// Every problem of `answers`; empty when they are valid.
pub fn validate(answers: &Answers) -> Vec<Problem> {
    let mut out = Problems::default();
    check_top(answers, &mut out);
    check_cloud(answers, &mut out);
    check_network(answers, &mut out);
    if cidr_usable(&answers.mgmt_network.cidr) {
        check_pool(answers, &mut out);
        check_hm_address(answers, &mut out);
        check_peers(answers, &mut out);
    }
    check_interface(answers, &mut out);
    check_security_groups(answers, &mut out);
    check_pki(answers, &mut out);
    check_health_manager(answers, &mut out);
    check_amphora(answers, &mut out);
    out.0
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    fn non_empty(&mut self, key: &str, value: &str) {
        if value.trim().is_empty() {
            self.push(
                key,
                "is empty; give a name, or leave the key out for the default",
            );
        }
    }

    fn absolute(&mut self, key: &str, path: &Path) {
        if !path.is_absolute() {
            self.push(
                key,
                format!(
                    "{:?} is relative; use an absolute path such as /var/lib/octa",
                    path.display().to_string()
                ),
            );
        }
    }
}

fn check_top(a: &Answers, out: &mut Problems) {
    if a.version != PLAYBOOK_VERSION {
        out.push(
            "version",
            format!(
                "{} is not supported by this octa; use {PLAYBOOK_VERSION}",
                a.version
            ),
        );
    }
    if let Some(d) = &a.deployment
        && !is_deployment_id(d)
    {
        out.push(
            "deployment",
            format!("{d:?} is not a deployment id; use 1-32 characters a-z, 0-9 and '-', starting with a letter or digit"),
        );
    }
    out.absolute("state_dir", &a.state_dir);
    if let Some(h) = &a.host {
        out.non_empty("host", h);
    }
}

/// `^[a-z0-9][a-z0-9-]{0,31}$`
fn is_deployment_id(s: &str) -> bool {
    let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = s.as_bytes();
    matches!(bytes.first(), Some(&b) if ok(b))
        && bytes.len() <= 32
        && bytes.iter().all(|&b| ok(b) || b == b'-')
}

fn check_cloud(a: &Answers, out: &mut Problems) {
    let Some(c) = &a.cloud else { return };
    out.non_empty("cloud.name", &c.name);
    if let Some(r) = &c.region {
        out.non_empty("cloud.region", r);
    }
    if let Some(i) = &c.interface
        && !ENDPOINT_INTERFACES.contains(&i.as_str())
    {
        out.push(
            "cloud.interface",
            format!("{i:?} is not an endpoint interface; use public, internal or admin"),
        );
    }
    if let Some(p) = &c.cacert {
        out.absolute("cloud.cacert", p);
    }
}

fn check_network(a: &Answers, out: &mut Problems) {
    let n = &a.mgmt_network;
    out.non_empty("mgmt_network.name", &n.name);
    out.non_empty("mgmt_network.subnet_name", &n.subnet_name);
    check_cidr(&n.cidr, out);
    check_segmentation(a, out);
    check_mtu(a, out);
}

fn check_cidr(cidr: &IpNet, out: &mut Problems) {
    let key = "mgmt_network.cidr";
    if cidr.addr() != cidr.network() {
        out.push(
            key,
            format!("\"{cidr}\" has host bits set; use {}", cidr.trunc()),
        );
    }
    let (max, family) = match cidr {
        IpNet::V4(_) => (29, "IPv4"),
        IpNet::V6(_) => (120, "IPv6"),
    };
    if cidr.prefix_len() > max {
        out.push(
            key,
            format!(
                "\"{cidr}\" is too small for the health-manager addresses and a pool; use an {family} prefix of /{max} or shorter (e.g. /24)"
            ),
        );
    }
}

/// Whether address checks against the CIDR make sense (it is a proper network).
fn cidr_usable(cidr: &IpNet) -> bool {
    cidr.addr() == cidr.network()
}

fn check_segmentation(a: &Answers, out: &mut Problems) {
    let n = &a.mgmt_network;
    let t = n.network_type.as_str();
    if !NETWORK_TYPES.contains(&t) {
        out.push(
            "mgmt_network.type",
            format!("{t:?} is not a network type; use vxlan, geneve, vlan or flat"),
        );
        return;
    }
    if let Some(id) = n.segmentation_id {
        let range = match t {
            "vxlan" | "geneve" => Some(1..=16_777_215),
            "vlan" => Some(1..=4094),
            _ => None,
        };
        match range {
            None => out.push(
                "mgmt_network.segmentation_id",
                format!("{id} given for a flat network; flat networks have none, remove it"),
            ),
            Some(r) if !r.contains(&id) => out.push(
                "mgmt_network.segmentation_id",
                format!(
                    "{id} is out of range for {t}; use {}-{}",
                    r.start(),
                    r.end()
                ),
            ),
            Some(_) => {}
        }
    }
    match (t, &n.physical_network) {
        ("vlan" | "flat", None) => out.push(
            "mgmt_network.physical_network",
            format!("is required for a {t} network; name the provider network (e.g. physnet1)"),
        ),
        ("vlan" | "flat", Some(p)) => out.non_empty("mgmt_network.physical_network", p),
        (_, Some(p)) => out.push(
            "mgmt_network.physical_network",
            format!("{p:?} is only for vlan and flat networks; remove it for {t}"),
        ),
        _ => {}
    }
}

fn check_mtu(a: &Answers, out: &mut Problems) {
    let Some(mtu) = a.mgmt_network.mtu else {
        return;
    };
    let min = if a.mgmt_network.cidr.addr().is_ipv6() {
        1280
    } else {
        68
    };
    if !(min..=9216).contains(&mtu) {
        out.push(
            "mgmt_network.mtu",
            format!("{mtu} is out of range; use {min}-9216 (or leave it out for Neutron's choice)"),
        );
    }
}

fn check_pool(a: &Answers, out: &mut Problems) {
    let cidr = &a.mgmt_network.cidr;
    let pool = a.allocation_pool();
    let explicit = a.mgmt_network.allocation_pool.is_some();
    let key = |end: &str| {
        if explicit {
            format!("mgmt_network.allocation_pool.{end}")
        } else {
            "mgmt_network.allocation_pool".to_owned()
        }
    };
    let default_note = if explicit {
        ""
    } else {
        " (the default pool); set mgmt_network.allocation_pool"
    };
    let mut inside = true;
    for (end, ip) in [("start", pool.start), ("end", pool.end)] {
        if !host_in(cidr, ip) {
            inside = false;
            out.push(
                key(end),
                format!("{ip} is outside {cidr} or is its network/broadcast address{default_note}; use an address from {} to {}", nth_host(cidr, 1), super::last_host(cidr)),
            );
        }
    }
    if inside && pool.start > pool.end {
        out.push(
            key("start"),
            format!(
                "{} is after end {}; start must not be after end",
                pool.start, pool.end
            ),
        );
    }
}

/// `ip` is a usable host of `cidr` (not its network address, not the IPv4 broadcast).
fn host_in(cidr: &IpNet, ip: IpAddr) -> bool {
    let broadcast = matches!(cidr, IpNet::V4(_)) && ip == cidr.broadcast();
    cidr.contains(&ip) && ip != cidr.network() && !broadcast
}

fn in_pool(pool: &AllocationPool, ip: IpAddr) -> bool {
    pool.start <= ip && ip <= pool.end && pool.start.is_ipv4() == ip.is_ipv4()
}

fn check_hm_address(a: &Answers, out: &mut Problems) {
    let cidr = &a.mgmt_network.cidr;
    let ip = a.hm_address();
    let note = if a.health_manager.address.is_some() {
        ""
    } else {
        " (the default: the subnet's 2nd address); set health_manager.address"
    };
    let key = "health_manager.address";
    if !cidr.contains(&ip) {
        out.push(
            key,
            format!("{ip} is outside mgmt_network.cidr {cidr}{note}; use an address inside it"),
        );
    } else if !host_in(cidr, ip) {
        out.push(
            key,
            format!("{ip} is the network or broadcast address of {cidr}{note}; use a host address"),
        );
    } else if in_pool(&a.allocation_pool(), ip) {
        let p = a.allocation_pool();
        out.push(
            key,
            format!(
                "{ip} is inside the allocation pool {}-{}{note}; use an address outside the pool",
                p.start, p.end
            ),
        );
    }
}

fn check_peers(a: &Answers, out: &mut Problems) {
    let cidr = &a.mgmt_network.cidr;
    let ours = a.hm_address();
    let pool = a.allocation_pool();
    for (i, &ip) in a.health_manager.peers.iter().enumerate() {
        let key = format!("health_manager.peers[{i}]");
        if ip == ours {
            out.push(
                key,
                format!("{ip} is this controller's own address; list only the other controllers"),
            );
        } else if a.health_manager.peers[..i].contains(&ip) {
            out.push(
                key,
                format!("{ip} is listed twice; list each controller once"),
            );
        } else if !host_in(cidr, ip) {
            out.push(key, format!("{ip} is not a host address of mgmt_network.cidr {cidr}; use the peer's health-manager address"));
        } else if in_pool(&pool, ip) {
            out.push(key, format!("{ip} is inside the allocation pool {}-{}; health-manager addresses must be outside it", pool.start, pool.end));
        }
    }
}

fn check_interface(a: &Answers, out: &mut Problems) {
    let i = &a.interface;
    check_ifname("interface.name", &i.name, out);
    check_ifname("interface.bridge", &i.bridge, out);
    if !is_ovsdb_remote(&i.ovsdb) {
        out.push(
            "interface.ovsdb",
            format!("{:?} is not an OVSDB remote; use unix:/absolute/path or tcp:IP:PORT (e.g. unix:/var/run/openvswitch/db.sock)", i.ovsdb),
        );
    }
}

fn check_ifname(key: &str, name: &str, out: &mut Problems) {
    let why = if name.is_empty() {
        Some("is empty".to_owned())
    } else if name.len() > IFNAME_MAX {
        Some(format!("{name:?} is {} bytes long", name.len()))
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Some(format!("{name:?} contains '/', ':' or whitespace"))
    } else {
        None
    };
    if let Some(why) = why {
        out.push(
            key,
            format!("{why}; use 1-{IFNAME_MAX} bytes without '/', ':' or whitespace (e.g. o-hm0)"),
        );
    }
}

fn is_ovsdb_remote(s: &str) -> bool {
    if let Some(path) = s.strip_prefix("unix:") {
        return Path::new(path).is_absolute();
    }
    s.strip_prefix("tcp:")
        .and_then(|rest| rest.parse::<SocketAddr>().ok())
        .is_some_and(|sa| sa.port() != 0)
}

fn check_security_groups(a: &Answers, out: &mut Problems) {
    let s = &a.security_groups;
    out.non_empty("security_groups.amphora", &s.amphora);
    out.non_empty("security_groups.health_manager", &s.health_manager);
    if !s.amphora.trim().is_empty() && s.amphora == s.health_manager {
        out.push(
            "security_groups.health_manager",
            format!(
                "{:?} is also the amphora group's name; give the two groups different names",
                s.health_manager
            ),
        );
    }
}

fn check_pki(a: &Answers, out: &mut Problems) {
    out.absolute("pki.dir", &a.pki.dir);
    let k = &a.pki.key_type;
    if !KEY_TYPES.contains(&k.as_str()) {
        out.push(
            "pki.key_type",
            format!("{k:?} is not a key type; use rsa4096 or ec-p384"),
        );
    }
}

fn check_health_manager(a: &Answers, out: &mut Problems) {
    let h = &a.health_manager;
    if h.port == 0 {
        out.push(
            "health_manager.port",
            "0 is not a port; use 1-65535 (default 5555)",
        );
    }
    if let Some(n) = &h.port_name {
        out.non_empty("health_manager.port_name", n);
    }
    if let Some(p) = &h.heartbeat_key_file {
        out.absolute("health_manager.heartbeat_key_file", p);
    }
}

fn check_amphora(a: &Answers, out: &mut Problems) {
    let Some(am) = &a.amphora else { return };
    for (key, v) in [
        ("amphora.flavor", &am.flavor),
        ("amphora.image_tag", &am.image_tag),
        ("amphora.keypair", &am.keypair),
    ] {
        if let Some(v) = v {
            out.non_empty(key, v);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::answers::{Answers, MgmtNetwork};

    fn answers(cidr: &str) -> Answers {
        let text = format!("version: 1\nmgmt_network:\n  cidr: {cidr}\n");
        serde_saphyr::from_str(&text).unwrap()
    }

    fn keys(a: &Answers) -> Vec<String> {
        validate(a).into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert!(validate(&answers("172.31.0.0/24")).is_empty());
        assert!(validate(&answers("fd00:31::/64")).is_empty());
    }

    #[test]
    fn deployment_id_pattern() {
        assert!(is_deployment_id("a"));
        assert!(is_deployment_id("lab-1"));
        assert!(!is_deployment_id("-lab"));
        assert!(!is_deployment_id("Lab"));
        assert!(!is_deployment_id(&"a".repeat(33)));
        assert!(is_deployment_id(&"a".repeat(32)));
    }

    #[test]
    fn small_cidr_breaks_default_pool() {
        let a = answers("172.31.0.0/29");
        assert_eq!(keys(&a), ["mgmt_network.allocation_pool"]);
        let a = answers("172.31.0.0/30");
        assert!(keys(&a).contains(&"mgmt_network.cidr".to_owned()));
    }

    #[test]
    fn segmentation_rules() {
        let mut a = answers("172.31.0.0/24");
        a.mgmt_network = MgmtNetwork {
            network_type: "flat".into(),
            segmentation_id: Some(5),
            ..a.mgmt_network
        };
        assert_eq!(
            keys(&a),
            [
                "mgmt_network.segmentation_id",
                "mgmt_network.physical_network"
            ]
        );
        a.mgmt_network.network_type = "geneve".into();
        a.mgmt_network.segmentation_id = Some(16_777_216);
        a.mgmt_network.physical_network = Some("physnet1".into());
        assert_eq!(
            keys(&a),
            [
                "mgmt_network.segmentation_id",
                "mgmt_network.physical_network"
            ]
        );
        a.mgmt_network.network_type = "gre".into();
        assert_eq!(keys(&a), ["mgmt_network.type"]);
    }

    #[test]
    fn mtu_bounds_depend_on_family() {
        let mut a = answers("fd00::/64");
        a.mgmt_network.mtu = Some(1279);
        assert_eq!(keys(&a), ["mgmt_network.mtu"]);
        let mut a = answers("10.0.0.0/24");
        a.mgmt_network.mtu = Some(68);
        assert!(keys(&a).is_empty());
        a.mgmt_network.mtu = Some(9217);
        assert_eq!(keys(&a), ["mgmt_network.mtu"]);
    }

    #[test]
    fn ovsdb_remotes() {
        assert!(is_ovsdb_remote("unix:/run/openvswitch/db.sock"));
        assert!(is_ovsdb_remote("tcp:127.0.0.1:6640"));
        assert!(is_ovsdb_remote("tcp:[::1]:6640"));
        assert!(!is_ovsdb_remote("unix:db.sock"));
        assert!(!is_ovsdb_remote("tcp:127.0.0.1"));
        assert!(!is_ovsdb_remote("tcp:127.0.0.1:0"));
        assert!(!is_ovsdb_remote("ssl:127.0.0.1:6640"));
    }

    #[test]
    fn peers_checked() {
        let mut a = answers("10.0.0.0/24");
        a.health_manager.peers = vec![
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
            "10.0.1.3".parse().unwrap(),
            "10.0.0.200".parse().unwrap(),
        ];
        assert_eq!(
            keys(&a),
            [
                "health_manager.peers[0]",
                "health_manager.peers[2]",
                "health_manager.peers[3]",
                "health_manager.peers[4]"
            ]
        );
    }

    #[test]
    fn interface_names() {
        let mut out = Problems::default();
        check_ifname("k", "o-hm0", &mut out);
        check_ifname("k", "", &mut out);
        check_ifname("k", "a/b", &mut out);
        check_ifname("k", "a b", &mut out);
        check_ifname("k", "a:b", &mut out);
        check_ifname("k", "sixteen-bytes-xx", &mut out);
        assert_eq!(out.0.len(), 5);
    }
}
