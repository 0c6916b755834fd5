//! Load balancers as haproxy processes, the way the stock agent lays them out:
//! `base_path/<lb_id>/haproxy.cfg`, validated with `haproxy -c` before it replaces the
//! running one, pid file `base_path/<lb_id>/<lb_id>.pid`, peer name derived from the
//! amphora id. Running them goes through `Haproxy`: `DirectHaproxy` manages haproxy in
//! master-worker mode itself (the lab and tests; a plain host), `systemd::SystemdHaproxy`
//! drives `haproxy-<lb_id>.service` units as a stock amphora image does. Either runs
//! haproxy inside the amphora namespace (`amphora-haproxy` unless configured otherwise).

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;

/// Starting, stopping and reloading one load balancer's haproxy.
pub trait Haproxy: Send + Sync + 'static {
    /// Validates `config` (plus the user/group file); the error is haproxy's output.
    fn validate(&self, config: &Path, peer: &str) -> Result<(), String>;
    /// Whether the load balancer's haproxy runs.
    fn running(&self, lb: &LbPaths) -> bool;
    /// Starts it.
    fn start(&self, lb: &LbPaths, peer: &str) -> Result<(), String>;
    /// Reloads its configuration without dropping connections.
    fn reload(&self, lb: &LbPaths, peer: &str) -> Result<(), String>;
    /// Stops it.
    fn stop(&self, lb: &LbPaths) -> Result<(), String>;
    /// Called once a validated configuration is in place (systemd: unit file, enable).
    fn install(&self, _lb: &LbPaths, _peer: &str) -> Result<(), String> {
        Ok(())
    }
    /// Called when the load balancer is deleted, after `stop` (systemd: disable, unit).
    fn uninstall(&self, _lb: &LbPaths) -> Result<(), String> {
        Ok(())
    }
}

/// Where one load balancer's files live.
#[derive(Debug, Clone)]
pub struct LbPaths {
    /// The load balancer id.
    pub id: String,
    /// `base_path/<lb_id>`.
    pub dir: PathBuf,
    /// `haproxy.cfg`.
    pub config: PathBuf,
    /// `<lb_id>.pid`.
    pub pid: PathBuf,
    /// The user/group fragment passed as a second `-f`.
    pub user_group: PathBuf,
}

impl LbPaths {
    /// The layout under `base_path` for `lb_id` (a checked path segment).
    pub fn new(base_path: &Path, lb_id: &str) -> Self {
        let dir = base_path.join(lb_id);
        LbPaths {
            id: lb_id.to_owned(),
            config: dir.join("haproxy.cfg"),
            pid: dir.join(format!("{lb_id}.pid")),
            user_group: base_path.join("haproxy-default-user-group.conf"),
            dir,
        }
    }

    /// Whether the load balancer is known (its config exists), as stock judges it.
    pub fn exists(&self) -> bool {
        self.config.is_file()
    }
}

/// Load balancers with a `haproxy.cfg` under `base_path`, as the stock agent finds them.
pub fn known_lbs(base_path: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(base_path)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join("haproxy.cfg").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Octavia's peer name: base64 of SHA-1(amphora id), `+`→`_`, `/`→`-`, a leading `-`
/// becomes `x`, no `=` padding (`base64_sha1_string`); the controller's template uses
/// the same in `peer` lines.
pub fn peer_name(amphora_id: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        amphora_id.as_bytes(),
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    let mut name: String = b64
        .trim_end_matches('=')
        .replace('+', "_")
        .replace('/', "-");
    if name.starts_with('-') {
        name.replace_range(0..1, "x");
    }
    name
}

/// Drops `group` lines: the group comes from the image's user/group fragment.
pub fn strip_group_lines(config: &str) -> String {
    config
        .lines()
        .filter(|l| !(l.starts_with(char::is_whitespace) && l.trim_start().starts_with("group ")))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Frontends of a config: (listener id, type as the stock agent reports it).
pub fn frontends(config: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String, bool)> = None;
    let flush = |c: Option<(String, String, bool)>, out: &mut Vec<(String, String)>| {
        if let Some((id, mode, tls)) = c {
            out.push((
                id,
                if tls {
                    "TERMINATED_HTTPS".to_owned()
                } else {
                    mode.to_uppercase()
                },
            ));
        }
    };
    for line in config.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["frontend", id, ..] => {
                flush(current.take(), &mut out);
                current = Some(((*id).to_owned(), "tcp".to_owned(), false));
            }
            ["backend" | "listen" | "defaults" | "global" | "peers", ..]
                if !line.starts_with(char::is_whitespace) =>
            {
                flush(current.take(), &mut out);
            }
            ["mode", mode, ..] => {
                if let Some(c) = current.as_mut() {
                    c.1 = (*mode).to_owned();
                }
            }
            ["bind", ..] if line.contains("ssl crt-list") => {
                if let Some(c) = current.as_mut() {
                    c.2 = true;
                }
            }
            _ => {}
        }
    }
    flush(current, &mut out);
    out
}

/// The addresses of a config's `bind` lines (`bind 203.0.113.10:80`, `bind
/// 2001:db8::5:443 ssl ...`), deduplicated, in order: the VIPs stock announces.
pub fn bind_addresses(config: &str) -> Vec<std::net::IpAddr> {
    let mut out = Vec::new();
    for line in config.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("bind") {
            continue;
        }
        let Some(endpoint) = words.next() else {
            continue;
        };
        for item in endpoint.split(',') {
            let Some((host, _port)) = item.rsplit_once(':') else {
                continue;
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = host.parse()
                && !out.contains(&ip)
            {
                out.push(ip);
            }
        }
    }
    out
}

/// Whether `pid` is a live process: a zombie (a daemonized master whose adoptive parent
/// has not reaped it yet) has exited and does not count.
pub(crate) fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

pub(crate) fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

pub(crate) fn output(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .trim()
        .to_owned())
    }
}

/// `program` run inside `namespace` (`ip netns exec`, as stock's units do; `None`: the
/// agent's own).
pub(crate) fn in_namespace(
    namespace: Option<&str>,
    program: impl AsRef<std::ffi::OsStr>,
) -> Command {
    match namespace {
        Some(ns) => {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", ns]).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Creates the namespace if it is missing and brings its loopback up, as
/// `amphora-netns.service` does on an amphora image.
pub fn ensure_namespace(name: &str) -> Result<(), String> {
    if !Path::new("/run/netns").join(name).exists() {
        output(Command::new("ip").args(["netns", "add", name]))?;
    }
    output(Command::new("ip").args(["-n", name, "link", "set", "lo", "up"]))?;
    // Best effort, like the stock unit's `-` lines: a host that forbids them (a container
    // with a read-only /proc/sys) still serves a single amphora's VIP.
    if let Err(e) = output(
        Command::new("ip")
            .args(["netns", "exec", name, "sysctl", "-qw"])
            .args(NAMESPACE_SYSCTLS),
    ) {
        tracing::warn!("namespace {name}: {e}");
    }
    Ok(())
}

/// What the amphora namespace needs beyond a fresh namespace's defaults: haproxy binds
/// VIPs this amphora does not hold (the standby of an ACTIVE_STANDBY pair; keepalived
/// adds the VIP on failover), and LVS forwards to members (a stock image's sysctl.d and
/// `amphora-netns.service` set the same).
pub const NAMESPACE_SYSCTLS: &[&str] = &[
    "net.ipv4.ip_nonlocal_bind=1",
    "net.ipv6.ip_nonlocal_bind=1",
    "net.ipv4.ip_forward=1",
    "net.ipv6.conf.all.forwarding=1",
];

/// haproxy run by the agent itself: `haproxy -W -D` (master-worker, daemonized, pid
/// file = master), reload by SIGUSR2 to the master, stop by SIGTERM.
#[derive(Debug, Clone)]
pub struct DirectHaproxy {
    /// The haproxy binary (`[haproxy_amphora] haproxy_cmd`).
    pub haproxy_cmd: PathBuf,
    /// The namespace haproxy runs in; `None` is the agent's own.
    pub namespace: Option<String>,
}

impl Haproxy for DirectHaproxy {
    fn validate(&self, config: &Path, peer: &str) -> Result<(), String> {
        let user_group = config
            .parent()
            .and_then(Path::parent)
            .map(|b| b.join("haproxy-default-user-group.conf"));
        let mut cmd = Command::new(&self.haproxy_cmd);
        cmd.args(["-c", "-L", peer, "-f"]).arg(config);
        if let Some(ug) = user_group.filter(|p| p.exists()) {
            cmd.arg("-f").arg(ug);
        }
        output(&mut cmd)
    }

    fn running(&self, lb: &LbPaths) -> bool {
        read_pid(&lb.pid).is_some_and(alive)
    }

    fn start(&self, lb: &LbPaths, peer: &str) -> Result<(), String> {
        if let Some(ns) = &self.namespace {
            ensure_namespace(ns)?;
        }
        let mut cmd = in_namespace(self.namespace.as_deref(), &self.haproxy_cmd);
        output(
            cmd.args(["-W", "-D", "-L", peer, "-f"])
                .arg(&lb.config)
                .arg("-f")
                .arg(&lb.user_group)
                .arg("-p")
                .arg(&lb.pid),
        )
    }

    fn reload(&self, lb: &LbPaths, _peer: &str) -> Result<(), String> {
        let pid = read_pid(&lb.pid).ok_or("no pid file")?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGUSR2,
        )
        .map_err(|e| e.to_string())
    }

    fn stop(&self, lb: &LbPaths) -> Result<(), String> {
        let Some(pid) = read_pid(&lb.pid) else {
            return Ok(());
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        // The master exits once its workers have; wait a bounded time for it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if !alive(pid) {
                let _ = std::fs::remove_file(&lb.pid);
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Err(format!("haproxy master {pid} did not exit within 5 s"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_names_follow_octavias_base64_sha1() {
        // SHA-1("a") = 86f7e437..., base64 "hvfkN/qlp/zhXR3cuerq6jd2Z7g=".
        assert_eq!(peer_name("a"), "hvfkN-qlp-zhXR3cuerq6jd2Z7g");
    }

    #[test]
    fn group_lines_go_and_frontends_are_found() {
        let cfg = "global\n    group haproxy\n    daemon\nfrontend l1\n    mode http\n    bind 1.2.3.4:80\nfrontend l2\n    bind 1.2.3.4:443 ssl crt-list /x\n    mode http\nbackend p1\n    mode http\n";
        assert!(!strip_group_lines(cfg).contains("group haproxy"));
        assert_eq!(
            bind_addresses(cfg),
            ["1.2.3.4".parse::<std::net::IpAddr>().expect("literal")]
        );
        assert_eq!(
            bind_addresses(
                "    bind 2001:db8::5:443 ssl crt-list /x\n    bind 10.0.0.1:80,10.0.0.2:80\n"
            ),
            ["2001:db8::5", "10.0.0.1", "10.0.0.2"]
                .map(|s| s.parse::<std::net::IpAddr>().expect("literal"))
        );
        assert_eq!(
            frontends(cfg),
            [
                ("l1".to_owned(), "HTTP".to_owned()),
                ("l2".to_owned(), "TERMINATED_HTTPS".to_owned())
            ]
        );
    }
}
