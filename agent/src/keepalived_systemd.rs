//! keepalived as systemd units, the way a stock amphora image runs it: after an upload
//! the agent renders `octavia-keepalived.service` (VRRP) or
//! `octavia-keepalivedlvs-<listener_id>.service` (one per LVS listener) as stock's
//! `keepalived.systemd.j2` does (`Type=forking`, `ExecStart` runs keepalived inside the
//! amphora namespace through `ip netns exec`, reload sends SIGHUP, `PIDFile` is the
//! agent's pid file), plus `amphora-netns.service` if the image lacks it, enables them
//! and drives them with `systemctl start|stop|reload|restart`. Unit files are written
//! only under `unit_dir`.

use std::path::PathBuf;
use std::process::Command;

use crate::haproxy::output;
use crate::keepalived::{KEEPALIVED_CMD, Keepalived, KeepalivedPaths};
use crate::systemd::{UNIT_DIR, render_netns_unit, write_unit};

/// keepalived through systemd units.
#[derive(Debug, Clone)]
pub struct SystemdKeepalived {
    /// The keepalived binary.
    pub keepalived_cmd: PathBuf,
    /// The namespace keepalived runs in (`amphora-haproxy`); `None` is the host's.
    pub namespace: Option<String>,
    /// `--log-facility`.
    pub log_facility: u8,
    /// Where unit files go ([`UNIT_DIR`]).
    pub unit_dir: PathBuf,
    /// The systemctl binary.
    pub systemctl: PathBuf,
    /// The command `amphora-netns.service` re-plugs ports with after a reboot.
    pub replug: Option<String>,
}

impl SystemdKeepalived {
    /// The stock layout: units in [`UNIT_DIR`], `systemctl` from PATH.
    pub fn new(namespace: Option<String>, log_facility: u8) -> Self {
        SystemdKeepalived {
            keepalived_cmd: PathBuf::from(KEEPALIVED_CMD),
            namespace,
            log_facility,
            unit_dir: PathBuf::from(UNIT_DIR),
            systemctl: PathBuf::from("systemctl"),
            replug: None,
        }
    }

    /// `<unit>.service`.
    pub fn unit_name(ka: &KeepalivedPaths) -> String {
        format!("{}.service", ka.unit)
    }

    /// The unit file of `ka`.
    pub fn render_unit(&self, ka: &KeepalivedPaths) -> String {
        let keepalived = self.keepalived_cmd.display();
        let exec = match &self.namespace {
            Some(ns) => format!("/sbin/ip netns exec {ns} {keepalived}"),
            None => keepalived.to_string(),
        };
        let args: Vec<String> = ka
            .args(self.log_facility)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        format!(
            "[Unit]\nDescription=Keepalive Daemon (LVS and VRRP)\n\
             After=network-online.target amphora-netns.service\nWants=network-online.target\n\
             Requires=amphora-netns.service\n\n\
             [Service]\n# keepalived runs under \"ip netns exec\": give it its own SELinux context.\n\
             SELinuxContext=system_u:system_r:keepalived_t:s0\nType=forking\nKillMode=process\n\
             ExecStart={exec} {args}\nExecReload=/bin/kill -HUP $MAINPID\nPIDFile={pid}\n\n\
             [Install]\nWantedBy=multi-user.target\n",
            args = args.join(" "),
            pid = ka.pid.display(),
        )
    }

    fn systemctl(&self, args: &[&str]) -> Result<(), String> {
        output(Command::new(&self.systemctl).args(args))
    }
}

impl Keepalived for SystemdKeepalived {
    fn start(&self, ka: &KeepalivedPaths) -> Result<(), String> {
        self.systemctl(&["start", &Self::unit_name(ka)])
    }

    fn reload(&self, ka: &KeepalivedPaths) -> Result<(), String> {
        self.systemctl(&["reload", &Self::unit_name(ka)])
    }

    fn stop(&self, ka: &KeepalivedPaths) -> Result<(), String> {
        self.systemctl(&["stop", &Self::unit_name(ka)])
    }

    fn restart(&self, ka: &KeepalivedPaths) -> Result<(), String> {
        self.systemctl(&["restart", &Self::unit_name(ka)])
    }

    fn install(&self, ka: &KeepalivedPaths) -> Result<(), String> {
        let netns = self.unit_dir.join("amphora-netns.service");
        if !netns.exists() {
            write_unit(
                &netns,
                &render_netns_unit(self.namespace.as_deref(), self.replug.as_deref()),
            )?;
        }
        // Stock enables the namespace unit on every upload; a failure is only logged.
        if let Err(e) = self.systemctl(&["enable", "amphora-netns.service"]) {
            tracing::warn!("systemctl enable amphora-netns.service: {e}");
        }
        let unit = self.unit_dir.join(Self::unit_name(ka));
        if !unit.exists() {
            write_unit(&unit, &self.render_unit(ka))?;
            self.systemctl(&["daemon-reload"])?;
        }
        self.systemctl(&["enable", &Self::unit_name(ka)])
    }

    fn uninstall(&self, ka: &KeepalivedPaths) -> Result<(), String> {
        let result = self.systemctl(&["disable", &Self::unit_name(ka)]);
        let _ = std::fs::remove_file(self.unit_dir.join(Self::unit_name(ka)));
        result
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use super::*;
    use crate::systemd::tests::fake_systemctl;

    #[test]
    fn units_render_as_stocks_and_systemctl_drives_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let units = dir.path().join("units");
        let ka = SystemdKeepalived {
            unit_dir: units.clone(),
            systemctl: fake_systemctl(dir.path()),
            ..SystemdKeepalived::new(Some("amphora-haproxy".into()), 1)
        };
        let base = Path::new("/var/lib/octavia");
        let vrrp = KeepalivedPaths::vrrp(base);
        let lvs = KeepalivedPaths::lvs(base, "l1");
        ka.install(&vrrp).expect("install vrrp");
        ka.start(&vrrp).expect("start");
        ka.reload(&vrrp).expect("reload");
        ka.install(&lvs).expect("install lvs");
        ka.restart(&lvs).expect("restart");
        ka.stop(&lvs).expect("stop");
        ka.uninstall(&lvs).expect("uninstall");
        let calls = std::fs::read_to_string(dir.path().join("calls")).expect("calls");
        assert_eq!(
            calls,
            "enable amphora-netns.service\ndaemon-reload\nenable octavia-keepalived.service\n\
             start octavia-keepalived.service\nreload octavia-keepalived.service\n\
             enable amphora-netns.service\ndaemon-reload\nenable octavia-keepalivedlvs-l1.service\n\
             restart octavia-keepalivedlvs-l1.service\nstop octavia-keepalivedlvs-l1.service\n\
             disable octavia-keepalivedlvs-l1.service\n"
        );
        let unit =
            std::fs::read_to_string(units.join("octavia-keepalived.service")).expect("vrrp unit");
        assert!(unit.contains(
            "ExecStart=/sbin/ip netns exec amphora-haproxy /usr/sbin/keepalived --log-facility=1 \
             -f /var/lib/octavia/vrrp/octavia-keepalived.conf -p /var/lib/octavia/vrrp/octavia-keepalived.pid\n"
        ), "{unit}");
        assert!(
            unit.contains("Type=forking\n")
                && unit.contains("ExecReload=/bin/kill -HUP $MAINPID\n")
        );
        assert!(unit.contains("PIDFile=/var/lib/octavia/vrrp/octavia-keepalived.pid\n"));
        let mode = std::fs::metadata(units.join("octavia-keepalived.service"))
            .expect("unit")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
        // The LVS unit passes the children's pid files and is gone after uninstall.
        let lvs_unit = ka.render_unit(&lvs);
        assert!(lvs_unit.contains(
            "-r /var/lib/octavia/lvs/octavia-keepalivedlvs-l1.vrrp.pid -c /var/lib/octavia/lvs/octavia-keepalivedlvs-l1.check.pid\n"
        ));
        assert!(!units.join("octavia-keepalivedlvs-l1.service").exists());
        assert!(units.join("amphora-netns.service").exists());
    }
}
