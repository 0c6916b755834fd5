//! `octa net` against the real thing (host tier, root): a private ovsdb-server and
//! userspace ovs-vswitchd in a throwaway namespace, the kernel through `ip`, nftables
//! through `nft`. Results are read back with `ovs-vsctl`, `ip -j` and `nft -j`.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use octa_tests::ovs::OvsSandbox;
use octa_tests::workspace_bin;
use serde_json::Value;

const PORT_ID: &str = "2f4e5c1a-9b7d-4c3e-8f6a-1d2c3b4a5e6f";
const MAC: &str = "fa:16:3e:5a:6b:7c";

struct Net<'a> {
    ovs: &'a OvsSandbox,
    state: String,
    units: String,
}

impl<'a> Net<'a> {
    fn new(ovs: &'a OvsSandbox) -> Self {
        Net {
            ovs,
            state: ovs.scratch("state").display().to_string(),
            units: ovs.scratch("units").display().to_string(),
        }
    }

    fn octa(&self, args: &[&str]) -> Output {
        Command::new(workspace_bin("octa"))
            .args(["net"])
            .args(args)
            .args([
                "--state-dir",
                &self.state,
                "--unit-dir",
                &self.units,
                "--timeout",
                "5",
            ])
            .output()
            .unwrap()
    }

    /// `octa net plumb` with the default flags; a flag in `extra` replaces its default.
    fn plumb(&self, extra: &[&str]) -> Output {
        let remote = self.ovs.remote();
        let defaults: [(&str, &str); 7] = [
            ("--ovsdb", &remote),
            ("--netns", &self.ovs.netns),
            ("--port-id", PORT_ID),
            ("--mac", MAC),
            ("--address", "172.31.240.2/24"),
            ("--mtu", "1450"),
            ("--name", "o-hm0"),
        ];
        let mut args = vec!["plumb"];
        for (flag, value) in defaults {
            if !extra.contains(&flag) {
                args.extend([flag, value]);
            }
        }
        if !extra.contains(&"--address") {
            args.extend(["--address", "fd00:6f63:7461::2/64"]);
        }
        args.extend_from_slice(extra);
        self.octa(&args)
    }

    fn plumb_ok(&self) -> String {
        let out = self.plumb(&[]);
        assert!(
            out.status.success(),
            "plumb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn link(&self) -> Value {
        let v: Value =
            serde_json::from_str(&self.ovs.ip(&["-j", "addr", "show", "dev", "o-hm0"])).unwrap();
        v[0].clone()
    }

    fn next_cfg(&self) -> String {
        self.ovs.vsctl(&["get", "open_vswitch", ".", "next_cfg"])
    }
}

fn addresses(link: &Value) -> Vec<String> {
    link["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["scope"] == "global")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect()
}

fn assert_converged(net: &Net<'_>) {
    let o = net.ovs;
    assert_eq!(
        o.vsctl(&["get", "interface", "o-hm0", "type"]).trim(),
        "internal"
    );
    let ids = o.vsctl(&["get", "interface", "o-hm0", "external_ids"]);
    for want in [
        format!("iface-id=\"{PORT_ID}\""),
        format!("attached-mac=\"{MAC}\""),
        "iface-status=active".to_owned(),
        "skip_cleanup=\"true\"".to_owned(),
        "octa-owner=octa".to_owned(),
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids}");
    }
    assert_eq!(
        o.vsctl(&["get", "interface", "o-hm0", "mac"]).trim(),
        format!("\"{MAC}\"")
    );
    assert_eq!(
        o.vsctl(&["get", "interface", "o-hm0", "mtu_request"])
            .trim(),
        "1450"
    );
    assert!(
        o.vsctl(&["get", "port", "o-hm0", "external_ids"])
            .contains("octa-owner=octa")
    );
    let link = net.link();
    assert_eq!(link["address"], MAC);
    assert_eq!(link["mtu"], 1450);
    assert!(
        link["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
        "{link}"
    );
    let mut addrs = addresses(&link);
    addrs.sort();
    assert_eq!(addrs, ["172.31.240.2/24", "fd00:6f63:7461::2/64"]);
    assert_eq!(
        o.ip(&["route", "show", "default"]).trim(),
        "",
        "a default route appeared"
    );
    assert_eq!(o.ip(&["-6", "route", "show", "default"]).trim(), "");
    assert_eq!(
        o.exec(&["cat", "/proc/sys/net/ipv6/conf/o-hm0/accept_ra"])
            .trim(),
        "0"
    );
    let table: Value =
        serde_json::from_str(&o.exec(&["nft", "-j", "list", "table", "inet", "octa_hm"])).unwrap();
    let rules: Vec<&Value> = table["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("rule").is_some())
        .collect();
    assert_eq!(rules.len(), 4, "{table}");
    let text = o.exec(&["nft", "list", "table", "inet", "octa_hm"]);
    assert!(
        text.contains("iifname \"o-hm0\" udp dport 5555 accept"),
        "{text}"
    );
    assert!(text.contains("iifname \"o-hm0\" drop"), "{text}");
}

#[test]
fn plumb_sets_every_column_and_property_and_a_rerun_writes_nothing() {
    let ovs = OvsSandbox::start();
    let net = Net::new(&ovs);
    let first = net.plumb_ok();
    assert!(first.contains("OVS port created"), "{first}");
    assert_converged(&net);
    let state = std::path::Path::new(&net.state).join("o-hm0.json");
    let state_before = std::fs::metadata(&state).unwrap().modified().unwrap();

    let cfg = net.next_cfg();
    let out = net.plumb(&["--json"]);
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ovsdb_write_transactions"], 0, "{report}");
    assert_eq!(report["link"], serde_json::json!([]));
    assert_eq!(report["firewall_written"], false);
    assert_eq!(
        net.next_cfg(),
        cfg,
        "the re-run told ovs-vswitchd to reconfigure"
    );
    assert_eq!(
        std::fs::metadata(&state).unwrap().modified().unwrap(),
        state_before
    );
    assert_converged(&net);

    let show = net.octa(&["show", "--name", "o-hm0", "--json"]);
    assert_eq!(
        show.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&show.stdout)
    );
    let doc: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert!(
        doc["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["ok"] == true),
        "{doc}"
    );
}

#[test]
fn drift_in_the_kernel_and_in_ovsdb_is_repaired() {
    let ovs = OvsSandbox::start();
    let net = Net::new(&ovs);
    net.plumb_ok();
    ovs.ip(&["link", "set", "dev", "o-hm0", "mtu", "1300"]);
    ovs.ip(&["addr", "del", "172.31.240.2/24", "dev", "o-hm0"]);
    ovs.ip(&["addr", "add", "172.31.240.77/24", "dev", "o-hm0"]);
    ovs.ip(&["link", "set", "dev", "o-hm0", "down"]);
    let show = net.octa(&["show", "--name", "o-hm0"]);
    assert_eq!(show.status.code(), Some(3), "show must report the drift");
    let out = net.plumb_ok();
    // ovs-vswitchd may already have put the MTU back from mtu_request; the rest is ours.
    assert!(
        out.contains("removed 172.31.240.77/24")
            && out.contains("added 172.31.240.2/24")
            && out.contains(": up"),
        "{out}"
    );
    assert_converged(&net);

    // A MAC changed by hand: ovs-vswitchd re-applies the `mac` column on its own, and
    // the change costs the interface its IPv6 address; whoever repairs what, the run
    // must end converged.
    ovs.ip(&[
        "link",
        "set",
        "dev",
        "o-hm0",
        "address",
        "fa:16:3e:00:00:99",
    ]);
    net.plumb_ok();
    assert_converged(&net);

    ovs.vsctl(&[
        "set",
        "interface",
        "o-hm0",
        "external_ids:iface-status=down",
        "external_ids:extra=kept",
        "mtu_request=1500",
    ]);
    ovs.exec(&[
        "nft",
        "delete",
        "rule",
        "inet",
        "octa_hm",
        "input",
        "handle",
        &rule_handle(&ovs),
    ]);
    let out = net.plumb_ok();
    assert!(
        out.contains("repaired external_ids:iface-status, mtu_request"),
        "{out}"
    );
    assert!(out.contains("firewall table written"), "{out}");
    assert_converged(&net);
    assert!(
        ovs.vsctl(&["get", "interface", "o-hm0", "external_ids"])
            .contains("extra=kept"),
        "a foreign key was dropped"
    );
}

fn rule_handle(ovs: &OvsSandbox) -> String {
    let text = ovs.exec(&["nft", "-a", "list", "table", "inet", "octa_hm"]);
    let line = text.lines().find(|l| l.contains("udp dport")).unwrap();
    line.rsplit("handle ").next().unwrap().trim().to_owned()
}

#[test]
fn foreign_ports_and_tables_are_never_touched() {
    let ovs = OvsSandbox::start();
    let net = Net::new(&ovs);
    // Someone else's port under our name: refused, unchanged.
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "o-hm0",
        "--",
        "set",
        "interface",
        "o-hm0",
        "type=internal",
    ]);
    let out = net.plumb(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("OVS port o-hm0 exists but is not owned by octa"),
        "{err}"
    );
    assert_eq!(
        ovs.vsctl(&["get", "interface", "o-hm0", "external_ids"])
            .trim(),
        "{}"
    );
    ovs.vsctl(&["del-port", "br-int", "o-hm0"]);

    // Ours next to a foreign port and a foreign table; unplumb removes only ours.
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "foreign0",
        "--",
        "set",
        "interface",
        "foreign0",
        "type=internal",
        "external_ids:owner=someone",
    ]);
    ovs.exec(&["nft", "add", "table", "inet", "someone_else"]);
    net.plumb_ok();
    let out = net.octa(&["unplumb", "--name", "o-hm0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ports = ovs.vsctl(&["list-ports", "br-int"]);
    assert_eq!(ports.trim(), "foreign0");
    assert!(
        ovs.vsctl(&["get", "interface", "foreign0", "external_ids"])
            .contains("owner=someone")
    );
    let tables = ovs.exec(&["nft", "list", "tables"]);
    assert!(
        tables.contains("someone_else") && !tables.contains("octa_hm"),
        "{tables}"
    );
    assert!(
        std::fs::read_dir(&net.units).unwrap().next().is_none(),
        "boot unit left behind"
    );
    // A second unplumb has nothing recorded to remove and says so.
    let again = net.octa(&["unplumb", "--name", "o-hm0"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("No state for o-hm0"));
}

#[test]
fn without_ovs_vswitchd_plumb_fails_clearly_within_its_deadline() {
    let ovs = OvsSandbox::start();
    ovs.stop_vswitchd();
    let net = Net::new(&ovs);
    let started = Instant::now();
    let out = net.plumb(&[]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is ovs-vswitchd running?"), "{err}");
    // --timeout 5: it gave up instead of hanging like `ovs-vsctl` without --no-wait.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn the_boot_unit_command_restores_the_interface_after_a_reboot() {
    let ovs = OvsSandbox::start();
    let net = Net::new(&ovs);
    net.plumb_ok();
    let before_link = net.link();
    let before_fw = ovs.exec(&["nft", "list", "table", "inet", "octa_hm"]);
    let unit =
        std::fs::read_to_string(std::path::Path::new(&net.units).join("octa-net-o-hm0.service"))
            .unwrap();
    let state = std::path::Path::new(&net.state).join("o-hm0.json");
    assert!(
        unit.contains(&format!("net converge --state {}", state.display())),
        "{unit}"
    );
    assert!(
        unit.contains("After=") && unit.contains("openvswitch-switch.service"),
        "{unit}"
    );

    // A reboot: the netdev, its addresses and the nftables ruleset are gone; OVS comes back.
    ovs.stop_vswitchd();
    ovs.ip(&["link", "del", "o-hm0"]);
    ovs.exec(&["nft", "flush", "ruleset"]);
    ovs.start_vswitchd();

    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let mut words = exec.split_whitespace();
    let out = Command::new(words.next().unwrap())
        .args(words)
        .args(["--timeout", "10"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after_link = net.link();
    for key in ["address", "mtu", "flags"] {
        assert_eq!(after_link[key], before_link[key], "{key}");
    }
    let (mut a, mut b) = (addresses(&after_link), addresses(&before_link));
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(
        ovs.exec(&["nft", "list", "table", "inet", "octa_hm"]),
        before_fw
    );
    assert_converged(&net);
}

#[test]
fn bad_input_is_refused_naming_the_flag_and_nothing_is_created() {
    let ovs = OvsSandbox::start();
    let net = Net::new(&ovs);
    let cases: [(&[&str], &str); 5] = [
        (&["--mac", "fa:16:3e:zz:00:01"], "Invalid --mac"),
        (&["--mtu", "60"], "Invalid --mtu"),
        (&["--name", "a-name-longer-than-15"], "Invalid --name"),
        (&["--address", "172.31.240.0/24"], "Invalid --address"),
        (
            &["--ovsdb", "db.sock"],
            "Invalid --ovsdb \"db.sock\": unix:PATH or tcp:HOST:PORT",
        ),
    ];
    for (extra, words) in cases {
        let out = net.plumb(extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert!(err.contains(words), "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let cidr = net.plumb(&["--address", "not-a-cidr"]);
    assert_eq!(cidr.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&cidr.stderr).contains("is not a CIDR"));
    assert_eq!(
        ovs.vsctl(&["list-ports", "br-int"]).trim(),
        "",
        "something was created"
    );
    assert!(std::fs::read_dir(&net.state).unwrap().next().is_none());
}
