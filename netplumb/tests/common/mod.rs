//! Fixtures of netplumb's host-tier tests (root, real kernel, real Open vSwitch).
//!
//! Every test first calls [`isolate`]: the test's thread moves into a fresh network
//! namespace (nextest runs each test in its own process, `cargo test` on its own
//! thread; both work), and every process and thread it starts inherits it. So the
//! private ovsdb-server, the userspace ovs-vswitchd, their internal ports, the nftables
//! tables and every address the test makes live in that namespace and vanish with it.
//! [`Ovs`] stops its daemons on drop; [`NamedNetns`] deletes its namespace on drop.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]
// A panic is the test failing: helpers unwrap and expect freely.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, unshare};

/// Fails the test, saying how to run it, unless it runs as root.
pub fn require_root() {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "this host-tier test needs root (network namespaces, OVS, nftables): \
         run it as root, e.g. through tests/lab/run.sh cargo nextest run --workspace"
    );
}

/// Moves the calling thread into a new, empty network namespace with `lo` up.
pub fn isolate() {
    require_root();
    unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
    run_ok(Command::new("ip").args(["link", "set", "lo", "up"]));
}

/// Runs a command and returns its stdout; fails the test with its stderr otherwise.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `done` until it holds, failing the test after 10 s.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            Instant::now() < end,
            "timed out after 10 s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `ip -j ARGS`, parsed.
pub fn ip_json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&run_ok(Command::new("ip").arg("-j").args(args))).unwrap()
}

/// A private ovsdb-server and userspace ovs-vswitchd with `br-int` (netdev datapath), in
/// the test's namespace; both stopped on drop.
pub struct Ovs {
    dir: tempfile::TempDir,
}

impl Ovs {
    /// Isolates the test (see [`isolate`]) and starts OVS in its namespace.
    pub fn start() -> Self {
        isolate();
        // A short path: the unix socket's must stay under 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("npovs")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let ovs = Ovs { dir };
        run_ok(
            Command::new("ovsdb-tool")
                .arg("create")
                .arg(ovs.path("conf.db"))
                .arg("/usr/share/openvswitch/vswitch.ovsschema"),
        );
        ovs.start_ovsdb();
        ovs.vsctl(&["init"]);
        ovs.start_vswitchd();
        ovs.vsctl(&[
            "add-br",
            "br-int",
            "--",
            "set",
            "bridge",
            "br-int",
            "datapath_type=netdev",
        ]);
        wait_until("br-int's ofport", || {
            ovs.vsctl(&["get", "interface", "br-int", "ofport"]).trim() == "65534"
        });
        ovs
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts ovsdb-server on `unix:DIR/db.sock` (again, after [`Ovs::stop_ovsdb`]).
    pub fn start_ovsdb(&self) {
        run_ok(
            Command::new("ovsdb-server")
                .arg(self.path("conf.db"))
                .arg(format!("--remote=punix:{}", self.path("db.sock").display()))
                .arg(format!("--pidfile={}", self.path("ovsdb.pid").display()))
                .arg(format!("--unixctl={}", self.path("ovsdb.ctl").display()))
                .arg(format!("--log-file={}", self.path("ovsdb.log").display()))
                .args(["--detach", "--no-chdir"]),
        );
    }

    /// Stops ovsdb-server and waits until it has exited.
    pub fn stop_ovsdb(&self) {
        self.kill("ovsdb.pid");
    }

    /// Starts ovs-vswitchd (again, after [`Ovs::stop_vswitchd`]).
    pub fn start_vswitchd(&self) {
        run_ok(
            Command::new("ovs-vswitchd")
                .arg(self.remote())
                .arg(format!("--pidfile={}", self.path("vswitchd.pid").display()))
                .arg(format!("--unixctl={}", self.path("vswitchd.ctl").display()))
                .arg(format!(
                    "--log-file={}",
                    self.path("vswitchd.log").display()
                ))
                .args(["--detach", "--no-chdir"])
                // br-int.mgmt and friends go to the temp dir, not /var/run/openvswitch.
                .env("OVS_RUNDIR", self.dir.path()),
        );
    }

    /// Stops ovs-vswitchd as a crash or a reboot would: its taps stay behind.
    pub fn stop_vswitchd(&self) {
        self.kill("vswitchd.pid");
    }

    fn kill(&self, pid_file: &str) {
        let pid_file = self.path(pid_file);
        let pid = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .to_owned();
        run_ok(Command::new("kill").arg(&pid));
        wait_until(&format!("pid {pid} to exit"), || {
            !Path::new(&format!("/proc/{pid}")).exists()
        });
        let _ = std::fs::remove_file(pid_file);
    }

    /// The OVSDB remote, `unix:...`.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.path("db.sock").display())
    }

    /// A directory for the test's own files.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// `ovs-vsctl --no-wait` on this OVSDB: never waits for ovs-vswitchd.
    pub fn vsctl(&self, args: &[&str]) -> String {
        run_ok(
            Command::new("ovs-vsctl")
                .arg(format!("--db={}", self.remote()))
                .args(["--no-wait", "--timeout=10"])
                .args(args),
        )
    }

    /// `ovs-vsctl get TABLE RECORD COLUMN`, trimmed.
    pub fn get(&self, table: &str, record: &str, column: &str) -> String {
        self.vsctl(&["get", table, record, column])
            .trim()
            .to_owned()
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        for (ctl, extra) in [("vswitchd.ctl", &["--cleanup"][..]), ("ovsdb.ctl", &[])] {
            let _ = Command::new("ovs-appctl")
                .arg("-t")
                .arg(self.path(ctl))
                .arg("exit")
                .args(extra)
                .output();
        }
    }
}

/// A named namespace (`/run/netns/NAME`, what `--netns` names), deleted on drop.
pub struct NamedNetns {
    /// Its name.
    pub name: String,
}

impl NamedNetns {
    /// Creates `octa-np<pid>-<tag>` with `lo` up.
    pub fn create(tag: &str) -> Self {
        let name = format!("octa-np{}-{tag}", std::process::id());
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = NamedNetns { name };
        run_ok(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]));
        ns
    }

    /// `ip -n NAME -j ARGS`, parsed.
    pub fn ip_json(&self, args: &[&str]) -> serde_json::Value {
        ip_json(&[&["-n", &self.name][..], args].concat())
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
