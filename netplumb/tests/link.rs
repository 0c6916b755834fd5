//! `link::ensure_link` through `netns::with_netlink` against the real kernel (host tier,
//! root), checked with `ip -j`: MAC, MTU, IPv4 and IPv6 addresses, stale addresses in
//! the wanted subnet removed and others kept, link up, no default route, RAs ignored;
//! a re-run changes nothing; work in a named namespace never moves the caller's thread.
//! This kernel has no `dummy` links: a veth pair stands in for the OVS internal port.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{NamedNetns, isolate, run_ok};
use octa_netplumb::NetError;
use octa_netplumb::link::{self, LinkSpec, parse_mac};
use octa_netplumb::netns::{NetnsGuard, with_netlink};
use serde_json::Value;

fn spec(name: &str) -> LinkSpec {
    LinkSpec {
        name: name.to_owned(),
        mac: parse_mac("fa:16:3e:ab:cd:ef").unwrap(),
        mtu: Some(1400),
        addresses: vec![
            "172.31.230.2/24".parse().unwrap(),
            "fd00:6f63:7461:e6::2/64".parse().unwrap(),
        ],
    }
}

async fn ensure(netns: Option<&str>, spec: &LinkSpec) -> Result<Vec<String>, NetError> {
    let (ns, spec) = (netns.map(str::to_owned), spec.clone());
    with_netlink(netns, move |h| async move {
        link::wait_for_link(&h, &spec.name, Duration::from_secs(2)).await?;
        link::ensure_link(&h, &spec, ns.as_deref()).await
    })
    .await
}

fn global_addresses(link: &Value) -> Vec<String> {
    let mut v: Vec<String> = link["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["scope"] == "global")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    v.sort();
    v
}

fn own_netns() -> std::path::PathBuf {
    std::fs::read_link("/proc/thread-self/ns/net").unwrap()
}

#[tokio::test]
async fn a_link_in_a_named_namespace_is_converged_and_a_rerun_changes_nothing() {
    isolate();
    let ns = NamedNetns::create("link");
    run_ok(Command::new("ip").args(["link", "add", "lt0", "type", "veth", "peer", "name", "lt1"]));
    run_ok(Command::new("ip").args(["link", "set", "lt0", "netns", &ns.name]));
    let ipn = |args: &[&str]| run_ok(Command::new("ip").args(["-n", &ns.name]).args(args));
    // A stale address in the wanted subnet, and one outside it that is not ours to remove.
    ipn(&["addr", "add", "172.31.230.99/24", "dev", "lt0"]);
    ipn(&["addr", "add", "192.0.2.7/32", "dev", "lt0"]);
    let before = own_netns();

    let changes = ensure(Some(&ns.name), &spec("lt0")).await.unwrap();
    assert_eq!(own_netns(), before, "the caller's thread changed namespace");
    for want in [
        "MAC fa:16:3e:ab:cd:ef",
        "MTU 1400",
        "removed 172.31.230.99/24",
        "added 172.31.230.2/24",
        "added fd00:6f63:7461:e6::2/64",
        "up",
    ] {
        assert!(
            changes.iter().any(|c| c == want),
            "{want} not in {changes:?}"
        );
    }
    let link = &ns.ip_json(&["addr", "show", "dev", "lt0"])[0];
    assert_eq!(link["address"], "fa:16:3e:ab:cd:ef");
    assert_eq!(link["mtu"], 1400);
    assert!(
        link["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
        "{link}"
    );
    assert_eq!(
        global_addresses(link),
        ["172.31.230.2/24", "192.0.2.7/32", "fd00:6f63:7461:e6::2/64"]
    );
    assert_eq!(
        ns.ip_json(&["route", "show", "default"]),
        Value::Array(vec![])
    );
    assert_eq!(
        ns.ip_json(&["-6", "route", "show", "default"]),
        Value::Array(vec![])
    );
    let accept_ra = run_ok(
        Command::new("ip")
            .args(["netns", "exec", &ns.name, "cat"])
            .arg("/proc/sys/net/ipv6/conf/lt0/accept_ra"),
    );
    assert_eq!(accept_ra.trim(), "0");
    // Nothing of this leaked into the caller's namespace.
    let here = Command::new("ip")
        .args(["link", "show", "dev", "lt0"])
        .output()
        .unwrap();
    assert!(!here.status.success(), "lt0 is visible outside {}", ns.name);

    assert_eq!(
        ensure(Some(&ns.name), &spec("lt0")).await.unwrap(),
        Vec::<String>::new()
    );

    // Drift by hand, then repaired.
    ipn(&["link", "set", "dev", "lt0", "mtu", "1300"]);
    ipn(&["link", "set", "dev", "lt0", "address", "fa:16:3e:00:00:09"]);
    ipn(&["addr", "del", "172.31.230.2/24", "dev", "lt0"]);
    let changes = ensure(Some(&ns.name), &spec("lt0")).await.unwrap();
    assert!(changes.contains(&"MTU 1400".to_owned()), "{changes:?}");
    assert!(
        changes.contains(&"MAC fa:16:3e:ab:cd:ef".to_owned()),
        "{changes:?}"
    );
    assert!(
        changes.contains(&"added 172.31.230.2/24".to_owned()),
        "{changes:?}"
    );
    let link = &ns.ip_json(&["addr", "show", "dev", "lt0"])[0];
    assert_eq!(
        (link["address"].as_str(), link["mtu"].as_u64()),
        (Some("fa:16:3e:ab:cd:ef"), Some(1400))
    );
}

#[tokio::test]
async fn the_callers_own_namespace_works_and_a_missing_link_times_out_clearly() {
    isolate();
    run_ok(Command::new("ip").args(["link", "add", "lt2", "type", "veth", "peer", "name", "lt3"]));
    ensure(None, &spec("lt2")).await.unwrap();
    let link = &common::ip_json(&["addr", "show", "dev", "lt2"])[0];
    assert_eq!(link["mtu"], 1400);
    assert_eq!(
        global_addresses(link),
        ["172.31.230.2/24", "fd00:6f63:7461:e6::2/64"]
    );

    let started = Instant::now();
    let err = ensure(None, &spec("lt-absent")).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, NetError::Timeout { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("the kernel interface lt-absent to appear"),
        "{err}"
    );

    let err = with_netlink(Some("octa-no-such-ns"), |_| async { Ok(()) })
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot enter network namespace octa-no-such-ns"
    );
}

#[test]
fn the_guard_returns_the_thread_to_its_namespace() {
    isolate();
    let ns = NamedNetns::create("guard");
    let home = own_netns();
    {
        let _guard = NetnsGuard::enter(&ns.name).unwrap();
        let ino = |p: &str| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
        assert_ne!(own_netns(), home);
        assert_eq!(
            ino("/proc/thread-self/ns/net"),
            ino(&format!("/run/netns/{}", ns.name))
        );
    }
    assert_eq!(own_netns(), home);
}
