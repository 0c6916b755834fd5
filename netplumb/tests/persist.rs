//! The boot path at library level (host tier, root): `plumb::setup` from a state file
//! written by `persist::write_state`, a simulated reboot (netdev, addresses and
//! nftables gone, ovs-vswitchd restarted), then `setup` from `persist::read_state` of
//! the same file, which is what `octa net converge --state FILE` runs. The interface
//! comes back with the same MAC, MTU, addresses and firewall. `tests/tests/net_host.rs`
//! runs the same path through the `octa` binary and the unit's ExecStart line.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::{Ovs, ip_json, run_ok};
use octa_netplumb::persist::{self, PlumbState, STATE_VERSION};
use octa_netplumb::plumb;
use serde_json::Value;

fn state(ovs: &Ovs) -> PlumbState {
    PlumbState {
        version: STATE_VERSION,
        ovsdb: ovs.remote(),
        bridge: "br-int".into(),
        name: "o-hm0".into(),
        iface_id: "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a".into(),
        mac: "fa:16:3e:44:55:66".into(),
        mtu: Some(1442),
        addresses: vec![
            "172.31.231.2/24".parse().unwrap(),
            "fd00:6f63:7461:e7::2/64".parse().unwrap(),
        ],
        netns: None,
        firewall_port: Some(5555),
        owner: "install-42".into(),
    }
}

/// What a reboot must give back: kernel MAC, MTU, flags, global addresses, firewall.
fn snapshot() -> (Value, Value, Value, Vec<String>, String) {
    let link = ip_json(&["addr", "show", "dev", "o-hm0"])[0].clone();
    let mut addrs: Vec<String> = link["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["scope"] == "global")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    addrs.sort();
    let fw = run_ok(Command::new("nft").args(["list", "table", "inet", "octa_hm"]));
    (
        link["address"].clone(),
        link["mtu"].clone(),
        link["flags"].clone(),
        addrs,
        fw,
    )
}

#[tokio::test]
async fn converging_from_the_state_file_restores_the_interface_after_a_reboot() {
    let ovs = Ovs::start();
    let file = ovs.scratch("state").join("o-hm0.json");
    let wanted = state(&ovs);
    assert!(persist::write_state(&file, &wanted).unwrap());
    assert!(
        !persist::write_state(&file, &wanted).unwrap(),
        "rewrote an identical state file"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "the atomic write left a temp file");

    let deadline = Duration::from_secs(5);
    let first = plumb::setup(&wanted, deadline).await.unwrap();
    assert_eq!(first.ovs, "created");
    let before = snapshot();
    assert_eq!(before.0, "fa:16:3e:44:55:66");
    assert_eq!(before.1, 1442);
    assert_eq!(before.3, ["172.31.231.2/24", "fd00:6f63:7461:e7::2/64"]);
    assert!(plumb::setup(&wanted, deadline).await.unwrap().unchanged());

    // The reboot: ovs-vswitchd goes, and with it the netdev and its addresses, and the
    // kernel's nftables ruleset; OVSDB (on disk) keeps the rows; Open vSwitch comes back.
    ovs.stop_vswitchd();
    run_ok(Command::new("ip").args(["link", "del", "o-hm0"]));
    run_ok(Command::new("nft").args(["flush", "ruleset"]));
    ovs.start_vswitchd();

    let loaded = persist::read_state(&file).unwrap();
    assert_eq!(loaded, wanted);
    let report = plumb::setup(&loaded, deadline).await.unwrap();
    assert_eq!(
        report.ovs, "unchanged",
        "the OVSDB rows survived: nothing to write there"
    );
    assert!(report.firewall_written);
    assert_eq!(snapshot(), before);
    let show = plumb::show(&loaded, deadline).await.unwrap();
    let failed: Vec<_> = show.verdicts.iter().filter(|v| !v.ok).collect();
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn the_unit_runs_the_converge_command_after_open_vswitch() {
    let text = persist::unit_text(
        std::path::Path::new("/usr/local/bin/octa"),
        std::path::Path::new("/var/lib/octa/net/o-hm0.json"),
        "o-hm0",
    );
    assert!(text.contains(
        "ExecStart=/usr/local/bin/octa net converge --state /var/lib/octa/net/o-hm0.json"
    ));
    assert!(text.contains("After=") && text.contains("openvswitch-switch.service"));
    assert!(text.contains("WantedBy=multi-user.target"));
    assert_eq!(persist::unit_name("o-hm0"), "octa-net-o-hm0.service");
    let dir = tempfile::tempdir().unwrap();
    let (path, changed) = persist::install_unit(dir.path(), "o-hm0", &text).unwrap();
    assert!(changed && path.exists());
    assert!(!persist::install_unit(dir.path(), "o-hm0", &text).unwrap().1);
    assert!(persist::remove_unit(dir.path(), "o-hm0").unwrap());
    assert!(!path.exists());
}
