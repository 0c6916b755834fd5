//! The crate graph of ARCHITECTURE.md §2, read from `cargo metadata`: any other edge
//! between octa crates fails, and the amphora agent links none of the controller-side
//! heavyweights.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use octa_tests::run_ok;
use serde_json::Value;

/// Allowed normal (and build) dependencies between workspace crates.
const ALLOWED: &[(&str, &[&str])] = &[
    ("octa-cli", &["octa-bootstrap"]),
    (
        "octa-bootstrap",
        &["octa-netplumb", "octa-pki", "octa-cloud", "octa-proto"],
    ),
    ("octa-control", &["octa-proto", "octa-cloud", "octa-pki"]),
    ("octa-agent", &["octa-proto", "octa-netplumb", "octa-pki"]),
    ("octa-netplumb", &[]),
    ("octa-pki", &[]),
    ("octa-cloud", &[]),
    ("octa-proto", &[]),
    // The test crate reaches everything; nothing shipped may depend on it (checked below).
    (
        "octa-tests",
        &[
            "octa-cli",
            "octa-bootstrap",
            "octa-netplumb",
            "octa-pki",
            "octa-cloud",
            "octa-proto",
            "octa-control",
            "octa-agent",
        ],
    ),
];

/// Crates the agent must never pull in, directly or not: it ships inside the amphora.
const NOT_IN_AGENT: &[&str] = &[
    "dialoguer",
    "openstack_sdk",
    "sqlx",
    "sqlx-core",
    "openssl-sys",
    "ring",
];

fn metadata() -> Value {
    // Only this platform's packages: the others need not be downloaded (tests run offline).
    let host = run_ok(Command::new("rustc").arg("-vV"))
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let out = run_ok(Command::new(env!("CARGO")).args([
        "metadata",
        "--format-version",
        "1",
        "--offline",
        "--filter-platform",
        &host,
        "--manifest-path",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"),
    ]));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn octa_crates_depend_only_along_the_allowed_edges() {
    let meta = metadata();
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(k, v)| (*k, v.iter().copied().collect()))
        .collect();
    let members: BTreeSet<String> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    let mut seen = 0;
    for pkg in meta["packages"].as_array().unwrap() {
        if !members.contains(pkg["id"].as_str().unwrap()) {
            continue;
        }
        seen += 1;
        let name = pkg["name"].as_str().unwrap();
        let permitted = allowed
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in ARCHITECTURE.md §2"));
        for dep in pkg["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            let is_dev = dep["kind"].as_str() == Some("dev");
            if !dep_name.starts_with("octa-") || (is_dev && name == "octa-tests") {
                continue;
            }
            assert!(
                permitted.contains(dep_name) || (is_dev && dep_name == "octa-tests"),
                "forbidden edge {name} -> {dep_name} ({}): see ARCHITECTURE.md §2",
                if is_dev { "dev" } else { "normal" }
            );
        }
    }
    assert_eq!(
        seen,
        ALLOWED.len(),
        "workspace members changed: update ALLOWED and ARCHITECTURE.md"
    );
}

#[test]
fn the_agent_links_no_controller_side_crate() {
    // `cargo tree`, not `cargo metadata`: metadata's resolve lists edges of weak
    // dependency features (`ring?/alloc` in rustls-webpki) that are never built.
    let tree = run_ok(Command::new(env!("CARGO")).args([
        "tree",
        "--offline",
        "-p",
        "octa-agent",
        "-e",
        "normal,build",
        "--prefix",
        "none",
        "--manifest-path",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"),
    ]));
    let crates: BTreeSet<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains("octa-pki") && crates.contains("rustls"),
        "unexpected cargo tree output:\n{tree}"
    );
    let linked: Vec<&&str> = NOT_IN_AGENT
        .iter()
        .filter(|n| crates.contains(**n))
        .collect();
    assert!(linked.is_empty(), "octa-agent links {linked:?}");
}
