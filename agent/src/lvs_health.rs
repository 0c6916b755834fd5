//! The LVS (UDP, SCTP) listeners' part of a heartbeat, found as stock's
//! `keepalivedlvs_query` finds it: every listener whose keepalived runs and that is not
//! disabled in its configuration is reported `OPEN` (the health manager counts it, and
//! an amphora that reports fewer listeners than it expects is never marked healthy);
//! its pool's members get their status from the configuration (enabled, disabled,
//! health-monitored) and from the kernel's IPVS table, `/proc/net/ip_vs` in the
//! configuration's `net_namespace`.
//!
//! Byte and connection totals come from `ipvsadm --stats` in stock; octa reports the
//! active connections from the kernel table and leaves the totals at 0.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use octa_netplumb::netns::NetnsGuard;
use octa_proto::heartbeat::{ListenerHealth, ListenerStats, PoolHealth};

use crate::keepalived::KeepalivedPaths;
use crate::lvs;

/// What a listener's keepalived configuration (rendered by Octavia's LVS template) says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LvsConfig {
    /// Its `net_namespace`.
    pub namespace: Option<String>,
    /// `# Listener <id> is disabled`: nothing to report.
    pub listener_disabled: bool,
    /// The first address of each `virtual_server_group`, `ip:port` (`[ip]:port` for IPv6).
    pub listener_ipports: Vec<String>,
    /// `# Configuration for Pool <id>` (absent for a disabled pool or none).
    pub pool: Option<String>,
    /// Members in order: enabled ones with their `real_server` address, then disabled
    /// ones without.
    pub members: Vec<(String, Option<String>)>,
    /// A health monitor checks the members (a `MISC_CHECK`, `HTTP_GET` or `TCP_CHECK`).
    pub health_monitor: bool,
}

/// `ip:port`, IPv6 in brackets, compressed: how addresses are compared.
fn ipport(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

fn address_line(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let ip: IpAddr = words.next()?.parse().ok()?;
    let port: u16 = words.next()?.parse().ok()?;
    Some(ipport(ip, port))
}

/// The id after `prefix` in a `# ...` comment line.
fn comment_id<'a>(line: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    let rest = line.trim().strip_prefix('#')?.trim().strip_prefix(prefix)?;
    let id = rest.trim().strip_suffix(suffix)?.trim();
    (!id.is_empty() && !id.contains(char::is_whitespace)).then_some(id)
}

/// Reads a configuration as stock's query does.
pub fn parse(config: &str) -> LvsConfig {
    let mut cfg = LvsConfig::default();
    let mut enabled = Vec::new();
    let mut disabled = Vec::new();
    let mut real_servers = Vec::new();
    let mut lines = config.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if let Some(ns) = trimmed.strip_prefix("net_namespace ") {
            cfg.namespace = Some(ns.trim().to_owned());
        } else if comment_id(line, "Listener", "is disabled").is_some() {
            cfg.listener_disabled = true;
        } else if trimmed.starts_with("virtual_server_group ") && trimmed.ends_with('{') {
            if let Some(first) = lines.peek().and_then(|l| address_line(l)) {
                cfg.listener_ipports.push(first);
            }
        } else if let Some(id) = comment_id(line, "Configuration for Pool", "") {
            cfg.pool.get_or_insert_with(|| id.to_owned());
        } else if let Some(id) = comment_id(line, "Configuration for Member", "") {
            enabled.push(id.to_owned());
        } else if let Some(id) = comment_id(line, "Member", "is disabled") {
            disabled.push(id.to_owned());
        } else if let Some(rest) = trimmed.strip_prefix("real_server ") {
            real_servers.push(address_line(rest));
        } else if ["MISC_CHECK", "HTTP_GET", "TCP_CHECK"]
            .iter()
            .any(|c| trimmed.starts_with(c))
        {
            cfg.health_monitor = true;
        }
    }
    let mut addresses = real_servers.into_iter();
    cfg.members = enabled
        .into_iter()
        .map(|id| (id, addresses.next().flatten()))
        .chain(disabled.into_iter().map(|id| (id, None)))
        .collect();
    cfg
}

/// One real server of the kernel's IPVS table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealServer {
    /// Its weight (0: draining).
    pub weight: u32,
    /// Active connections.
    pub active: u64,
}

/// `0A000001:0035` or `[2001:0db8:...:0001]:0035`, as the kernel prints them.
fn kernel_ipport(text: &str) -> Option<String> {
    let (ip, port) = text.rsplit_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
        Some(v6) => IpAddr::V6(v6.parse::<Ipv6Addr>().ok()?),
        None => IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(ip, 16).ok()?)),
    };
    Some(ipport(ip, port))
}

/// The real servers of the virtual servers at `listener_ipports`, by `ip:port`, from the
/// text of `/proc/net/ip_vs`.
pub fn real_servers(ip_vs: &str, listener_ipports: &[String]) -> HashMap<String, RealServer> {
    let mut found = HashMap::new();
    let mut in_listener = false;
    for line in ip_vs.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [proto, vs, ..] if ["UDP", "SCTP", "TCP"].contains(proto) => {
                in_listener = kernel_ipport(vs).is_some_and(|vs| listener_ipports.contains(&vs));
            }
            ["->", rs, _forward, weight, active, ..] if in_listener => {
                let (Some(rs), Ok(weight), Ok(active)) =
                    (kernel_ipport(rs), weight.parse(), active.parse())
                else {
                    continue;
                };
                found.insert(rs, RealServer { weight, active });
            }
            _ => {}
        }
    }
    found
}

/// The pool's status and its members', as stock derives them; `restarting`: the
/// configuration is newer than the running checker (members not yet in the table are
/// then `RESTARTING`, not `DOWN`).
pub fn pool_health(
    cfg: &LvsConfig,
    servers: &HashMap<String, RealServer>,
    restarting: bool,
) -> Option<(String, PoolHealth)> {
    let pool = cfg.pool.clone()?;
    let missing = if restarting { "RESTARTING" } else { "DOWN" };
    let checked = if cfg.health_monitor { "UP" } else { "NO_CHECK" };
    let mut status = "UP";
    if servers.is_empty() && !cfg.members.is_empty() && cfg.health_monitor {
        status = "DOWN";
    }
    let members = cfg
        .members
        .iter()
        .map(|(id, address)| {
            let member = match address.as_ref() {
                None => "MAINT",
                Some(_) if servers.is_empty() && !cfg.health_monitor => "NO_CHECK",
                Some(a) => match servers.get(a) {
                    None => missing,
                    Some(rs) if rs.weight == 0 => "DRAIN",
                    Some(_) => checked,
                },
            };
            (id.clone(), member.to_owned())
        })
        .collect();
    Some((
        pool,
        PoolHealth {
            status: status.to_owned(),
            members,
        },
    ))
}

/// `/proc/net/ip_vs` of `namespace` (`None`: the agent's own); `None` without IPVS.
fn read_ip_vs(namespace: Option<&str>) -> Option<String> {
    // This thread's view (/proc/net would be the process's namespace, not the guard's).
    let _guard = namespace.map(NetnsGuard::enter).transpose().ok()?;
    std::fs::read_to_string("/proc/thread-self/net/ip_vs").ok()
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Adds every running, enabled LVS listener under `base_path` and its pool.
pub fn collect(
    base_path: &Path,
    listeners: &mut BTreeMap<String, ListenerHealth>,
    pools: &mut BTreeMap<String, PoolHealth>,
) {
    for id in lvs::listener_ids(base_path) {
        if !lvs::running(base_path, &id) {
            continue;
        }
        let paths = KeepalivedPaths::lvs(base_path, &id);
        let Ok(text) = std::fs::read_to_string(&paths.config) else {
            continue;
        };
        let cfg = parse(&text);
        if cfg.listener_disabled {
            continue;
        }
        let servers = if cfg.listener_ipports.is_empty() {
            HashMap::new()
        } else {
            read_ip_vs(cfg.namespace.as_deref())
                .map(|table| real_servers(&table, &cfg.listener_ipports))
                .unwrap_or_default()
        };
        let restarting = match (
            modified(&paths.config),
            paths.check_pid.as_deref().and_then(modified),
        ) {
            (Some(config), Some(checker)) => config > checker,
            _ => false,
        };
        let stats = ListenerStats {
            conns: servers.values().map(|rs| rs.active).sum(),
            ..ListenerStats::default()
        };
        listeners.insert(
            id.clone(),
            ListenerHealth {
                status: "OPEN".to_owned(),
                stats,
            },
        );
        if let Some((pool, health)) = pool_health(&cfg, &servers, restarting) {
            pools.insert(pool, health);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LB: &str = "11111111-2222-4333-8444-555555555555";
    const LISTENER: &str = "0e5f4d3c-1b2a-4a1b-9c8d-7e6f5a4b3c2d";
    const POOL: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    const M1: &str = "aaaaaaaa-0000-4000-8000-000000000001";
    const M2: &str = "aaaaaaaa-0000-4000-8000-000000000002";
    const M3: &str = "aaaaaaaa-0000-4000-8000-000000000003";

    /// A dual-stack UDP listener as Octavia's LVS template lays it out: one member per
    /// family, one disabled member, a UDP-CONNECT health monitor.
    fn config(health_monitor: bool) -> String {
        let check = |ip: &str, port: u16| {
            if health_monitor {
                format!(
                    "        MISC_CHECK {{\n            misc_path \"/var/lib/octavia/lvs/check/udp_check.sh {ip} {port}\"\n            misc_timeout 5\n        }}\n"
                )
            } else {
                String::new()
            }
        };
        format!(
            "# Configuration for Loadbalancer {LB}\n# Configuration for Listener {LISTENER}\n\n\
             net_namespace amphora-haproxy\n\n\
             virtual_server_group ipv4-group {{\n    203.0.113.10 53\n}}\n\n\
             virtual_server group ipv4-group {{\n    lb_algo rr\n    lb_kind NAT\n    protocol UDP\n\n\
             \x20   # Configuration for Pool {POOL}\n\
             \x20   # Configuration for Member {M1}\n\
             \x20   real_server 192.0.2.21 5353 {{\n        weight 1\n{}    }}\n\
             \x20   # Member {M3} is disabled\n}}\n\n\
             virtual_server_group ipv6-group {{\n    2001:db8::10 53\n}}\n\n\
             virtual_server group ipv6-group {{\n    lb_algo rr\n    lb_kind NAT\n    protocol UDP\n\n\
             \x20   # Configuration for Pool {POOL}\n\
             \x20   # Configuration for Member {M2}\n\
             \x20   real_server 2001:db8::21 5353 {{\n        weight 1\n{}    }}\n}}\n",
            check("192.0.2.21", 5353),
            check("2001:db8::21", 5353),
        )
    }

    /// The kernel's table for that listener: both virtual servers, member 1 draining
    /// (weight 0) or not, member 2 present or not.
    fn ip_vs(m1_weight: u32, with_m2: bool) -> String {
        let mut table = format!(
            "IP Virtual Server version 1.2.1 (size=4096)\n\
             Prot LocalAddress:Port Scheduler Flags\n\
             \x20 -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n\
             UDP  CB00710A:0035 rr \n\
             \x20 -> C0000215:14E9      Masq    {m1_weight:<6} 3          0         \n\
             UDP  [2001:0db8:0000:0000:0000:0000:0000:0010]:0035 rr \n"
        );
        if with_m2 {
            table.push_str(
                "  -> [2001:0db8:0000:0000:0000:0000:0000:0021]:14E9 Masq    1      2          1         \n",
            );
        }
        // Another listener's virtual server: none of its servers count.
        table.push_str("UDP  CB00710A:0036 rr \n  -> C0000216:14E9      Masq    1      9          0         \n");
        table
    }

    #[test]
    fn the_configuration_reads_as_stock_reads_it() {
        let cfg = parse(&config(true));
        assert_eq!(cfg.namespace.as_deref(), Some("amphora-haproxy"));
        assert!(!cfg.listener_disabled && cfg.health_monitor);
        assert_eq!(
            cfg.listener_ipports,
            ["203.0.113.10:53", "[2001:db8::10]:53"]
        );
        assert_eq!(cfg.pool.as_deref(), Some(POOL));
        assert_eq!(
            cfg.members,
            [
                (M1.to_owned(), Some("192.0.2.21:5353".to_owned())),
                (M2.to_owned(), Some("[2001:db8::21]:5353".to_owned())),
                (M3.to_owned(), None),
            ]
        );
        let disabled =
            format!("# Listener {LISTENER} is disabled\n\nnet_namespace amphora-haproxy\n");
        assert!(parse(&disabled).listener_disabled);
    }

    #[test]
    fn members_in_the_kernel_table_are_up_drained_or_down() {
        let cfg = parse(&config(true));
        let servers = real_servers(&ip_vs(1, false), &cfg.listener_ipports);
        assert_eq!(servers.len(), 1, "{servers:?}");
        let (pool, health) = pool_health(&cfg, &servers, false).expect("a pool");
        assert_eq!(pool, POOL);
        assert_eq!(health.status, "UP");
        let status = |m: &str| health.members[m].as_str();
        assert_eq!(
            (status(M1), status(M2), status(M3)),
            ("UP", "DOWN", "MAINT")
        );
        // Just reconfigured: a member not in the table yet is restarting, not down.
        let (_, health) = pool_health(&cfg, &servers, true).expect("a pool");
        assert_eq!(health.members[M2], "RESTARTING");

        let servers = real_servers(&ip_vs(0, true), &cfg.listener_ipports);
        assert_eq!(
            servers["[2001:db8::21]:5353"],
            RealServer {
                weight: 1,
                active: 2
            }
        );
        let (_, health) = pool_health(&cfg, &servers, false).expect("a pool");
        assert_eq!(
            (health.members[M1].as_str(), health.members[M2].as_str()),
            ("DRAIN", "UP")
        );
    }

    #[test]
    fn without_a_health_monitor_members_are_not_checked() {
        let cfg = parse(&config(false));
        assert!(!cfg.health_monitor);
        let servers = real_servers(&ip_vs(1, true), &cfg.listener_ipports);
        let (_, health) = pool_health(&cfg, &servers, false).expect("a pool");
        assert_eq!(health.members[M1], "NO_CHECK");
        // An empty table (no IPVS yet): the pool stays UP, its members unchecked.
        let (_, health) = pool_health(&cfg, &HashMap::new(), false).expect("a pool");
        assert_eq!(health.status, "UP");
        assert_eq!(health.members[M2], "NO_CHECK");
        assert_eq!(health.members[M3], "MAINT");
    }

    #[test]
    fn a_monitored_pool_without_any_server_in_the_table_is_down() {
        let cfg = parse(&config(true));
        let (_, health) = pool_health(&cfg, &HashMap::new(), false).expect("a pool");
        assert_eq!(health.status, "DOWN");
        assert_eq!(health.members[M1], "DOWN");
        assert_eq!(health.members[M3], "MAINT");
    }

    #[test]
    fn a_listener_without_a_pool_reports_no_pool() {
        let cfg = parse(&format!(
            "# Configuration for Loadbalancer {LB}\n# Configuration for Listener {LISTENER}\n\nnet_namespace amphora-haproxy\n"
        ));
        assert!(cfg.listener_ipports.is_empty());
        assert_eq!(pool_health(&cfg, &HashMap::new(), false), None);
    }
}
