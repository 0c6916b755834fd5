//! keepalived processes, laid out as the stock agent lays them out: the VRRP instance
//! (`base_path/vrrp/octavia-keepalived.conf`, pid file `octavia-keepalived.pid`) and one
//! keepalived per LVS (UDP/SCTP) listener (`base_path/lvs/octavia-keepalivedlvs-<id>.conf`
//! with its three pid files: main, `.vrrp.pid`, `.check.pid`). Running them goes through
//! `Keepalived`: `DirectKeepalived` runs `/usr/sbin/keepalived` itself inside the amphora
//! namespace (the lab and tests; a plain host), `keepalived_systemd::SystemdKeepalived`
//! drives `octavia-keepalived.service` / `octavia-keepalivedlvs-<id>.service` units as a
//! stock amphora image does.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::haproxy::{alive, ensure_namespace, in_namespace, output, read_pid};

/// keepalived as stock runs it (`KEEPALIVED_CMD`).
pub const KEEPALIVED_CMD: &str = "/usr/sbin/keepalived";

/// Starting, stopping and reloading one keepalived instance.
pub trait Keepalived: Send + Sync + 'static {
    /// Whether the instance runs (its pid file names a live process).
    fn running(&self, ka: &KeepalivedPaths) -> bool {
        read_pid(&ka.pid).is_some_and(alive)
    }
    /// Starts it; a running instance is left alone.
    fn start(&self, ka: &KeepalivedPaths) -> Result<(), String>;
    /// Makes it re-read its configuration (SIGHUP).
    fn reload(&self, ka: &KeepalivedPaths) -> Result<(), String>;
    /// Stops it and its children, addresses it owns go with it.
    fn stop(&self, ka: &KeepalivedPaths) -> Result<(), String>;
    /// Stops it if it runs and starts it again (LVS listeners: a reload of keepalived
    /// does not reset real servers to their initial state, so stock restarts).
    fn restart(&self, ka: &KeepalivedPaths) -> Result<(), String> {
        self.stop(ka)?;
        self.start(ka)
    }
    /// Called after its configuration was written (systemd: unit file, enable).
    fn install(&self, _ka: &KeepalivedPaths) -> Result<(), String> {
        Ok(())
    }
    /// Called when an LVS listener is deleted, after `stop` (systemd: disable, unit).
    fn uninstall(&self, _ka: &KeepalivedPaths) -> Result<(), String> {
        Ok(())
    }
}

/// Where one keepalived instance's files live, and its unit name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepalivedPaths {
    /// `octavia-keepalived` or `octavia-keepalivedlvs-<listener_id>` (no `.service`).
    pub unit: String,
    /// Its configuration.
    pub config: PathBuf,
    /// The main process's pid file (`-p`).
    pub pid: PathBuf,
    /// The VRRP child's pid file (`-r`), LVS instances only.
    pub vrrp_pid: Option<PathBuf>,
    /// The checker child's pid file (`-c`), LVS instances only.
    pub check_pid: Option<PathBuf>,
}

impl KeepalivedPaths {
    /// The VRRP instance: `base_path/vrrp/octavia-keepalived.{conf,pid}`.
    pub fn vrrp(base_path: &Path) -> Self {
        let dir = base_path.join("vrrp");
        KeepalivedPaths {
            unit: "octavia-keepalived".to_owned(),
            config: dir.join("octavia-keepalived.conf"),
            pid: dir.join("octavia-keepalived.pid"),
            vrrp_pid: None,
            check_pid: None,
        }
    }

    /// One LVS listener's instance (`listener_id` a checked path segment):
    /// `base_path/lvs/octavia-keepalivedlvs-<id>.{conf,pid,vrrp.pid,check.pid}`.
    pub fn lvs(base_path: &Path, listener_id: &str) -> Self {
        let unit = format!("octavia-keepalivedlvs-{listener_id}");
        let file = |ext: &str| base_path.join("lvs").join(format!("{unit}.{ext}"));
        KeepalivedPaths {
            config: file("conf"),
            pid: file("pid"),
            vrrp_pid: Some(file("vrrp.pid")),
            check_pid: Some(file("check.pid")),
            unit,
        }
    }

    /// The arguments after the binary, as stock's units pass them.
    pub fn args(&self, log_facility: u8) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            format!("--log-facility={log_facility}").into(),
            "-f".into(),
            self.config.clone().into(),
            "-p".into(),
            self.pid.clone().into(),
        ];
        if let (Some(vrrp), Some(check)) = (&self.vrrp_pid, &self.check_pid) {
            args.extend(["-r".into(), vrrp.clone().into()]);
            args.extend(["-c".into(), check.clone().into()]);
        }
        args
    }

    /// The pid files that exist (the main one and, for LVS, the children's).
    pub fn pid_files(&self) -> Vec<PathBuf> {
        [
            Some(&self.pid),
            self.vrrp_pid.as_ref(),
            self.check_pid.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter(|p| p.exists())
        .cloned()
        .collect()
    }
}

/// keepalived run by the agent itself: it daemonizes, writes its pid files, and is
/// reloaded by SIGHUP and stopped by SIGTERM, as stock's units do.
#[derive(Debug, Clone)]
pub struct DirectKeepalived {
    /// The keepalived binary ([`KEEPALIVED_CMD`]).
    pub keepalived_cmd: PathBuf,
    /// The namespace keepalived runs in; `None` is the agent's own.
    pub namespace: Option<String>,
    /// `--log-facility` (`[amphora_agent] administrative_log_facility`).
    pub log_facility: u8,
}

/// How long keepalived gets to write its pid file, and to exit on SIGTERM.
const START_WAIT: Duration = Duration::from_secs(5);
const STOP_WAIT: Duration = Duration::from_secs(10);
/// keepalived writes its pid file before its children have initialised; one whose
/// checker cannot start (no IPVS in the kernel) terminates within milliseconds after.
/// It must still live this long after writing the pid file to count as started.
const SETTLE: Duration = Duration::from_millis(500);

fn wait_for(deadline: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: i32, signal: nix::sys::signal::Signal) -> Result<(), String> {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).map_err(|e| e.to_string())
}

impl Keepalived for DirectKeepalived {
    fn start(&self, ka: &KeepalivedPaths) -> Result<(), String> {
        if self.running(ka) {
            return Ok(());
        }
        if let Some(ns) = &self.namespace {
            ensure_namespace(ns)?;
        }
        let mut cmd = in_namespace(self.namespace.as_deref(), &self.keepalived_cmd);
        // The parent exits once the daemon has forked; the daemon writes the pid files.
        output(cmd.args(ka.args(self.log_facility)))?;
        let exited = || {
            format!(
                "keepalived exited during start-up (configuration {}; its reasons are in \
                 syslog, facility LOCAL{})",
                ka.config.display(),
                self.log_facility
            )
        };
        if !wait_for(START_WAIT, || self.running(ka)) {
            return Err(exited());
        }
        std::thread::sleep(SETTLE);
        if self.running(ka) {
            Ok(())
        } else {
            Err(exited())
        }
    }

    fn reload(&self, ka: &KeepalivedPaths) -> Result<(), String> {
        match read_pid(&ka.pid).filter(|p| alive(*p)) {
            Some(pid) => signal(pid, nix::sys::signal::Signal::SIGHUP),
            None => Err(format!("{} is not active, cannot reload.", ka.unit)),
        }
    }

    fn stop(&self, ka: &KeepalivedPaths) -> Result<(), String> {
        let Some(pid) = read_pid(&ka.pid).filter(|p| alive(*p)) else {
            return Ok(());
        };
        signal(pid, nix::sys::signal::Signal::SIGTERM)?;
        // keepalived withdraws its addresses and waits for its children before exiting.
        if wait_for(STOP_WAIT, || !alive(pid)) {
            Ok(())
        } else {
            Err(format!(
                "keepalived {pid} did not exit within {} s",
                STOP_WAIT.as_secs()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_arguments_follow_stocks_layout() {
        let base = Path::new("/var/lib/octavia");
        let vrrp = KeepalivedPaths::vrrp(base);
        assert_eq!(vrrp.unit, "octavia-keepalived");
        assert_eq!(
            vrrp.args(1),
            [
                "--log-facility=1",
                "-f",
                "/var/lib/octavia/vrrp/octavia-keepalived.conf",
                "-p",
                "/var/lib/octavia/vrrp/octavia-keepalived.pid"
            ]
            .map(OsString::from)
        );
        let lvs = KeepalivedPaths::lvs(base, "l1");
        assert_eq!(lvs.unit, "octavia-keepalivedlvs-l1");
        let args: Vec<String> = lvs
            .args(2)
            .into_iter()
            .map(|a| a.into_string().unwrap_or_default())
            .collect();
        assert_eq!(
            args.join(" "),
            "--log-facility=2 -f /var/lib/octavia/lvs/octavia-keepalivedlvs-l1.conf \
             -p /var/lib/octavia/lvs/octavia-keepalivedlvs-l1.pid \
             -r /var/lib/octavia/lvs/octavia-keepalivedlvs-l1.vrrp.pid \
             -c /var/lib/octavia/lvs/octavia-keepalivedlvs-l1.check.pid"
        );
    }

    #[test]
    fn a_keepalived_that_dies_at_start_up_is_a_failed_start() {
        // A stand-in binary that exits 0 at once without writing a pid file, as
        // keepalived does when its checker cannot initialise IPVS.
        let dir = tempfile::tempdir().expect("tempdir");
        let ka = DirectKeepalived {
            keepalived_cmd: PathBuf::from("/bin/true"),
            namespace: None,
            log_facility: 1,
        };
        let paths = KeepalivedPaths::lvs(dir.path(), "l1");
        let err = ka.start(&paths).expect_err("no pid file, no start");
        assert!(err.contains("exited during start-up"), "{err}");
        assert!(!ka.running(&paths));
        // Stopping what does not run succeeds; reloading it does not.
        assert_eq!(ka.stop(&paths), Ok(()));
        assert!(ka.reload(&paths).is_err());
    }
}
