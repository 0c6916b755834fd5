//! `ovs::ensure_internal_port` and `ensure_internal_port_absent` against a real
//! ovsdb-server and userspace ovs-vswitchd (host tier, root): every column as
//! `ovs-vsctl` sees it, no write at all on a converged port, each drifted column
//! repaired, foreign ports refused and never touched, and a clear, bounded failure
//! when ovs-vswitchd is absent.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::Ovs;
use octa_netplumb::NetError;
use octa_netplumb::ovs::{self, InternalPortSpec, PortOutcome};
use octa_netplumb::ovsdb::{Ovsdb, Remote};

const MAC: &str = "fa:16:3e:10:20:30";

fn spec() -> InternalPortSpec {
    InternalPortSpec {
        bridge: "br-int".into(),
        name: "o-hm0".into(),
        iface_id: "0c7e1f2a-3b4c-4d5e-8f90-a1b2c3d4e5f6".into(),
        mac: MAC.into(),
        mtu: Some(1450),
        owner: "install-42".into(),
    }
}

async fn connect(ovs: &Ovs) -> Ovsdb {
    Ovsdb::connect(
        &Remote::parse(&ovs.remote()).unwrap(),
        Duration::from_secs(5),
    )
    .await
    .unwrap()
}

fn assert_columns(ovs: &Ovs) {
    assert_eq!(ovs.get("interface", "o-hm0", "type"), "internal");
    let ids = ovs.get("interface", "o-hm0", "external_ids");
    for want in [
        "iface-id=\"0c7e1f2a-3b4c-4d5e-8f90-a1b2c3d4e5f6\"",
        "attached-mac=\"fa:16:3e:10:20:30\"",
        "iface-status=active",
        "skip_cleanup=\"true\"",
        "octa-owner=install-42",
    ] {
        assert!(ids.contains(want), "{want} missing from {ids}");
    }
    assert_eq!(ovs.get("interface", "o-hm0", "mac"), format!("\"{MAC}\""));
    assert_eq!(ovs.get("interface", "o-hm0", "mtu_request"), "1450");
    assert!(
        ovs.get("port", "o-hm0", "external_ids")
            .contains("octa-owner=install-42")
    );
    assert_eq!(ovs.vsctl(&["port-to-br", "o-hm0"]).trim(), "br-int");
}

#[tokio::test]
async fn a_port_is_created_with_every_column_and_a_converged_one_costs_no_write() {
    let ovs = Ovs::start();
    let db = connect(&ovs).await;
    assert_eq!(
        ovs::ensure_internal_port(&db, &spec()).await.unwrap(),
        PortOutcome::Created
    );
    let ofport = ovs::wait_ofport(&db, "o-hm0", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(ofport > 0);
    assert_columns(&ovs);
    // ovs-vswitchd made the kernel netdev with the `mac` column's address, not a random one.
    // (/sys shows the namespace sysfs was mounted in, not the test's: ask netlink.)
    common::wait_until("o-hm0 in the kernel", || {
        std::process::Command::new("ip")
            .args(["link", "show", "dev", "o-hm0"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert_eq!(
        common::ip_json(&["link", "show", "dev", "o-hm0"])[0]["address"],
        MAC
    );

    let (writes, cfg) = (
        db.write_transactions(),
        ovs.get("open_vswitch", ".", "next_cfg"),
    );
    for _ in 0..3 {
        assert_eq!(
            ovs::ensure_internal_port(&db, &spec()).await.unwrap(),
            PortOutcome::Unchanged
        );
    }
    assert_eq!(
        db.write_transactions(),
        writes,
        "a converged port was written"
    );
    assert_eq!(ovs.get("open_vswitch", ".", "next_cfg"), cfg);
    assert_columns(&ovs);
}

#[tokio::test]
async fn each_drifted_column_is_repaired_and_foreign_keys_are_kept() {
    let ovs = Ovs::start();
    let db = connect(&ovs).await;
    ovs::ensure_internal_port(&db, &spec()).await.unwrap();
    let cases: [(&str, &str); 8] = [
        ("type=system", "type"),
        ("external_ids:iface-id=other", "external_ids:iface-id"),
        (
            "external_ids:attached-mac=fa:16:3e:00:00:01",
            "external_ids:attached-mac",
        ),
        (
            "external_ids:iface-status=down",
            "external_ids:iface-status",
        ),
        (
            "external_ids:skip_cleanup=false",
            "external_ids:skip_cleanup",
        ),
        ("external_ids:octa-owner=someone", "external_ids:octa-owner"),
        ("mac=\"fa:16:3e:99:99:99\"", "mac"),
        ("mtu_request=9000", "mtu_request"),
    ];
    for (set, column) in cases {
        ovs.vsctl(&[
            "set",
            "interface",
            "o-hm0",
            set,
            "external_ids:operator=kept",
        ]);
        let before = db.write_transactions();
        assert_eq!(
            ovs::ensure_internal_port(&db, &spec()).await.unwrap(),
            PortOutcome::Repaired(vec![column.to_owned()]),
            "after {set}"
        );
        assert_eq!(db.write_transactions(), before + 1);
        assert_columns(&ovs);
        assert!(
            ovs.get("interface", "o-hm0", "external_ids")
                .contains("operator=kept"),
            "a key octa does not own was dropped"
        );
    }
    ovs.vsctl(&["clear", "interface", "o-hm0", "mtu_request", "mac"]);
    assert_eq!(
        ovs::ensure_internal_port(&db, &spec()).await.unwrap(),
        PortOutcome::Repaired(vec!["mac".to_owned(), "mtu_request".to_owned()])
    );
    assert_columns(&ovs);
}

#[tokio::test]
async fn foreign_ports_are_refused_untouched_and_absent_removes_only_ours() {
    let ovs = Ovs::start();
    let db = connect(&ovs).await;
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "o-hm0",
        "--",
        "set",
        "interface",
        "o-hm0",
        "type=internal",
        "external_ids:owner=ansible",
    ]);
    let snapshot = ovs.vsctl(&["list", "interface", "o-hm0"]);
    let writes = db.write_transactions();
    let err = ovs::ensure_internal_port(&db, &spec()).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(
        err.to_string(),
        "OVS port o-hm0 exists but is not owned by octa (it has no external_ids:octa-owner); \
         it was left untouched"
    );
    let err = ovs::ensure_internal_port_absent(&db, "br-int", "o-hm0", "install-42")
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(
        db.write_transactions(),
        writes,
        "a foreign port was written"
    );
    assert_eq!(ovs.vsctl(&["list", "interface", "o-hm0"]), snapshot);

    // Another install's port is foreign too.
    ovs.vsctl(&["del-port", "o-hm0"]);
    let mut theirs = spec();
    theirs.owner = "install-7".into();
    ovs::ensure_internal_port(&db, &theirs).await.unwrap();
    let err = ovs::ensure_internal_port(&db, &spec()).await.unwrap_err();
    assert!(
        err.to_string().contains("octa-owner is \"install-7\""),
        "{err}"
    );
    ovs.vsctl(&["del-port", "o-hm0"]);

    // Ours next to a foreign port: only ours goes, with its Interface row.
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "tap-foreign",
        "--",
        "set",
        "interface",
        "tap-foreign",
        "type=internal",
    ]);
    ovs::ensure_internal_port(&db, &spec()).await.unwrap();
    assert!(
        ovs::ensure_internal_port_absent(&db, "br-int", "o-hm0", "install-42")
            .await
            .unwrap()
    );
    assert_eq!(ovs.vsctl(&["list-ports", "br-int"]).trim(), "tap-foreign");
    assert_eq!(
        ovs.vsctl(&[
            "--bare",
            "--columns=name",
            "find",
            "interface",
            "name=o-hm0"
        ])
        .trim(),
        ""
    );
    assert!(
        !ovs::ensure_internal_port_absent(&db, "br-int", "o-hm0", "install-42")
            .await
            .unwrap(),
        "absent is not an error"
    );
}

#[tokio::test]
async fn a_missing_bridge_is_named_and_nothing_is_left_behind() {
    let ovs = Ovs::start();
    let db = connect(&ovs).await;
    let mut s = spec();
    s.bridge = "br-nope".into();
    let err = ovs::ensure_internal_port(&db, &s).await.unwrap_err();
    assert!(matches!(err, NetError::NoBridge { .. }), "{err}");
    assert!(
        err.to_string().contains("Bridge br-nope does not exist"),
        "{err}"
    );
    assert_eq!(
        ovs.vsctl(&["--bare", "--columns=name", "list", "interface"])
            .trim(),
        "br-int"
    );
}

#[tokio::test]
async fn without_ovs_vswitchd_the_ofport_wait_fails_clearly_at_its_deadline() {
    let ovs = Ovs::start();
    ovs.stop_vswitchd();
    let db = connect(&ovs).await;
    // OVSDB alone accepts the rows ...
    assert_eq!(
        ovs::ensure_internal_port(&db, &spec()).await.unwrap(),
        PortOutcome::Created
    );
    assert_eq!(ovs.get("interface", "o-hm0", "ofport"), "[]");
    // ... but nobody gives the interface an ofport; the wait ends at its deadline.
    let started = Instant::now();
    let err = ovs::wait_ofport(&db, "o-hm0", Duration::from_secs(2))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, NetError::Timeout { .. }), "{err}");
    assert!(
        err.to_string().contains("is ovs-vswitchd running?"),
        "{err}"
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "{took:?}"
    );
}
