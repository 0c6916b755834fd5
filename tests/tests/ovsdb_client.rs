//! The OVSDB client over a `tcp:` remote of a real ovsdb-server (the `unix:` remote is
//! what every `net_host` test uses): a port created through TCP is seen through the
//! unix socket, and a second run over TCP writes nothing.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use octa_netplumb::ovs::{self, InternalPortSpec, PortOutcome};
use octa_netplumb::ovsdb::{Ovsdb, Remote};
use octa_tests::ovs::OvsSandbox;

#[tokio::test]
async fn the_tcp_remote_converges_a_port() {
    let ovs = OvsSandbox::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    ovs.vsctl(&["set-manager", &format!("ptcp:{port}:127.0.0.1")]);
    let remote = Remote::parse(&format!("tcp:127.0.0.1:{port}")).unwrap();
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
