//! Benchmark (not a test): `octa net plumb` against the command sequence of Octavia's
//! devstack plugin (`ovs-vsctl -- --may-exist add-port ... external-ids ...`, then
//! `ip link set address`, `mtu`, `ip addr`, `up`) doing the same work on the same
//! private OVS, side by side in one run: cold (no port) and re-run (already plumbed).
//! Both leave out the firewall and persistence, which the recipe does not have.
//!
//! Run as root: `cargo build --release --bin octa && cargo bench -p octa-tests --bench net_plumb`
//! (`OCTA_BIN` overrides the octa binary; `BENCH_RUNS` the repetitions, default 15).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use octa_tests::ovs::OvsSandbox;
use octa_tests::run_ok;

const PORT_ID: &str = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const MAC: &str = "fa:16:3e:11:22:33";
const ADDR: &str = "172.31.250.2/24";

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

fn octa_plumb(ovs: &OvsSandbox, octa: &PathBuf) {
    run_ok(Command::new(octa).args([
        "net",
        "plumb",
        "--ovsdb",
        &ovs.remote(),
        "--netns",
        &ovs.netns,
        "--name",
        "o-hm0",
        "--port-id",
        PORT_ID,
        "--mac",
        MAC,
        "--address",
        ADDR,
        "--mtu",
        "1450",
        "--no-firewall",
        "--no-persist",
    ]));
}

/// Octavia's devstack recipe: ovs-vsctl waits for ovs-vswitchd (no --no-wait), then ip.
fn devstack_plumb(ovs: &OvsSandbox) {
    run_ok(
        Command::new("ovs-vsctl")
            .arg(format!("--db={}", ovs.remote()))
            .args([
                "--",
                "--may-exist",
                "add-port",
                "br-int",
                "o-hm0",
                "--",
                "set",
                "Interface",
                "o-hm0",
                "type=internal",
                "--",
                "set",
                "Interface",
                "o-hm0",
                "external-ids:iface-status=active",
                "--",
                "set",
                "Interface",
                "o-hm0",
                &format!("external-ids:attached-mac={MAC}"),
                "--",
                "set",
                "Interface",
                "o-hm0",
                &format!("external-ids:iface-id={PORT_ID}"),
                "--",
                "set",
                "Interface",
                "o-hm0",
                "external-ids:skip_cleanup=true",
            ]),
    );
    for args in [
        vec!["link", "set", "dev", "o-hm0", "address", MAC],
        vec!["link", "set", "dev", "o-hm0", "mtu", "1450"],
        vec!["addr", "replace", ADDR, "dev", "o-hm0"],
        vec!["link", "set", "dev", "o-hm0", "up"],
    ] {
        ovs.ip(&args);
    }
}

fn reset(ovs: &OvsSandbox) {
    ovs.vsctl(&["--if-exists", "del-port", "br-int", "o-hm0"]);
    ovs.wait(
        || {
            !Command::new("ip")
                .args(["-n", &ovs.netns, "link", "show", "o-hm0"])
                .output()
                .unwrap()
                .status
                .success()
        },
        "o-hm0 to go",
    );
}

fn time(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(samples[((samples.len() as f64 - 1.0) * q).round() as usize]);
    (p(0.5), p(0.9))
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let octa = octa_bin();
    let ovs = OvsSandbox::start();
    type Plumb<'a> = Box<dyn Fn() + 'a>;
    let tools: [(&str, Plumb<'_>); 2] = [
        ("octa net plumb", Box::new(|| octa_plumb(&ovs, &octa))),
        (
            "ovs-vsctl + ip (devstack)",
            Box::new(|| devstack_plumb(&ovs)),
        ),
    ];
    println!("{runs} runs each, private OVS (userspace ovs-vswitchd, br-int netdev), release octa");
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12}",
        "", "cold p50 ms", "cold p90 ms", "rerun p50 ms", "rerun p90 ms"
    );
    for (name, plumb) in &tools {
        let (mut cold, mut rerun) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            reset(&ovs);
            cold.push(time(plumb));
            rerun.push(time(plumb));
        }
        let (c50, c90) = stats(cold);
        let (r50, r90) = stats(rerun);
        println!("{name:<28} {c50:>12.1} {c90:>12.1} {r50:>12.1} {r90:>12.1}");
    }
    reset(&ovs);
}
