//! haproxy as systemd units, the way a stock amphora image runs it: after an upload the
//! agent renders `haproxy-<lb_id>.service` (stock `systemd.conf.j2`: `ExecStartPre`
//! validates, `ExecStart` runs `haproxy -Ws` inside the amphora namespace through
//! `ip netns exec`, reload validates then sends SIGUSR2 to the master) and
//! `amphora-netns.service` if the image lacks it, enables them, and drives them with
//! `systemctl start|stop|reload`. Unit files are written only under `unit_dir`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::haproxy::{Haproxy, LbPaths, alive, output, read_pid};

/// Where stock writes its units.
pub const UNIT_DIR: &str = "/usr/lib/systemd/system";

/// haproxy through systemd units.
#[derive(Debug, Clone)]
pub struct SystemdHaproxy {
    /// The haproxy binary.
    pub haproxy_cmd: PathBuf,
    /// The namespace haproxy runs in (`amphora-haproxy`); `None` is the host's.
    pub namespace: Option<String>,
    /// Where unit files go ([`UNIT_DIR`]).
    pub unit_dir: PathBuf,
    /// The systemctl binary.
    pub systemctl: PathBuf,
    /// The command `amphora-netns.service` re-plugs ports with after a reboot.
    pub replug: Option<String>,
}

impl SystemdHaproxy {
    /// The stock layout: units in [`UNIT_DIR`], `systemctl` from PATH.
    pub fn new(haproxy_cmd: PathBuf, namespace: Option<String>) -> Self {
        SystemdHaproxy {
            haproxy_cmd,
            namespace,
            unit_dir: PathBuf::from(UNIT_DIR),
            systemctl: PathBuf::from("systemctl"),
            replug: None,
        }
    }

    /// `haproxy-<lb_id>.service`.
    pub fn unit_name(lb: &LbPaths) -> String {
        format!("haproxy-{}.service", lb.id)
    }

    /// The unit file of `lb`.
    pub fn render_unit(&self, lb: &LbPaths, peer: &str) -> String {
        let haproxy = self.haproxy_cmd.display();
        let exec = match &self.namespace {
            Some(ns) => format!("/sbin/ip netns exec {ns} {haproxy}"),
            None => haproxy.to_string(),
        };
        format!(
            "[Unit]\nDescription=HAProxy Load Balancer\n\
             After=network.target syslog.service amphora-netns.service\n\
             Before=octavia-keepalived.service\nWants=syslog.service\nRequires=amphora-netns.service\n\n\
             [Service]\nEnvironment=\"CONFIG={cfg}\" \"USERCONFIG={user}\" \"PIDFILE={pid}\"\n\n\
             ExecStartPre={haproxy} -f $CONFIG -f $USERCONFIG -c -q -L {peer}\n\n\
             ExecReload={haproxy} -c -f $CONFIG -f $USERCONFIG -L {peer}\n\
             ExecReload=/bin/kill -USR2 $MAINPID\n\n\
             ExecStart={exec} -Ws -f $CONFIG -f $USERCONFIG -p $PIDFILE -L {peer}\n\nType=notify\n\n\
             KillMode=mixed\nRestart=always\nLimitNOFILE=2600000\n\n\
             [Install]\nWantedBy=multi-user.target\n",
            cfg = lb.config.display(),
            user = lb.user_group.display(),
            pid = lb.pid.display(),
        )
    }

    /// `amphora-netns.service` for this namespace ([`render_netns_unit`]).
    pub fn render_netns_unit(&self) -> String {
        render_netns_unit(self.namespace.as_deref(), self.replug.as_deref())
    }

    fn systemctl(&self, args: &[&str]) -> Result<(), String> {
        output(Command::new(&self.systemctl).args(args))
    }
}

impl Haproxy for SystemdHaproxy {
    fn validate(&self, config: &Path, peer: &str) -> Result<(), String> {
        crate::haproxy::DirectHaproxy {
            haproxy_cmd: self.haproxy_cmd.clone(),
            namespace: None,
        }
        .validate(config, peer)
    }

    fn running(&self, lb: &LbPaths) -> bool {
        read_pid(&lb.pid).is_some_and(alive)
    }

    fn start(&self, lb: &LbPaths, _peer: &str) -> Result<(), String> {
        self.systemctl(&["start", &Self::unit_name(lb)])
    }

    fn reload(&self, lb: &LbPaths, _peer: &str) -> Result<(), String> {
        self.systemctl(&["reload", &Self::unit_name(lb)])
    }

    fn stop(&self, lb: &LbPaths) -> Result<(), String> {
        self.systemctl(&["stop", &Self::unit_name(lb)])
    }

    fn install(&self, lb: &LbPaths, peer: &str) -> Result<(), String> {
        let netns = self.unit_dir.join("amphora-netns.service");
        if !netns.exists() {
            write_unit(&netns, &self.render_netns_unit())?;
            self.systemctl(&["enable", "amphora-netns.service"])?;
        }
        let unit = self.unit_dir.join(Self::unit_name(lb));
        if !unit.exists() {
            write_unit(&unit, &self.render_unit(lb, peer))?;
            // systemd learns of a new unit file only on a reload; an existing one is
            // unchanged (the config it names is what changes), so the reload is skipped.
            self.systemctl(&["daemon-reload"])?;
        }
        self.systemctl(&["enable", &Self::unit_name(lb)])
    }

    fn uninstall(&self, lb: &LbPaths) -> Result<(), String> {
        let result = self.systemctl(&["disable", &Self::unit_name(lb)]);
        let _ = std::fs::remove_file(self.unit_dir.join(Self::unit_name(lb)));
        result
    }
}

/// `amphora-netns.service`: the namespace and its loopback (no sysctls, no re-plug:
/// an image that needs them ships the stock unit, which is then left alone).
pub fn render_netns_unit(namespace: Option<&str>, replug: Option<&str>) -> String {
    let ns = namespace.unwrap_or("amphora-haproxy");
    // The image's sysctl.d first (as stock), then what the namespace needs regardless.
    let sysctls = crate::haproxy::NAMESPACE_SYSCTLS.join(" ");
    // After a reboot the ports are back in the root namespace: move them in again.
    let replug = replug
        .map(|cmd| format!("ExecStart=-{cmd}\n"))
        .unwrap_or_default();
    format!(
        "[Unit]\nDescription=Configure {ns} network namespace\nStopWhenUnneeded=true\n\n\
         [Service]\nType=oneshot\nRemainAfterExit=yes\n\
         ExecStart=-/sbin/ip netns add {ns}\nExecStart=-/sbin/ip -n {ns} link set lo up\n\
         ExecStart=-/sbin/ip netns exec {ns} sysctl --system\n\
         ExecStart=-/sbin/ip netns exec {ns} sysctl -qw {sysctls}\n{replug}"
    )
}

/// Writes a unit file (mode 0644, as stock), creating `unit_dir`.
pub(crate) fn write_unit(path: &Path, text: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))
        .and_then(|()| std::fs::write(path, text))
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stand-in `systemctl` recording its arguments, so the call sequence is checked
    /// without a running systemd.
    pub(crate) fn fake_systemctl(dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("systemctl");
        let log = dir.join("calls");
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn install_renders_the_stock_unit_and_enables_it() {
        let dir = tempfile::tempdir().unwrap();
        let units = dir.path().join("units");
        let haproxy = SystemdHaproxy {
            haproxy_cmd: PathBuf::from("/usr/sbin/haproxy"),
            namespace: Some("amphora-haproxy".into()),
            unit_dir: units.clone(),
            systemctl: fake_systemctl(dir.path()),
            replug: Some(
                "/usr/bin/octa-agent --config-file /etc/octavia/amphora-agent.conf replug".into(),
            ),
        };
        let lb = LbPaths::new(Path::new("/var/lib/octavia"), "lb1");
        haproxy.install(&lb, "peerX").unwrap();
        haproxy.reload(&lb, "peerX").unwrap();
        haproxy.stop(&lb).unwrap();
        haproxy.uninstall(&lb).unwrap();
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        assert_eq!(
            calls,
            "enable amphora-netns.service\ndaemon-reload\nenable haproxy-lb1.service\n\
             reload haproxy-lb1.service\nstop haproxy-lb1.service\ndisable haproxy-lb1.service\n"
        );
        assert!(!units.join("haproxy-lb1.service").exists());
        let unit = haproxy.render_unit(&lb, "peerX");
        assert!(unit.contains(
            "ExecStart=/sbin/ip netns exec amphora-haproxy /usr/sbin/haproxy -Ws -f $CONFIG -f $USERCONFIG -p $PIDFILE -L peerX"
        ));
        assert!(unit.contains("PIDFILE=/var/lib/octavia/lb1/lb1.pid"));
        let netns = std::fs::read_to_string(units.join("amphora-netns.service")).unwrap();
        assert!(netns.contains(
            "ExecStart=-/usr/bin/octa-agent --config-file /etc/octavia/amphora-agent.conf replug\n"
        ));
        assert!(netns.contains("sysctl -qw net.ipv4.ip_nonlocal_bind=1"));
    }
}
