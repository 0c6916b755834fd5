//! Fixtures for octa's cross-crate tests.
//!
//! Tests in this crate run as root inside the lab's network namespace: the suite command
//! (`tests/run-all.sh`) builds everything, brings the lab up (`tests/lab/up.sh`) and runs
//! the tests through `tests/lab/run.sh`, which loads the lab's env file. A test that needs
//! the lab or root and finds neither fails with a message saying how to run it: nothing
//! is skipped silently.

use std::path::PathBuf;
use std::process::Command;

pub mod agent;
pub mod https;
pub mod install;
pub mod nspawn;
pub mod ovs;
pub mod pty;

/// Path of a binary built from this workspace (`octa`, `octa-control`, `octa-agent`).
///
/// Test executables live in `<target>/<profile>/deps/`; the workspace's binaries are
/// built one level up by `cargo build --workspace` (the suite command does that first).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable lives in <target>/<profile>/deps");
    let bin = profile_dir.join(name);
    assert!(
        bin.exists(),
        "{} is not built; run `cargo build --workspace` first (tests/run-all.sh does)",
        bin.display()
    );
    bin
}

/// A TCP port free on 127.0.0.1 right now (the OS picks it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port on 127.0.0.1")
        .port()
}

/// A variable of the lab's env file, which `tests/lab/run.sh` loads.
pub fn lab_var(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| {
        panic!(
            "{key} is not set: this test needs the lab; run it through \
             `tests/lab/run.sh cargo nextest run ...` after `tests/lab/up.sh` \
             (or the whole suite with `tests/run-all.sh`)"
        )
    })
}

/// Fails the test unless it runs as root (namespaces, OVS and netlink need it).
pub fn require_root() {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "this test needs root; run the suite with `tests/run-all.sh` as root"
    );
}

/// Runs a command and returns its stdout, failing the test with its stderr otherwise.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}:\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stock Octavia's own `status_message.unwrap_envelope(datagram, key)` (python3-octavia,
/// which the lab installs), run on `datagram`: stdout is the decoded JSON on success.
pub fn stock_unwrap_envelope(datagram: &[u8], key: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let script = "import sys, json\n\
                  from octavia.amphorae.backends.health_daemon import status_message\n\
                  print(json.dumps(status_message.unwrap_envelope(sys.stdin.buffer.read(), sys.argv[1])))\n";
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", script, key])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3-octavia (the lab installs it)");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(datagram)
        .expect("write the datagram to python");
    child.wait_with_output().expect("python3 ran")
}
