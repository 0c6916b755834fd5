//! `octa net plumb` against the lab's real Neutron and neutron-openvswitch-agent: a
//! health-manager port created in Neutron and plumbed by octa goes ACTIVE.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use octa_tests::{lab_var, require_root, run_ok, workspace_bin};

fn openstack(args: &[&str]) -> String {
    run_ok(Command::new("openstack").args(args).env("OS_CLOUD", "lab"))
}

/// Neutron resources of one test run, deleted on drop (port first).
struct NeutronFixture {
    suffix: String,
}

impl Drop for NeutronFixture {
    fn drop(&mut self) {
        for (kind, name) in [("port", "hm"), ("subnet", "lbm-sub"), ("network", "lbm")] {
            let _ = Command::new("openstack")
                .args([kind, "delete", &format!("octa-test-{name}-{}", self.suffix)])
                .env("OS_CLOUD", "lab")
                .output();
        }
    }
}

#[test]
fn a_port_plumbed_by_octa_goes_active_in_neutron() {
    require_root();
    let ovsdb = lab_var("OCTA_OVSDB_UNIX");
    let fx = NeutronFixture {
        suffix: std::process::id().to_string(),
    };
    let name = |n: &str| format!("octa-test-{n}-{}", fx.suffix);
    openstack(&[
        "network",
        "create",
        "--provider-network-type",
        "vxlan",
        &name("lbm"),
    ]);
    openstack(&[
        "subnet",
        "create",
        "--network",
        &name("lbm"),
        "--subnet-range",
        "172.31.201.0/24",
        "--gateway",
        "none",
        &name("lbm-sub"),
    ]);
    let host = run_ok(&mut Command::new("hostname")).trim().to_owned();
    let port = openstack(&[
        "port",
        "create",
        "--network",
        &name("lbm"),
        "--device-owner",
        "Octavia:health-mgr",
        "--host",
        &host,
        "--fixed-ip",
        &format!("subnet={},ip-address=172.31.201.2", name("lbm-sub")),
        &name("hm"),
        "-f",
        "value",
        "-c",
        "id",
        "-c",
        "mac_address",
    ]);
    let mut fields = port.split_whitespace();
    let (id, mac) = (
        fields.next().unwrap().to_owned(),
        fields.next().unwrap().to_owned(),
    );
    assert_eq!(
        openstack(&["port", "show", &id, "-f", "value", "-c", "status"]).trim(),
        "DOWN"
    );

    let dirs = tempfile::tempdir().unwrap();
    let iface = format!("o-hmt{}", std::process::id() % 10_000);
    let octa = |args: &[&str]| {
        let out = Command::new(workspace_bin("octa"))
            .arg("net")
            .args(args)
            .arg("--state-dir")
            .arg(dirs.path().join("state"))
            .arg("--unit-dir")
            .arg(dirs.path().join("units"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "octa net {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    octa(&[
        "plumb",
        "--ovsdb",
        &ovsdb,
        "--name",
        &iface,
        "--port-id",
        &id,
        "--mac",
        &mac,
        "--address",
        "172.31.201.2/24",
        "--mtu",
        "1450",
        "--no-firewall",
    ]);

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut status = String::new();
    while Instant::now() < deadline {
        status = openstack(&["port", "show", &id, "-f", "value", "-c", "status"])
            .trim()
            .to_owned();
        if status == "ACTIVE" {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    octa(&["unplumb", "--name", &iface]);
    assert_eq!(
        status, "ACTIVE",
        "Neutron never bound the port octa plumbed"
    );
    let vif = openstack(&["port", "show", &id, "-f", "value", "-c", "binding_vif_type"]);
    assert_eq!(vif.trim(), "ovs");
}
