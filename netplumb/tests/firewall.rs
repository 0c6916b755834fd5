//! `firewall::ensure_firewall` and `ensure_firewall_absent` against the real nftables
//! (host tier, root, in the test's own namespace), checked with `nft -j`: the right
//! rules, no rewrite of a converged table, a new port applied as one batch, a foreign
//! same-named table refused, and removal that leaves every other table intact.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{isolate, run_ok};
use octa_netplumb::firewall::{self, FirewallSpec};
use serde_json::Value;

fn spec(port: u16) -> FirewallSpec {
    FirewallSpec {
        table: "octa_hm".into(),
        iface: "o-hm0".into(),
        udp_port: port,
        owner: "install-42".into(),
    }
}

fn nft(args: &[&str]) -> String {
    run_ok(Command::new("nft").args(args))
}

/// `v` as JSON text with object keys sorted: nft's key order is not part of the contract,
/// and serde_json keeps insertion order when another crate enables `preserve_order`.
fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let ordered: std::collections::BTreeMap<_, _> =
                    m.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
                Value::Object(ordered.into_iter().collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// The rules of `inet TABLE` as (iifname, what it matches, verdict).
fn rules(table: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(&nft(&["-j", "list", "table", "inet", table])).unwrap();
    doc["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.get("rule"))
        .map(|r| {
            let expr = r["expr"].as_array().unwrap();
            let parts: Vec<String> = expr
                .iter()
                .map(|x| match x.get("match") {
                    Some(m) => format!("{}={}", canonical(&m["left"]), canonical(&m["right"])),
                    None => x.as_object().unwrap().keys().next().unwrap().clone(),
                })
                .collect();
            format!("{} {}", r["chain"].as_str().unwrap(), parts.join(" "))
        })
        .collect()
}

#[test]
fn the_table_is_right_written_once_and_removal_leaves_other_tables() {
    isolate();
    nft(&["add", "table", "inet", "someone_else"]);
    nft(&["add", "chain", "inet", "someone_else", "c"]);
    assert!(firewall::ensure_firewall(None, &spec(5555)).unwrap());
    let meta_iif = r#"{"meta":{"key":"iifname"}}="o-hm0""#;
    let got = rules("octa_hm");
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(
        got[0],
        format!(r#"input {meta_iif} {{"ct":{{"key":"state"}}}}=["established","related"] accept"#)
    );
    assert_eq!(
        got[1],
        format!(
            r#"input {meta_iif} {{"payload":{{"field":"dport","protocol":"udp"}}}}=5555 accept"#
        )
    );
    assert!(got[2].contains(r#""ipv6-icmp""#), "{got:?}");
    assert_eq!(got[3], format!("input {meta_iif} drop"));
    let doc: Value =
        serde_json::from_str(&nft(&["-j", "list", "chain", "inet", "octa_hm", "input"])).unwrap();
    let chain = doc["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e.get("chain"))
        .unwrap();
    assert_eq!(
        (&chain["type"], &chain["hook"], &chain["policy"]),
        (&"filter".into(), &"input".into(), &"accept".into()),
        "{chain}"
    );

    // Converged: not rewritten (handles would change on a rewrite).
    let handles = nft(&["-a", "list", "table", "inet", "octa_hm"]);
    assert!(!firewall::ensure_firewall(None, &spec(5555)).unwrap());
    assert_eq!(nft(&["-a", "list", "table", "inet", "octa_hm"]), handles);

    // Another port: replaced as one batch, still four rules.
    assert!(firewall::ensure_firewall(None, &spec(6000)).unwrap());
    let got = rules("octa_hm");
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got[1].ends_with("=6000 accept"), "{got:?}");

    assert!(firewall::ensure_firewall_absent(None, "octa_hm", "install-42").unwrap());
    let tables = nft(&["list", "tables"]);
    assert_eq!(tables.trim(), "table inet someone_else");
    assert!(nft(&["list", "table", "inet", "someone_else"]).contains("chain c"));
    assert!(!firewall::ensure_firewall_absent(None, "octa_hm", "install-42").unwrap());
}

#[test]
fn a_same_named_table_that_is_not_ours_is_refused_and_kept() {
    isolate();
    nft(&["add", "table", "inet", "octa_hm"]);
    nft(&["add", "chain", "inet", "octa_hm", "theirs"]);
    let before = nft(&["list", "table", "inet", "octa_hm"]);
    let err = firewall::ensure_firewall(None, &spec(5555)).unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(
        err.to_string()
            .contains("nftables table inet octa_hm exists but is not owned by octa"),
        "{err}"
    );
    let err = firewall::ensure_firewall_absent(None, "octa_hm", "install-42").unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(nft(&["list", "table", "inet", "octa_hm"]), before);
}
