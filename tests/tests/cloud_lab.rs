#![allow(clippy::unwrap_used)]
//! `octa-cloud` against the lab's real Keystone and Neutron (Zed), with the catalog as the
//! lab has it (Neutron unversioned, no Nova, no Glance) and no endpoint override.
//!
//! Run inside the lab: `tests/lab/run.sh cargo nextest run --offline -p octa-tests --test
//! cloud_lab`. Every test names its objects `cloudtest-<pid>-<test>-...` and deletes them.

use std::net::IpAddr;
use std::process::Command;

use octa_cloud::model::{
    FixedIp, NetworkSpec, PortSpec, PortUpdate, RuleSpec, SecurityGroupSpec, SubnetSpec,
};
use octa_cloud::{CloudError, ConnectOptions, Neutron, OpenStack, Session};
use octa_tests::{lab_var, run_ok};

/// The `OS_*` (and `HOME`) variables of the test process, which `tests/lab/run.sh` set.
fn os_env() -> Vec<(String, String)> {
    lab_var("OS_AUTH_URL");
    std::env::vars()
        .filter(|(k, _)| k.starts_with("OS_") || k == "HOME")
        .collect()
}

/// Options for the clouds.yaml entry `lab`, found through `OS_CLIENT_CONFIG_FILE` only.
fn lab_cloud() -> ConnectOptions {
    ConnectOptions {
        cloud: Some("lab".into()),
        env: vec![
            (
                "OS_CLIENT_CONFIG_FILE".into(),
                lab_var("OS_CLIENT_CONFIG_FILE"),
            ),
            ("HOME".into(), "/nonexistent".into()),
        ],
        ..ConnectOptions::default()
    }
}

fn prefix(test: &str) -> String {
    format!("cloudtest-{}-{test}", std::process::id())
}

fn net_spec(name: &str) -> NetworkSpec {
    NetworkSpec {
        name: name.into(),
        description: "octa cloud_lab test".into(),
        network_type: None,
        segmentation_id: None,
        physical_network: None,
        mtu: None,
        tags: vec!["octa-test".into(), name.into()],
    }
}

fn hostname() -> String {
    run_ok(&mut Command::new("hostname")).trim().to_string()
}

#[tokio::test]
async fn clouds_yaml_entry_creates_lists_and_deletes_a_network() {
    let os = OpenStack::connect(&lab_cloud()).await.unwrap();
    let name = prefix("net");
    let net = os.create_network(&net_spec(&name)).await.unwrap();
    assert_eq!(net.name, name);
    assert_eq!(net.tags.len(), 2);
    let found = os.networks_named(&name).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, net.id);
    assert!(found[0].tags.contains(&"octa-test".to_string()));
    assert_eq!(os.network(&net.id).await.unwrap().id, net.id);
    assert!(
        os.networks_named("cloudtest-no-such-net")
            .await
            .unwrap()
            .is_empty()
    );
    os.delete_network(&net.id).await.unwrap();
    assert!(os.networks_named(&name).await.unwrap().is_empty());
    let err = os.network(&net.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn os_variables_alone_connect() {
    let env: Vec<_> = os_env()
        .into_iter()
        .filter(|(k, _)| k != "OS_CLIENT_CONFIG_FILE" && k != "OS_CLOUD")
        .collect();
    let os = OpenStack::connect(&ConnectOptions {
        env,
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    let (project, user) = os.whoami().await.unwrap();
    assert_eq!(user, "admin");
    assert!(!project.is_empty());
    let expected = run_ok(Command::new("openstack").args([
        "--os-cloud",
        "lab",
        "project",
        "show",
        "admin",
        "-f",
        "value",
        "-c",
        "id",
    ]));
    assert_eq!(project, expected.trim());
    os.networks_named("cloudtest-no-such-net").await.unwrap();
}

#[tokio::test]
async fn wrong_password_is_an_auth_error() {
    let env = os_env()
        .into_iter()
        .filter(|(k, _)| k != "OS_CLIENT_CONFIG_FILE")
        .map(|(k, v)| {
            if k == "OS_PASSWORD" {
                (k, "wrong-password".to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    let err = OpenStack::connect(&ConnectOptions {
        env,
        ..ConnectOptions::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, CloudError::Auth { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(!format!("{err:?}").contains("wrong-password"), "{err:?}");
}

#[tokio::test]
async fn unknown_cloud_is_a_config_error() {
    let mut opts = lab_cloud();
    opts.cloud = Some("no-such-cloud".into());
    let err = OpenStack::connect(&opts).await.unwrap_err();
    assert!(matches!(err, CloudError::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-cloud"), "{err}");
}

#[tokio::test]
async fn network_subnet_group_rules_and_port_round_trip() {
    let os = OpenStack::connect(&lab_cloud()).await.unwrap();
    let p = prefix("rt");
    let net = os
        .create_network(&net_spec(&format!("{p}-net")))
        .await
        .unwrap();

    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let subnet = os
        .create_subnet(&SubnetSpec {
            name: format!("{p}-subnet"),
            description: "octa cloud_lab test".into(),
            network_id: net.id.clone(),
            cidr: "172.31.250.0/24".parse().unwrap(),
            gateway_ip: None,
            allocation_pools: vec![(ip("172.31.250.10"), ip("172.31.250.50"))],
            enable_dhcp: false,
            tags: vec!["octa-test".into()],
        })
        .await
        .unwrap();
    assert_eq!(subnet.gateway_ip, None);
    assert_eq!(
        subnet.allocation_pools,
        vec![(ip("172.31.250.10"), ip("172.31.250.50"))]
    );
    assert_eq!(subnet.tags, vec!["octa-test"]);
    let named = os.subnets_named(&format!("{p}-subnet")).await.unwrap();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].gateway_ip, None);
    assert_eq!(named[0].tags, vec!["octa-test"]);
    assert!(
        os.all_subnets()
            .await
            .unwrap()
            .iter()
            .any(|s| s.id == subnet.id)
    );

    let group = os
        .create_security_group(&SecurityGroupSpec {
            name: format!("{p}-sg"),
            description: "octa cloud_lab test".into(),
            tags: vec!["octa-test".into()],
        })
        .await
        .unwrap();
    assert_eq!(group.tags, vec!["octa-test"]);
    let wanted = RuleSpec {
        direction: "ingress".into(),
        ethertype: "IPv4".into(),
        protocol: Some("udp".into()),
        port_range_min: Some(5555),
        port_range_max: Some(5555),
        remote_ip_prefix: Some("172.31.250.0/24".parse().unwrap()),
    };
    let rule = os.create_rule(&group.id, &wanted).await.unwrap();
    assert_eq!(rule.spec, wanted);
    assert_eq!(rule.security_group_id, group.id);
    let icmp = RuleSpec {
        direction: "ingress".into(),
        ethertype: "IPv4".into(),
        protocol: Some("icmp".into()),
        port_range_min: None,
        port_range_max: None,
        remote_ip_prefix: None,
    };
    let icmp_rule = os.create_rule(&group.id, &icmp).await.unwrap();
    let groups = os.security_groups_named(&format!("{p}-sg")).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert!(groups[0].rules.iter().any(|r| r.spec == wanted));
    assert!(groups[0].rules.iter().any(|r| r.spec == icmp));
    let err = os.create_rule(&group.id, &wanted).await.unwrap_err();
    assert!(err.is_conflict(), "a duplicate rule is a conflict: {err}");
    os.delete_rule(&icmp_rule.id).await.unwrap();

    let host = hostname();
    let port = os
        .create_port(&PortSpec {
            name: format!("{p}-hm"),
            description: "octa cloud_lab test".into(),
            network_id: net.id.clone(),
            fixed_ips: vec![FixedIp {
                subnet_id: subnet.id.clone(),
                ip_address: ip("172.31.250.20"),
            }],
            device_owner: "Octavia:health-mgr".into(),
            device_id: format!("{p}-device"),
            host_id: host.clone(),
            security_groups: vec![group.id.clone()],
            tags: vec!["octa-test".into(), "hm".into()],
        })
        .await
        .unwrap();
    assert_eq!(port.host_id, host);
    assert_eq!(port.device_owner, "Octavia:health-mgr");
    assert_eq!(port.fixed_ips[0].ip_address, ip("172.31.250.20"));
    assert_eq!(port.security_groups, vec![group.id.clone()]);
    let mut tags = port.tags.clone();
    tags.sort();
    assert_eq!(tags, vec!["hm", "octa-test"]);
    let read = os.port(&port.id).await.unwrap();
    assert_eq!(read.host_id, host);
    assert!(!read.vif_type.is_empty());
    assert_eq!(read.tags.len(), 2);
    assert_eq!(os.ports_named(&format!("{p}-hm")).await.unwrap().len(), 1);
    assert_eq!(os.ports_on_network(&net.id).await.unwrap().len(), 1);
    let updated = os
        .update_port(
            &port.id,
            &PortUpdate {
                security_groups: Some(vec![]),
                ..PortUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(updated.security_groups.is_empty());

    // A network with a port still on it cannot go.
    let err = os.delete_network(&net.id).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(
        matches!(
            &err,
            CloudError::Http {
                request_id: Some(_),
                ..
            }
        ),
        "{err:?}"
    );

    os.delete_port(&port.id).await.unwrap();
    let err = os.delete_port(&port.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(!err.is_retryable());
    os.delete_security_group(&group.id).await.unwrap();
    os.delete_subnet(&subnet.id).await.unwrap();
    os.delete_network(&net.id).await.unwrap();
}

#[tokio::test]
async fn headroom_and_catalog() {
    let os = OpenStack::connect(&lab_cloud()).await.unwrap();
    let headroom = os.headroom().await.unwrap();
    let net = headroom.iter().find(|h| h.resource == "network").unwrap();
    assert!(net.limit.is_none_or(|l| l > 0));
    assert!(headroom.iter().any(|h| h.resource == "security_group_rule"));
    assert!(os.has_service("network").await.unwrap());
    assert!(os.has_service("identity").await.unwrap());
    assert!(!os.has_service("compute").await.unwrap());
    assert!(!os.has_service("image").await.unwrap());
    let err = octa_cloud::Nova::flavor(&os, "amphora").await.unwrap_err();
    assert!(matches!(err, CloudError::NoEndpoint { .. }), "{err:?}");
}

#[tokio::test]
async fn unversioned_neutron_catalog_entry_resolves_to_v2_0() {
    let catalog = run_ok(Command::new("openstack").args([
        "--os-cloud",
        "lab",
        "endpoint",
        "list",
        "--service",
        "network",
        "--interface",
        "public",
        "-f",
        "value",
        "-c",
        "URL",
    ]));
    let catalog = catalog.trim().trim_end_matches('/');
    assert!(
        !catalog.ends_with("v2.0"),
        "the lab's catalog lists Neutron unversioned: {catalog}"
    );
    let os = OpenStack::connect(&lab_cloud()).await.unwrap();
    assert_eq!(os.network_url(), format!("{catalog}/v2.0"));
}

#[tokio::test]
async fn unreachable_keystone_is_retryable() {
    let env = os_env()
        .into_iter()
        .filter(|(k, _)| k != "OS_CLIENT_CONFIG_FILE")
        .map(|(k, v)| {
            if k == "OS_AUTH_URL" {
                (k, "http://127.0.0.1:1/v3".to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    let err = OpenStack::connect(&ConnectOptions {
        env,
        ..ConnectOptions::default()
    })
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

/// Collects log output of the test's thread.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn writes_are_logged_with_request_id_and_no_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let os = OpenStack::connect(&lab_cloud()).await.unwrap();
    let name = prefix("log");
    let net = os.create_network(&net_spec(&name)).await.unwrap();
    os.delete_network(&net.id).await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let writes: Vec<&str> = logs.lines().filter(|l| l.contains("cloud write")).collect();
    // POST, PUT tags, then DELETE; the lab's Neutron (SQLite, busy with parallel tests)
    // sometimes answers a DELETE with 500, which is retried: each attempt is logged.
    assert!(writes.len() >= 3, "POST, PUT tags, DELETE:\n{logs}");
    assert!(
        writes[0].contains("method=POST") && writes[0].contains("path=\"/v2.0/networks\""),
        "{}",
        writes[0]
    );
    assert!(
        writes[1].contains("method=PUT") && writes[1].contains("/tags"),
        "{}",
        writes[1]
    );
    assert!(
        writes[2..].iter().all(|l| l.contains("method=DELETE")),
        "{writes:#?}"
    );
    assert!(writes.last().unwrap().contains("status=204"), "{writes:#?}");
    assert!(
        writes.iter().all(|l| l.contains("request_id=\"req-")),
        "{writes:#?}"
    );
    let password = std::fs::read_to_string(lab_var("OS_CLIENT_CONFIG_FILE"))
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: ").map(str::to_string))
        .unwrap();
    assert!(!logs.contains(&password), "the password was logged");
    assert!(!logs.contains("gAAAA"), "a Fernet token was logged");
}
