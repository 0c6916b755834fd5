//! The RFC 7047 client against a real ovsdb-server (host tier, root): every typed
//! operation, rollback of a failed transaction, `echo`, reconnection after the server
//! restarts, and a bounded, named failure for a remote that is not there.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::Ovs;
use octa_netplumb::NetError;
use octa_netplumb::ovsdb::{Op, Ovsdb, Remote, map, map_get, named_uuid, set, uuid};
use serde_json::{Value, json};

async fn connect(ovs: &Ovs) -> Ovsdb {
    Ovsdb::connect(
        &Remote::parse(&ovs.remote()).unwrap(),
        Duration::from_secs(5),
    )
    .await
    .unwrap()
}

fn bridge_named(name: &str) -> Value {
    json!([["name", "==", name]])
}

async fn bridge_uuid(db: &Ovsdb, name: &str) -> Option<String> {
    let rows = db
        .select(Op::Select {
            table: "Bridge",
            where_: bridge_named(name),
            columns: vec!["_uuid"],
        })
        .await
        .unwrap();
    rows.first()
        .map(|r| r["_uuid"][1].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn insert_select_update_mutate_wait_delete_and_comment_work_on_a_real_server() {
    let ovs = Ovs::start();
    let db = connect(&ovs).await;
    db.echo().await.unwrap();
    // Insert a bridge and hang it on the root row, as `ovs-vsctl add-br` does.
    db.transact(&[
        Op::Insert {
            table: "Bridge",
            row: json!({"name": "br-test", "external_ids": map([("k", "v1")])}),
            uuid_name: "br",
        },
        Op::Mutate {
            table: "Open_vSwitch",
            where_: json!([]),
            mutations: json!([["bridges", "insert", set(&[named_uuid("br")])]]),
        },
        Op::Comment("octa test: insert".into()),
    ])
    .await
    .unwrap();
    assert!(ovs.vsctl(&["list-br"]).contains("br-test"));
    let id = bridge_uuid(&db, "br-test").await.unwrap();

    db.transact(&[Op::Update {
        table: "Bridge",
        where_: json!([["_uuid", "==", uuid(&id)]]),
        row: json!({"external_ids": map([("k", "v2")])}),
    }])
    .await
    .unwrap();
    assert_eq!(ovs.get("bridge", "br-test", "external_ids:k"), "v2");
    let rows = db
        .select(Op::Select {
            table: "Bridge",
            where_: bridge_named("br-test"),
            columns: vec!["external_ids"],
        })
        .await
        .unwrap();
    assert_eq!(
        map_get(&rows[0]["external_ids"], "k").as_deref(),
        Some("v2")
    );

    // A wait that does not hold aborts the whole transaction: the update before it is
    // rolled back, and the error names the remote and the operation.
    let err = db
        .transact(&[
            Op::Update {
                table: "Bridge",
                where_: bridge_named("br-test"),
                row: json!({"external_ids": map([("k", "v3")])}),
            },
            Op::Wait {
                table: "Bridge",
                where_: bridge_named("br-missing"),
                columns: vec!["name"],
                rows: json!([{"name": "br-missing"}]),
            },
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::Transaction { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&ovs.remote()) && text.contains("(\"wait\")"),
        "{text}"
    );
    assert_eq!(ovs.get("bridge", "br-test", "external_ids:k"), "v2");

    db.transact(&[
        Op::Mutate {
            table: "Open_vSwitch",
            where_: json!([]),
            mutations: json!([["bridges", "delete", set(&[uuid(&id)])]]),
        },
        Op::Delete {
            table: "Bridge",
            where_: json!([["_uuid", "==", uuid(&id)]]),
        },
    ])
    .await
    .unwrap();
    assert_eq!(bridge_uuid(&db, "br-test").await, None);
    assert_eq!(ovs.vsctl(&["list-br"]).trim(), "br-int");
}

#[tokio::test]
async fn the_client_reconnects_after_the_server_restarts() {
    let ovs = Ovs::start();
    let remote = Remote::parse(&ovs.remote()).unwrap();
    let db = Ovsdb::connect(&remote, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(bridge_uuid(&db, "br-int").await.is_some());
    assert_eq!(db.connections(), 1);
    ovs.stop_ovsdb();
    ovs.start_ovsdb();
    // The same client object: the next request notices the closed connection and
    // reconnects (read-only, so it may be sent again safely).
    assert!(bridge_uuid(&db, "br-int").await.is_some());
    assert_eq!(db.connections(), 2);

    // While the server is down, a request retries with backoff, then fails at its
    // deadline (1 s) naming the remote.
    ovs.stop_ovsdb();
    let started = Instant::now();
    let err = db.echo().await.unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(matches!(err, NetError::Connect { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("Cannot connect to OVSDB at {}", ovs.remote())
    );

    // Back up: the same client carries on.
    ovs.start_ovsdb();
    assert!(bridge_uuid(&db, "br-int").await.is_some());
    assert_eq!(db.connections(), 3);
}

#[tokio::test]
async fn an_unreachable_tcp_remote_fails_within_the_deadline() {
    common::isolate();
    // Nothing listens in this fresh namespace: connection refused, retried until the
    // deadline, then reported.
    let remote = Remote::parse("tcp:127.0.0.1:6640").unwrap();
    let started = Instant::now();
    let err = Ovsdb::connect(&remote, Duration::from_millis(800))
        .await
        .err()
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(
        err.to_string(),
        "Cannot connect to OVSDB at tcp:127.0.0.1:6640"
    );
    assert!(err.is_retryable());
}
