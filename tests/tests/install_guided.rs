//! The guided mode of `octa install` on a real pseudo-terminal against the lab: answers
//! typed (one refused on the spot, then corrected), defaults accepted, the plan shown and
//! confirmed, the install done; then the playbook it saved reproduces the same install.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use octa_tests::install::{Lab, list_named, show};
use octa_tests::pty::Pty;
use octa_tests::{lab_var, require_root, workspace_bin};

const PROMPT: Duration = Duration::from_secs(30);

#[test]
fn a_guided_install_at_a_terminal_and_its_saved_playbook_give_the_same_install() {
    require_root();
    let lab = Lab::new("guided", 216);
    let saved = lab.dir.path().join("saved.yaml");
    let mut cmd = Command::new(workspace_bin("octa"));
    cmd.args(["install", "--save-playbook", saved.to_str().unwrap()])
        .env("OS_CLOUD", "lab")
        .env("OCTA_OVSDB", lab_var("OCTA_OVSDB_UNIX"))
        .env("OCTA_UNIT_DIR", lab.unit_dir());
    let mut t = Pty::spawn(cmd);
    t.expect("clouds.yaml entry", PROMPT);
    t.expect("lab", PROMPT);
    t.send("\r"); // the default, from OS_CLOUD
    t.expect("Management network name", PROMPT);
    t.send(&format!("{}\r", lab.name("net")));
    t.expect("Network type", PROMPT);
    t.send("\r"); // vxlan
    t.expect("Management network CIDR", PROMPT);
    t.send("172.31.216.5/24\r");
    t.expect("host bits set", PROMPT);
    t.send(&"\u{8}".repeat(20));
    t.send("172.31.216.0/24\r");
    for prompt in [
        "Management subnet name",
        "Amphora security group",
        "Health-manager security group",
        "Health-manager port name",
    ] {
        t.expect(prompt, PROMPT);
        t.send("\r"); // derived from the network name
    }
    t.expect("Health-manager interface name", PROMPT);
    t.send(&format!("{}\r", lab.iface()));
    t.expect("Integration bridge", PROMPT);
    t.send("\r");
    t.expect("OVSDB remote", PROMPT);
    t.send("\r"); // discovered from OCTA_OVSDB
    t.expect("State directory", PROMPT);
    t.send(&format!("{}\r", lab.state_dir().display()));
    t.expect("PKI directory", PROMPT);
    t.send(&format!("{}\r", lab.pki_dir().display()));
    t.expect("Heartbeat UDP port", PROMPT);
    t.send("\r");
    t.expect("nftables", PROMPT);
    t.send("n");
    t.expect("plan for deployment", PROMPT);
    t.expect("hm-port", PROMPT);
    t.expect("Apply this plan?", PROMPT);
    t.send("y");
    assert_eq!(t.wait(Duration::from_secs(240)), Some(0), "{}", t.screen());
    assert!(
        t.screen().contains("installed: deployment"),
        "{}",
        t.screen()
    );

    let net = list_named("network", &lab.name("net"));
    assert_eq!(net.len(), 1);
    let first_id = net[0]["ID"].as_str().unwrap().to_owned();
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("172.31.216.0/24"), "{text}");
    let book = saved.to_str().unwrap();

    // The saved playbook describes exactly this install: nothing to change.
    let out = lab.octa_ok(&["install", "--playbook", book, "--yes"]);
    assert!(out.contains("nothing to change"), "{out}");
    // And from scratch it builds the same objects again.
    lab.octa_ok(&["uninstall", "--playbook", book, "--yes"]);
    assert!(list_named("network", &lab.name("net")).is_empty());
    lab.octa_ok(&["install", "--playbook", book, "--yes"]);
    let again = list_named("network", &lab.name("net"));
    assert_eq!(again.len(), 1);
    assert_ne!(again[0]["ID"].as_str().unwrap(), first_id);
    let sub = show(
        "subnet",
        list_named("subnet", &lab.name("sub"))[0]["ID"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(sub["cidr"], "172.31.216.0/24");
    lab.octa_ok(&["uninstall", "--playbook", book, "--yes"]);
}

#[test]
fn without_a_terminal_and_without_yes_it_fails_at_once_with_a_hint() {
    let out = Command::new(workspace_bin("octa"))
        .arg("install")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("--playbook FILE --yes"), "{err}");
}
