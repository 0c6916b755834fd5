//! A booted amphora image for tests: systemd as PID 1 of a `systemd-nspawn` container
//! over the root file system of `tests/lab/amphora-root.sh` (built once per machine),
//! with a volatile overlay (the root is never written), sharing the test's network
//! namespace (so its loopback is the test's), and the test's directories bound in at
//! the same paths. Commands run inside through `nsenter`. Shut down on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::run_ok;

/// A running container.
pub struct Amphora {
    nspawn: Child,
    /// PID of its systemd, as seen from the test.
    pub leader: u32,
    /// Where its console output goes.
    pub console: PathBuf,
    _log_dir: tempfile::TempDir,
}

fn amphora_root() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("lab/amphora-root.sh");
    run_ok(&mut Command::new(script)).trim().to_owned()
}

/// The first descendant of `pid` whose command name is `comm`.
fn descendant_named(pid: u32, comm: &str) -> Option<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .find_map(|child| {
            let named = std::fs::read_to_string(format!("/proc/{child}/comm"))
                .is_ok_and(|c| c.trim() == comm);
            if named {
                Some(child)
            } else {
                descendant_named(child, comm)
            }
        })
}

/// Where directories shared with containers are made: not under /tmp, which an image's
/// `systemd-tmpfiles --boot` empties, nor under /var/tmp, which it ages.
const SHARED_PARENT: &str = "/var/lib/octa-tests";

impl Amphora {
    /// A new directory to bind into a container (removed on drop).
    pub fn shared_dir() -> tempfile::TempDir {
        std::fs::create_dir_all(SHARED_PARENT).expect("amphora setup");
        tempfile::tempdir_in(SHARED_PARENT).expect("amphora setup")
    }

    /// Boots it with `binds` (read-write) and `read_only` paths of the test bound at the
    /// same paths inside, and waits until systemd has finished booting.
    pub fn boot(tag: &str, binds: &[&Path], read_only: &[&Path]) -> Self {
        let root = amphora_root();
        let log_dir = tempfile::tempdir().expect("amphora setup");
        let console = log_dir.path().join("console.log");
        // `ip netns exec` (how the tests enter the lab) mounts a fresh /sys without the
        // cgroup hierarchies systemd needs: in a mount namespace of its own, nspawn gets
        // the host's hybrid layout back (the named `systemd` v1 hierarchy and the v2 one
        // are the host's, mounted again). The network namespace stays the test's.
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-ec"])
            .arg(
                "mountpoint -q /sys/fs/cgroup/systemd || { \
                   mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup; \
                   mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; \
                   mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd; \
                   mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified; }; \
                 exec systemd-nspawn \"$@\"",
            )
            .arg("nspawn")
            .args(["--quiet", "--boot", "--directory", &root])
            .args([
                "--machine",
                &format!("octa-amp-{}-{tag}", std::process::id()),
            ])
            // No systemd on the host to register with or to make a scope for us.
            .args(["--register=no", "--keep-unit", "--volatile=overlay"])
            // An amphora configures its namespaces; nspawn withholds this capability from
            // containers sharing the network namespace they started in.
            .arg("--capability=CAP_NET_ADMIN,CAP_NET_RAW")
            .arg("--console=read-only");
        for path in binds {
            cmd.arg(format!("--bind={}", path.display()));
        }
        for path in read_only {
            cmd.arg(format!("--bind-ro={}", path.display()));
        }
        // An amphora sets sysctls in its namespaces (non-local bind, forwarding); nspawn
        // mounts /proc/sys read-only unless told otherwise.
        cmd.env("SYSTEMD_NSPAWN_API_VFS_WRITABLE", "network");
        let log = std::fs::File::create(&console).expect("amphora setup");
        let nspawn = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("amphora setup"))
            .stderr(log)
            .spawn()
            .expect("systemd-nspawn (package systemd-container) must be installed");
        let nspawn_pid = nspawn.id();
        let mut amphora = Amphora {
            nspawn,
            leader: 0,
            console,
            _log_dir: log_dir,
        };
        let end = Instant::now() + Duration::from_secs(30);
        amphora.leader = loop {
            if let Some(pid) = descendant_named(nspawn_pid, "systemd") {
                break pid;
            }
            assert!(
                Instant::now() < end,
                "no systemd in the container: {}",
                amphora.console_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // Running, or degraded if a unit failed (the image's own, none of the test's
        // yet). Until systemd has set up its bus, systemctl cannot even ask.
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let out = amphora
                .command("systemctl")
                .arg("is-system-running")
                .output()
                .expect("amphora setup");
            let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if state == "running" || state == "degraded" {
                break;
            }
            assert!(
                Instant::now() < end,
                "the container did not boot ({state}, {}): {}",
                String::from_utf8_lossy(&out.stderr),
                amphora.console_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        amphora
    }

    /// A command run inside the container (all its namespaces).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.leader.to_string(), "-a", program]);
        cmd
    }

    /// The prefix that runs a program inside the container.
    pub fn prefix(&self) -> Vec<String> {
        ["nsenter", "-t", &self.leader.to_string(), "-a"]
            .map(str::to_owned)
            .to_vec()
    }

    /// `systemctl ARGS` inside: its trimmed stdout (the state for `is-active` and
    /// `is-enabled`, whatever the exit code).
    pub fn systemctl(&self, args: &[&str]) -> String {
        let out = self
            .command("systemctl")
            .args(args)
            .output()
            .expect("nsenter systemctl");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// What the container printed so far (for failure messages).
    pub fn console_text(&self) -> String {
        std::fs::read_to_string(&self.console).unwrap_or_default()
    }
}

impl Drop for Amphora {
    fn drop(&mut self) {
        // SIGTERM asks systemd-nspawn for an orderly shutdown of the container.
        let _ = Command::new("kill")
            .args(["-TERM", &self.nspawn.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end {
            if matches!(self.nspawn.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
    }
}
