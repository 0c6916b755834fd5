//! The engine and the Neutron steps against `FakeCloud` (unit tier: the real Neutron runs
//! in `tests/tests/install_lab.rs`): a converged re-run plans no change and writes nothing,
//! a same-named foreign network blocks before any write, undo removes only ours.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use octa_bootstrap::answers;
use octa_bootstrap::cloud::Neutron;
use octa_bootstrap::cloud::fake::FakeCloud;
use octa_bootstrap::cloud::model::{NetworkSpec, SecurityGroupSpec};
use octa_bootstrap::ctx::Ctx;
use octa_bootstrap::engine::{self, Quiet};
use octa_bootstrap::state::{State, StateDir};
use octa_bootstrap::step::Step;
use octa_bootstrap::steps::{hm_port, network, secgroup, subnet};

const BOOK: &str = "version: 1\nstate_dir: /nonexistent\nmgmt_network: { cidr: 172.31.9.0/24 }\n";

fn ctx(fake: &Arc<FakeCloud>) -> Ctx {
    let book = answers::parse(BOOK, Path::new("t.yaml")).unwrap();
    Ctx {
        answers: book.answers,
        deployment: "d1".into(),
        host: "ctl1".into(),
        adopt: false,
        adopted: Mutex::new(HashSet::new()),
        neutron: fake.clone(),
        nova: fake.clone(),
        glance: fake.clone(),
        session: fake.clone(),
        octa_exe: PathBuf::from("/usr/bin/octa"),
        unit_dir: PathBuf::from("/nonexistent"),
        octavia_conf: None,
        timeout: Duration::from_secs(1),
        now: time::OffsetDateTime::UNIX_EPOCH,
        checkpoint: None,
        whereis: Box::new(|k| format!("t.yaml: {k}")),
    }
}

/// The steps that only talk to Neutron.
fn neutron_steps() -> Vec<Box<dyn Step>> {
    vec![
        Box::new(network::MgmtNetwork),
        Box::new(subnet::MgmtSubnet),
        Box::new(secgroup::SecGroup::Amphora),
        Box::new(secgroup::SecGroup::HealthManager),
        Box::new(hm_port::HmPort),
    ]
}

async fn install(cx: &Ctx, dir: &StateDir, state: &mut State) {
    let steps = neutron_steps();
    let planned = engine::plan_all(cx, &steps).await.unwrap();
    engine::refuse_blocked(&planned).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    engine::apply_all(cx, &steps, &planned, dir, state, &Quiet, stop)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_install_then_a_rerun_that_plans_nothing_and_writes_nothing() {
    let fake = Arc::new(FakeCloud::default());
    let cx = ctx(&fake);
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::lock(tmp.path()).unwrap();
    let mut state = State::new("d1".into(), "x".into());
    install(&cx, &dir, &mut state).await;
    let port = &fake
        .ports_named("octavia-health-manager-ctl1-listen-port")
        .await
        .unwrap()[0];
    assert_eq!(port.host_id, "ctl1");
    assert_eq!(port.tags, ["octa:d1"]);
    assert_eq!(port.fixed_ips[0].ip_address.to_string(), "172.31.9.2");
    let amp = &fake.security_groups_named("lb-mgmt-sec-grp").await.unwrap()[0];
    assert!(amp.rules.iter().any(|r| r.spec.port_range_min == Some(9443)
        && r.spec.remote_ip_prefix.unwrap().to_string() == "172.31.9.2/32"));

    let writes = fake.writes();
    let planned = engine::plan_all(&cx, &neutron_steps()).await.unwrap();
    assert!(planned.iter().all(|p| p.plan.is_noop()), "{planned:?}");
    assert_eq!(fake.writes(), writes);
}

#[tokio::test]
async fn a_foreign_network_blocks_before_any_write_and_undo_keeps_foreign_objects() {
    let fake = Arc::new(FakeCloud::default());
    let foreign = NetworkSpec {
        name: "lb-mgmt-net".into(),
        description: "someone else's".into(),
        network_type: None,
        segmentation_id: None,
        physical_network: None,
        mtu: None,
        tags: vec![],
    };
    let theirs = fake.create_network(&foreign).await.unwrap();
    let writes = fake.writes();
    let cx = ctx(&fake);
    let planned = engine::plan_all(&cx, &neutron_steps()).await.unwrap();
    let err = engine::refuse_blocked(&planned).unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.hint().unwrap().contains("--adopt"), "{:?}", err.hint());
    assert_eq!(fake.writes(), writes, "planning wrote something");

    // Installed under another network name, then undone: only ours goes.
    fake.delete_network(&theirs.id).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::lock(tmp.path()).unwrap();
    let mut state = State::new("d1".into(), "x".into());
    install(&cx, &dir, &mut state).await;
    let sg = SecurityGroupSpec {
        name: "lb-mgmt-sec-grp".into(),
        description: String::new(),
        tags: vec![],
    };
    let their_sg = fake.create_security_group(&sg).await.unwrap();
    let removed = engine::undo_all(&cx, &neutron_steps(), &dir, &mut state, &Quiet)
        .await
        .unwrap();
    assert_eq!(removed.len(), 5, "{removed:?}");
    let left = fake.security_groups_named("lb-mgmt-sec-grp").await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, their_sg.id);
    assert!(fake.networks_named("lb-mgmt-net").await.unwrap().is_empty());
}

#[tokio::test]
async fn undo_keeps_the_shared_network_while_another_controller_has_a_port_on_it() {
    use octa_bootstrap::cloud::model::{FixedIp, PortSpec};
    let fake = Arc::new(FakeCloud::default());
    let cx = ctx(&fake);
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::lock(tmp.path()).unwrap();
    let mut state = State::new("d1".into(), "x".into());
    install(&cx, &dir, &mut state).await;
    let net = fake.networks_named("lb-mgmt-net").await.unwrap().remove(0);
    let sub = fake
        .subnets_named("lb-mgmt-subnet")
        .await
        .unwrap()
        .remove(0);
    let peer = PortSpec {
        name: "octavia-health-manager-ctl2-listen-port".into(),
        description: String::new(),
        network_id: net.id.clone(),
        fixed_ips: vec![FixedIp {
            subnet_id: sub.id.clone(),
            ip_address: "172.31.9.3".parse().unwrap(),
        }],
        device_owner: "Octavia:health-mgr".into(),
        device_id: String::new(),
        host_id: "ctl2".into(),
        security_groups: vec![],
        tags: vec!["octa:d1".into()],
    };
    fake.create_port(&peer).await.unwrap();
    let removed = engine::undo_all(&cx, &neutron_steps(), &dir, &mut state, &Quiet)
        .await
        .unwrap();
    assert!(
        removed.iter().any(|r| r.starts_with("kept network")),
        "{removed:?}"
    );
    assert!(
        removed.iter().any(|r| r.starts_with("kept subnet")),
        "{removed:?}"
    );
    assert_eq!(fake.networks_named("lb-mgmt-net").await.unwrap().len(), 1);
    assert!(
        fake.ports_named("octavia-health-manager-ctl1-listen-port")
            .await
            .unwrap()
            .is_empty()
    );
}
