//! Benchmark (not a test): `octa install --playbook FILE --yes` against the Octavia
//! install guide's command sequence doing the same work on the same lab, side by side in
//! one run: two security groups with their rules, the management network and subnet, the
//! health-manager port bound to this host, and the OVS internal port plumbed with `ovs-vsctl`
//! and `ip`. Then octa's no-op re-run (the guide's sequence has no re-run: repeated, it
//! creates duplicates). Both start from an existing PKI (the guide makes it with openssl in a
//! separate chapter); octa's PKI step is timed on its own.
//!
//! Run inside the lab, as root:
//! `cargo build --release --bin octa && tests/lab/run.sh cargo bench -p octa-tests --bench install`
//! (`OCTA_BIN` overrides the octa binary; `BENCH_RUNS` the repetitions, default 3).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use octa_tests::install::{Lab, list_named, openstack};
use octa_tests::{lab_var, run_ok};

fn octa_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("OCTA_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().unwrap();
    let release = exe.parent().unwrap().parent().unwrap().join("octa");
    assert!(
        release.exists(),
        "{} missing: cargo build --release --bin octa",
        release.display()
    );
    release
}

fn octa(lab: &Lab, args: &[&str]) -> Duration {
    let start = Instant::now();
    run_ok(
        Command::new(octa_bin())
            .args(args)
            .env("OCTA_UNIT_DIR", lab.unit_dir()),
    );
    start.elapsed()
}

/// The install guide (install-ubuntu.rst) with OVS plumbing as devstack does it.
fn guide(lab: &Lab) -> Duration {
    let start = Instant::now();
    let host = run_ok(&mut Command::new("hostname")).trim().to_owned();
    let (amp, hm) = (lab.name("amp-sg"), lab.name("hm-sg"));
    let cidr = format!("172.31.{}.0/24", lab.octet);
    openstack(&["security", "group", "create", &amp]);
    openstack(&[
        "security",
        "group",
        "rule",
        "create",
        "--protocol",
        "icmp",
        &amp,
    ]);
    openstack(&[
        "security",
        "group",
        "rule",
        "create",
        "--protocol",
        "tcp",
        "--dst-port",
        "22",
        &amp,
    ]);
    openstack(&[
        "security",
        "group",
        "rule",
        "create",
        "--protocol",
        "tcp",
        "--dst-port",
        "9443",
        &amp,
    ]);
    openstack(&["security", "group", "create", &hm]);
    openstack(&[
        "security",
        "group",
        "rule",
        "create",
        "--protocol",
        "udp",
        "--dst-port",
        "5555",
        &hm,
    ]);
    openstack(&["network", "create", &lab.name("net")]);
    openstack(&[
        "subnet",
        "create",
        "--subnet-range",
        &cidr,
        "--gateway",
        "none",
        "--network",
        &lab.name("net"),
        &lab.name("sub"),
    ]);
    let port = openstack(&[
        "port",
        "create",
        "--security-group",
        &hm,
        "--device-owner",
        "Octavia:health-mgr",
        "--host",
        &host,
        "--network",
        &lab.name("net"),
        "--fixed-ip",
        &format!(
            "subnet={},ip-address=172.31.{}.2",
            lab.name("sub"),
            lab.octet
        ),
        &lab.name("hm-port"),
        "-f",
        "value",
        "-c",
        "id",
        "-c",
        "mac_address",
    ]);
    let mut f = port.split_whitespace();
    let (id, mac) = (f.next().unwrap().to_owned(), f.next().unwrap().to_owned());
    let db = format!("--db={}", lab_var("OCTA_OVSDB_UNIX"));
    let iface = lab.iface();
    run_ok(Command::new("ovs-vsctl").args([
        &db,
        "--",
        "--may-exist",
        "add-port",
        "br-int",
        &iface,
        "--",
        "set",
        "Interface",
        &iface,
        "type=internal",
        "--",
        "set",
        "Interface",
        &iface,
        "external-ids:iface-status=active",
        "--",
        "set",
        "Interface",
        &iface,
        &format!("external-ids:attached-mac={mac}"),
        "--",
        "set",
        "Interface",
        &iface,
        &format!("external-ids:iface-id={id}"),
        "--",
        "set",
        "Interface",
        &iface,
        "external-ids:skip_cleanup=true",
    ]));
    run_ok(Command::new("ip").args(["link", "set", "dev", &iface, "address", &mac]));
    run_ok(Command::new("ip").args([
        "addr",
        "add",
        &format!("172.31.{}.2/24", lab.octet),
        "dev",
        &iface,
    ]));
    run_ok(Command::new("ip").args(["link", "set", "dev", &iface, "up"]));
    start.elapsed()
}

fn guide_cleanup(lab: &Lab) {
    let db = format!("--db={}", lab_var("OCTA_OVSDB_UNIX"));
    let _ = Command::new("ovs-vsctl")
        .args([&db, "--if-exists", "del-port", "br-int", &lab.iface()])
        .output();
    lab.scrub_neutron();
}

fn p50(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let (mut guide_t, mut octa_t, mut rerun_t, mut pki_t) = (vec![], vec![], vec![], vec![]);
    for i in 0..runs {
        let lab = Lab::new(&format!("bench{i}"), 220 + u8::try_from(i).unwrap());
        guide_cleanup(&lab);
        guide_t.push(guide(&lab));
        guide_cleanup(&lab);

        let book = lab.playbook("");
        let book = book.to_str().unwrap();
        pki_t.push(octa(
            &lab,
            &[
                "pki",
                "init",
                "--dir",
                lab.pki_dir().to_str().unwrap(),
                "--key-type",
                "ec-p384",
            ],
        ));
        octa_t.push(octa(&lab, &["install", "--playbook", book, "--yes"]));
        rerun_t.push(octa(&lab, &["install", "--playbook", book, "--yes"]));
        octa(&lab, &["uninstall", "--playbook", book, "--yes"]);
        assert!(list_named("network", &lab.name("net")).is_empty());
    }
    println!("| {runs} runs, p50 | wall time |");
    println!("|---|---|");
    println!(
        "| install guide sequence (openstack CLI, ovs-vsctl, ip) | {:.2} s |",
        p50(guide_t).as_secs_f64()
    );
    println!(
        "| octa install --yes (PKI present) | {:.2} s |",
        p50(octa_t).as_secs_f64()
    );
    println!(
        "| octa install --yes, no-op re-run | {:.2} s |",
        p50(rerun_t).as_secs_f64()
    );
    println!(
        "| octa pki init (EC P-384, for reference) | {:.2} s |",
        p50(pki_t).as_secs_f64()
    );
}
