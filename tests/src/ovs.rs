//! A throwaway Open vSwitch for host-tier tests: its own ovsdb-server (unix socket in a
//! temp dir) and a userspace ovs-vswitchd inside a fresh network namespace, with `br-int`
//! (netdev datapath). Everything is stopped and removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::run_ok;

/// One private OVS.
pub struct OvsSandbox {
    dir: tempfile::TempDir,
    /// The network namespace ovs-vswitchd (and so every internal port) lives in.
    pub netns: String,
}

impl OvsSandbox {
    /// Starts ovsdb-server and ovs-vswitchd and creates `br-int`.
    pub fn start() -> Self {
        crate::require_root();
        let dir = tempfile::Builder::new()
            .prefix("ovs")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let netns = format!("octa-t{}", std::process::id());
        run_ok(Command::new("ip").args(["netns", "add", &netns]));
        run_ok(Command::new("ip").args(["-n", &netns, "link", "set", "lo", "up"]));
        let sandbox = OvsSandbox { dir, netns };
        let d = sandbox.dir.path();
        run_ok(
            Command::new("ovsdb-tool")
                .arg("create")
                .arg(d.join("conf.db"))
                .arg("/usr/share/openvswitch/vswitch.ovsschema"),
        );
        run_ok(
            Command::new("ovsdb-server")
                .arg(d.join("conf.db"))
                .arg(format!("--remote=punix:{}", d.join("db.sock").display()))
                // Listen on the Manager table's remotes too, as a packaged OVS does.
                .arg("--remote=db:Open_vSwitch,Open_vSwitch,manager_options")
                .arg(format!(
                    "--pidfile={}",
                    d.join("ovsdb-server.pid").display()
                ))
                .arg(format!(
                    "--unixctl={}",
                    d.join("ovsdb-server.ctl").display()
                ))
                .arg(format!(
                    "--log-file={}",
                    d.join("ovsdb-server.log").display()
                ))
                .args(["--detach", "--no-chdir"]),
        );
        sandbox.vsctl(&["init"]);
        sandbox.start_vswitchd();
        sandbox.vsctl(&[
            "add-br",
            "br-int",
            "--",
            "set",
            "bridge",
            "br-int",
            "datapath_type=netdev",
        ]);
        sandbox.wait(
            || {
                sandbox
                    .vsctl(&["get", "interface", "br-int", "ofport"])
                    .trim()
                    == "65534"
            },
            "br-int's ofport",
        );
        sandbox
    }

    /// Starts ovs-vswitchd inside the namespace (again, after `stop_vswitchd`).
    pub fn start_vswitchd(&self) {
        let d = self.dir.path();
        run_ok(
            Command::new("ip")
                .args(["netns", "exec", &self.netns, "ovs-vswitchd"])
                .arg(format!("unix:{}", d.join("db.sock").display()))
                .arg(format!(
                    "--pidfile={}",
                    d.join("ovs-vswitchd.pid").display()
                ))
                .arg(format!(
                    "--unixctl={}",
                    d.join("ovs-vswitchd.ctl").display()
                ))
                .arg(format!(
                    "--log-file={}",
                    d.join("ovs-vswitchd.log").display()
                ))
                .args(["--detach", "--no-chdir"])
                // br-int.mgmt and friends go to the temp dir, not /var/run/openvswitch.
                .env("OVS_RUNDIR", d),
        );
    }

    /// Stops ovs-vswitchd the way a crash or reboot would: its taps stay behind.
    pub fn stop_vswitchd(&self) {
        let pid_file = self.dir.path().join("ovs-vswitchd.pid");
        let pid = std::fs::read_to_string(&pid_file)
            .expect("vswitchd pid")
            .trim()
            .to_owned();
        run_ok(Command::new("kill").arg(&pid));
        self.wait(
            || !Path::new(&format!("/proc/{pid}")).exists(),
            "ovs-vswitchd to exit",
        );
        let _ = std::fs::remove_file(pid_file);
    }

    /// The OVSDB remote, `unix:...`.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.dir.path().join("db.sock").display())
    }

    /// A scratch directory inside the sandbox.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).expect("scratch dir");
        p
    }

    /// `ovs-vsctl --no-wait` against this OVSDB (never waits for ovs-vswitchd).
    pub fn vsctl(&self, args: &[&str]) -> String {
        run_ok(
            Command::new("ovs-vsctl")
                .arg(format!("--db={}", self.remote()))
                .args(["--no-wait", "--timeout=10"])
                .args(args),
        )
    }

    /// `ip -n NETNS ARGS`.
    pub fn ip(&self, args: &[&str]) -> String {
        run_ok(Command::new("ip").args(["-n", &self.netns]).args(args))
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> String {
        run_ok(
            Command::new("ip")
                .args(["netns", "exec", &self.netns])
                .args(args),
        )
    }

    /// Polls `done` every 20 ms for up to 10 s.
    pub fn wait(&self, mut done: impl FnMut() -> bool, what: &str) {
        let end = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OvsSandbox {
    fn drop(&mut self) {
        let d = self.dir.path();
        let ctl = |name: &str, extra: &[&str]| {
            let _ = Command::new("ovs-appctl")
                .arg("-t")
                .arg(d.join(name))
                .arg("exit")
                .args(extra)
                .output();
        };
        ctl("ovs-vswitchd.ctl", &["--cleanup"]);
        ctl("ovsdb-server.ctl", &[]);
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
    }
}
