//! The OVSDB client against a real ovsdb-server over a `tcp:` remote (the `unix:` one is
//! what every `net_host` test uses): a port created through TCP is seen through the
//! unix socket, a second run over TCP writes nothing, and an idle connection survives
//! the server's inactivity probes because the client answers `echo` (checked to fail
//! when it does not).

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use octa_netplumb::ovs::{self, InternalPortSpec, PortOutcome};
use octa_netplumb::ovsdb::{Op, Ovsdb, Remote};
use octa_tests::ovs::OvsSandbox;
use serde_json::json;

/// A `ptcp:` manager remote on a free port (with an inactivity probe, if given).
fn tcp_remote(ovs: &OvsSandbox, probe_ms: Option<u32>) -> Remote {
    let port = octa_tests::free_port();
    let target = format!("ptcp:{port}:127.0.0.1");
    match probe_ms {
        Some(ms) => ovs.vsctl(&[
            "set-manager",
            &target,
            "--",
            "set",
            "manager",
            ".",
            &format!("inactivity_probe={ms}"),
        ]),
        None => ovs.vsctl(&["set-manager", &target]),
    };
    Remote::parse(&format!("tcp:127.0.0.1:{port}")).unwrap()
}

#[tokio::test]
async fn the_tcp_remote_converges_a_port() {
    let ovs = OvsSandbox::start();
    let remote = tcp_remote(&ovs, None);
    // ovsdb-server opens the manager's listener asynchronously: connect retries with backoff.
    let db = Ovsdb::connect(&remote, Duration::from_secs(10))
        .await
        .unwrap();
    let spec = InternalPortSpec {
        bridge: "br-int".into(),
        name: "o-tcp0".into(),
        iface_id: "tcp-port".into(),
        mac: "fa:16:3e:00:00:42".into(),
        mtu: None,
        owner: "test".into(),
    };
    assert_eq!(
        ovs::ensure_internal_port(&db, &spec).await.unwrap(),
        PortOutcome::Created
    );
    assert!(
        ovs.vsctl(&["get", "interface", "o-tcp0", "external_ids"])
            .contains("iface-id=tcp-port")
    );
    assert_eq!(
        ovs::ensure_internal_port(&db, &spec).await.unwrap(),
        PortOutcome::Unchanged
    );
    assert_eq!(db.write_transactions(), 1);
    assert!(
        ovs::ensure_internal_port_absent(&db, "br-int", "o-tcp0", "test")
            .await
            .unwrap()
    );
    assert_eq!(ovs.vsctl(&["list-ports", "br-int"]).trim(), "");
}

#[tokio::test]
async fn an_idle_connection_survives_the_servers_inactivity_probes() {
    let ovs = OvsSandbox::start();
    // A manager remote that probes after 1 s of silence and drops a client that has not
    // answered the probe (echo) 1 s later.
    let remote = tcp_remote(&ovs, Some(1000));
    let db = Ovsdb::connect(&remote, Duration::from_secs(10))
        .await
        .unwrap();
    let select = || Op::Select {
        table: "Bridge",
        where_: json!([]),
        columns: vec!["name"],
    };
    assert_eq!(db.select(select()).await.unwrap().len(), 1);
    // Five probe periods of silence: only a client that answers echo is still connected.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let bridges = db.select(select()).await.unwrap();
    assert_eq!(bridges[0]["name"], "br-int");
}
