//! The stock `amphora-agent.conf` (octavia-protocol.md §4), read as leniently as
//! oslo.config reads it: unknown keys and keys in the wrong section are ignored, so a
//! file rendered by any stock controller (Zed adds `respawn_count`, `use_upstart`...)
//! works unchanged. Defaults are the stock agent's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the agent reads from its configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// `[haproxy_amphora] bind_host` (default `::`).
    pub bind_host: String,
    /// `[haproxy_amphora] bind_port` (default 9443).
    pub bind_port: u16,
    /// `[haproxy_amphora] base_path` (default `/var/lib/octavia`).
    pub base_path: PathBuf,
    /// `[haproxy_amphora] base_cert_dir` (default `/var/lib/octavia/certs`).
    pub base_cert_dir: PathBuf,
    /// `[haproxy_amphora] haproxy_cmd` (default `/usr/sbin/haproxy`).
    pub haproxy_cmd: PathBuf,
    /// `[amphora_agent] agent_server_ca`: the client CA.
    pub server_ca: PathBuf,
    /// `[amphora_agent] agent_server_cert`: certificate and key in one PEM.
    pub server_cert: PathBuf,
    /// `[amphora_agent] amphora_id`.
    pub amphora_id: String,
    /// `[health_manager] controller_ip_port_list`.
    pub controllers: Vec<SocketAddr>,
    /// `[health_manager] heartbeat_interval` (default 10 s).
    pub heartbeat_interval: Duration,
    /// `[health_manager] heartbeat_key`; unset means the string `None`, as stock does.
    pub heartbeat_key: String,
    /// `[amphora_agent] agent_server_network_dir` (default `/etc/octavia/interfaces`).
    pub network_dir: PathBuf,
    /// octa-only `[amphora_agent] octa_namespace`: the namespace haproxy runs in and
    /// networks are plugged into (default `amphora-haproxy`, stock's constant); empty
    /// means the agent's own namespace. Stock agents ignore the key.
    pub namespace: Option<String>,
    /// octa-only `[amphora_agent] octa_haproxy_manager`: `systemd` (units, as in a stock
    /// image) or `direct` (master-worker processes); default `systemd` when systemd runs.
    pub haproxy_manager: HaproxyManager,
    /// `[controller_worker] loadbalancer_topology` is `ACTIVE_STANDBY` (else `SINGLE`).
    pub active_standby: bool,
    /// `[amphora_agent] administrative_log_facility` (default 1): keepalived's
    /// `--log-facility` (syslog LOCALn).
    pub log_facility: u8,
}

/// How haproxy processes are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaproxyManager {
    /// `haproxy-<lb>.service` units driven by systemctl.
    Systemd,
    /// haproxy master-worker processes started by the agent.
    Direct,
}

/// Why the configuration file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("Cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not INI.
    #[error("{} is not an INI file: {reason}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's words.
        reason: String,
    },
    /// A known key has a value of the wrong kind.
    #[error("{}: [{section}] {key} = {value:?} is invalid: expected {expected}", path.display())]
    Value {
        /// The file.
        path: PathBuf,
        /// Section.
        section: &'static str,
        /// Key.
        key: &'static str,
        /// The rejected value.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },
}

impl AgentConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses the text of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let opt = ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..Default::default()
        };
        let ini = ini::Ini::load_from_str_opt(text, opt).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let get = |section: &str, key: &str| {
            ini.section(Some(section))
                .and_then(|s| s.get(key))
                .map(str::trim)
        };
        let invalid = |section, key, value: &str, expected| ConfigError::Value {
            path: path.to_owned(),
            section,
            key,
            value: value.to_owned(),
            expected,
        };
        let bind_port = match get("haproxy_amphora", "bind_port") {
            Some(v) => v
                .parse()
                .map_err(|_| invalid("haproxy_amphora", "bind_port", v, "a TCP port"))?,
            None => 9443,
        };
        let heartbeat_interval = match get("health_manager", "heartbeat_interval") {
            Some(v) => {
                Duration::from_secs(v.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                    invalid(
                        "health_manager",
                        "heartbeat_interval",
                        v,
                        "whole seconds, at least 1",
                    )
                })?)
            }
            None => Duration::from_secs(10),
        };
        let mut controllers = Vec::new();
        for item in get("health_manager", "controller_ip_port_list")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            controllers.push(parse_ip_port(item).ok_or_else(|| {
                invalid(
                    "health_manager",
                    "controller_ip_port_list",
                    item,
                    "IP:PORT entries separated by commas",
                )
            })?);
        }
        let path_or =
            |section, key, default: &str| PathBuf::from(get(section, key).unwrap_or(default));
        let haproxy_manager = match get("amphora_agent", "octa_haproxy_manager") {
            Some("systemd") => HaproxyManager::Systemd,
            Some("direct") => HaproxyManager::Direct,
            None | Some("") if Path::new("/run/systemd/system").is_dir() => HaproxyManager::Systemd,
            None | Some("") => HaproxyManager::Direct,
            Some(v) => {
                return Err(invalid(
                    "amphora_agent",
                    "octa_haproxy_manager",
                    v,
                    "systemd or direct",
                ));
            }
        };
        let log_facility = match get("amphora_agent", "administrative_log_facility") {
            None => 1,
            Some(v) => v.parse().ok().filter(|f| *f <= 7).ok_or_else(|| {
                invalid("amphora_agent", "administrative_log_facility", v, "0 to 7")
            })?,
        };
        let namespace = match get("amphora_agent", "octa_namespace") {
            None => Some("amphora-haproxy".to_owned()),
            Some("") => None,
            Some(ns) if crate::files::safe_segment(ns) => Some(ns.to_owned()),
            Some(v) => {
                return Err(invalid(
                    "amphora_agent",
                    "octa_namespace",
                    v,
                    "a network namespace name",
                ));
            }
        };
        let active_standby = match get("controller_worker", "loadbalancer_topology") {
            None | Some("SINGLE") => false,
            Some("ACTIVE_STANDBY") => true,
            Some(v) => {
                return Err(invalid(
                    "controller_worker",
                    "loadbalancer_topology",
                    v,
                    "SINGLE or ACTIVE_STANDBY",
                ));
            }
        };
        Ok(AgentConfig {
            active_standby,
            bind_host: get("haproxy_amphora", "bind_host")
                .unwrap_or("::")
                .to_owned(),
            bind_port,
            base_path: path_or("haproxy_amphora", "base_path", "/var/lib/octavia"),
            base_cert_dir: path_or("haproxy_amphora", "base_cert_dir", "/var/lib/octavia/certs"),
            haproxy_cmd: path_or("haproxy_amphora", "haproxy_cmd", "/usr/sbin/haproxy"),
            server_ca: path_or(
                "amphora_agent",
                "agent_server_ca",
                "/etc/octavia/certs/client_ca.pem",
            ),
            server_cert: path_or(
                "amphora_agent",
                "agent_server_cert",
                "/etc/octavia/certs/server.pem",
            ),
            amphora_id: get("amphora_agent", "amphora_id")
                .unwrap_or_default()
                .to_owned(),
            controllers,
            heartbeat_interval,
            heartbeat_key: get("health_manager", "heartbeat_key")
                .unwrap_or("None")
                .to_owned(),
            network_dir: path_or(
                "amphora_agent",
                "agent_server_network_dir",
                "/etc/octavia/interfaces",
            ),
            namespace,
            haproxy_manager,
            log_facility,
        })
    }

    /// The address to listen on.
    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        let host = self.bind_host.trim_matches(['[', ']']);
        host.parse::<std::net::IpAddr>()
            .map(|ip| SocketAddr::new(ip, self.bind_port))
            .map_err(|_| ConfigError::Value {
                path: PathBuf::from("amphora-agent.conf"),
                section: "haproxy_amphora",
                key: "bind_host",
                value: self.bind_host.clone(),
                expected: "an IP address such as :: or 127.0.0.1",
            })
    }
}

/// `IP:PORT` or `[IPv6]:PORT` (stock Zed splits on the last ':' only).
fn parse_ip_port(item: &str) -> Option<SocketAddr> {
    if let Ok(addr) = item.parse() {
        return Some(addr);
    }
    let (ip, port) = item.rsplit_once(':')?;
    Some(SocketAddr::new(
        ip.trim_matches(['[', ']']).parse().ok()?,
        port.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stock_zed_file_parses_and_unknown_keys_are_ignored() {
        let text = "[DEFAULT]\ndebug = False\n[haproxy_amphora]\nbase_path = /var/lib/octavia\nbind_host = 0.0.0.0\n\
                    bind_port = 9443\nrespawn_count = 2\nuse_upstart = True\nuser_log_facility = 0\n\
                    [health_manager]\ncontroller_ip_port_list = 192.0.2.10:5555, [2001:db8::1]:5555\n\
                    heartbeat_interval = 10\nheartbeat_key = s3cret\n[amphora_agent]\nagent_server_ca = /c/ca.pem\n\
                    agent_server_cert = /c/server.pem\namphora_id = amp-1\nagent_tls_protocol = TLSv1.2\n\
                    [controller_worker]\nloadbalancer_topology = SINGLE\n";
        let c = AgentConfig::parse(Path::new("a.conf"), text).unwrap();
        assert_eq!(c.bind_addr().unwrap().to_string(), "0.0.0.0:9443");
        assert_eq!(c.controllers.len(), 2);
        assert_eq!(c.controllers[1].to_string(), "[2001:db8::1]:5555");
        assert_eq!(c.heartbeat_key, "s3cret");
        assert_eq!(c.amphora_id, "amp-1");
        assert_eq!((c.active_standby, c.log_facility), (false, 1));
        let ha = AgentConfig::parse(
            Path::new("a.conf"),
            "[controller_worker]\nloadbalancer_topology = ACTIVE_STANDBY\n\
             [amphora_agent]\nadministrative_log_facility = 3\n",
        )
        .unwrap();
        assert_eq!((ha.active_standby, ha.log_facility), (true, 3));
        assert!(
            AgentConfig::parse(
                Path::new("a.conf"),
                "[controller_worker]\nloadbalancer_topology = TRIPLE\n"
            )
            .is_err()
        );
    }

    #[test]
    fn defaults_are_the_stock_agents_and_bad_values_name_the_key() {
        let c = AgentConfig::parse(Path::new("a.conf"), "").unwrap();
        assert_eq!((c.bind_host.as_str(), c.bind_port), ("::", 9443));
        assert_eq!(c.heartbeat_key, "None");
        assert_eq!(c.heartbeat_interval, Duration::from_secs(10));
        assert_eq!(c.namespace.as_deref(), Some("amphora-haproxy"));
        let own = AgentConfig::parse(
            Path::new("a.conf"),
            "[amphora_agent]\nocta_namespace =\nocta_haproxy_manager = direct\n",
        )
        .unwrap();
        assert_eq!(
            (own.namespace, own.haproxy_manager),
            (None, HaproxyManager::Direct)
        );
        let err = AgentConfig::parse(
            Path::new("a.conf"),
            "[health_manager]\ncontroller_ip_port_list = nowhere\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("[health_manager] controller_ip_port_list"),
            "{err}"
        );
    }
}
