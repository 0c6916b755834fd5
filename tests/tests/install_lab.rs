//! `octa install`, `plan`, `status` and `uninstall` against the lab's real Keystone,
//! Neutron and Open vSwitch. Objects are checked through the stock `openstack` CLI; that a
//! re-run writes nothing is proven from Neutron's own access log (each test authenticates
//! as its own Keystone user), OVSDB row versions and a snapshot of every file.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use octa_tests::install::{KeystoneUser, Lab, OBJECTS, list_named, openstack, show};
use octa_tests::{lab_var, require_root, run_ok};
use serde_json::Value;

fn tags(v: &Value) -> Vec<String> {
    match &v["tags"] {
        Value::Array(a) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) => s.split(',').map(|t| t.trim().to_owned()).collect(),
        _ => Vec::new(),
    }
}

fn deployment(lab: &Lab) -> String {
    let state: Value =
        serde_json::from_slice(&std::fs::read(lab.state_dir().join("state.json")).unwrap())
            .unwrap();
    state["install_id"].as_str().unwrap().to_owned()
}

fn ovs_versions(iface: &str) -> String {
    // `_version` changes with every write to a row; ovs-vsctl cannot show it.
    let db = lab_var("OCTA_OVSDB_UNIX");
    let select = |table: &str, name: &str| {
        format!(
            r#"{{"op":"select","table":"{table}","where":[["name","==","{name}"]],"columns":["_version"]}}"#
        )
    };
    let tx = format!(
        r#"["Open_vSwitch",{},{},{}]"#,
        select("Interface", iface),
        select("Port", iface),
        select("Bridge", "br-int")
    );
    let out = run_ok(Command::new("ovsdb-client").args(["transact", &db, &tx]));
    assert!(out.matches("_version").count() == 3, "{out}");
    out
}

fn writes(requests: &[String]) -> Vec<&String> {
    requests.iter().filter(|r| !r.starts_with("GET ")).collect()
}

/// Every object the install owns, by name: exactly one each, tagged, and the port bound
/// to this host, ACTIVE, on the health-manager security group.
fn assert_installed(lab: &Lab, dep: &str) {
    let tag = format!("octa:{dep}");
    let host = run_ok(&mut Command::new("hostname")).trim().to_owned();
    for (kind, what) in OBJECTS {
        let found = list_named(kind, &lab.name(what));
        assert_eq!(found.len(), 1, "{kind} {}: {found:?}", lab.name(what));
        let obj = show(kind, found[0]["ID"].as_str().unwrap());
        assert!(tags(&obj).contains(&tag), "{kind} not tagged {tag}: {obj}");
    }
    let subnet = show(
        "subnet",
        list_named("subnet", &lab.name("sub"))[0]["ID"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(subnet["cidr"], format!("172.31.{}.0/24", lab.octet));
    assert!(subnet["gateway_ip"].is_null(), "{subnet}");
    let port = show(
        "port",
        list_named("port", &lab.name("hm-port"))[0]["ID"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(port["binding_host_id"], host.as_str(), "{port}");
    assert_eq!(port["device_owner"], "Octavia:health-mgr");
    assert_eq!(port["status"], "ACTIVE", "{port}");
    let amp = show(
        "security group",
        list_named("security group", &lab.name("amp-sg"))[0]["ID"]
            .as_str()
            .unwrap(),
    );
    let rules = amp["rules"].to_string();
    assert!(rules.contains("9443"), "{rules}");
    assert!(
        rules.contains(&format!("172.31.{}.2/32", lab.octet)),
        "{rules}"
    );
    // The OVS port carries the Neutron port's id and MAC; the kernel side has the address.
    let db = format!("--db={}", lab_var("OCTA_OVSDB_UNIX"));
    let ext = run_ok(Command::new("ovs-vsctl").args([
        &db,
        "get",
        "Interface",
        &lab.iface(),
        "external_ids",
    ]));
    assert!(ext.contains(port["id"].as_str().unwrap()), "{ext}");
    assert!(
        ext.contains(&format!("octa-owner=\"{dep}\""))
            || ext.contains(&format!("octa-owner={dep}")),
        "{ext}"
    );
    let addr = run_ok(Command::new("ip").args(["-br", "addr", "show", "dev", &lab.iface()]));
    assert!(
        addr.contains(&format!("172.31.{}.2/24", lab.octet)),
        "{addr}"
    );
    for f in [
        "server_ca.cert.pem",
        "server_ca.key.pem",
        "client_ca.cert.pem",
        "client.cert-and-key.pem",
    ] {
        assert!(lab.pki_dir().join(f).exists(), "{f} missing");
    }
}

fn assert_gone(lab: &Lab) {
    for (kind, what) in OBJECTS {
        assert!(
            list_named(kind, &lab.name(what)).is_empty(),
            "{kind} {} left",
            lab.name(what)
        );
    }
    let out = Command::new("ip")
        .args(["link", "show", &lab.iface()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "interface {} left", lab.iface());
}

#[test]
fn the_lab_playbook_installs_and_verifies() {
    require_root();
    let book = concat!(env!("CARGO_MANIFEST_DIR"), "/../playbooks/lab.yaml");
    let out = Command::new(octa_tests::workspace_bin("octa"))
        .args(["install", "--playbook", book, "--yes"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let status = Command::new(octa_tests::workspace_bin("octa"))
        .args(["status", "--playbook", book, "--output", "json"])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let doc: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(doc["verified"], true, "{doc}");
    let net = list_named("network", "lb-mgmt-net");
    assert_eq!(net.len(), 1, "{net:?}");
    let dep = doc["deployment"].as_str().unwrap();
    assert!(
        tags(&show("network", net[0]["ID"].as_str().unwrap())).contains(&format!("octa:{dep}"))
    );
    let port = list_named(
        "port",
        &format!(
            "octavia-health-manager-{}-listen-port",
            run_ok(&mut Command::new("hostname")).trim()
        ),
    );
    assert_eq!(port.len(), 1);
    assert_eq!(
        show("port", port[0]["ID"].as_str().unwrap())["status"],
        "ACTIVE"
    );
    let nft = run_ok(Command::new("nft").args(["list", "table", "inet", "octa_hm"]));
    assert!(nft.contains("udp dport 5555 accept"), "{nft}");
}

#[test]
fn a_second_install_writes_nothing_and_uninstall_removes_everything() {
    require_root();
    let mut lab = Lab::new("rerun", 211);
    lab.user = Some(KeystoneUser::create(&format!("octa-t-{}", lab.tag)));
    let book = lab.playbook("");
    let book = book.to_str().unwrap();
    let conf = lab.dir.path().join("octavia-octa.conf");
    let out = lab.octa_ok(&[
        "install",
        "--playbook",
        book,
        "--yes",
        "--octavia-conf",
        conf.to_str().unwrap(),
    ]);
    let dep = deployment(&lab);
    assert_installed(&lab, &dep);
    // The stock octavia.conf options: ids from Neutron, this controller, the secrets (0600),
    // and the heartbeat key never shown on the terminal.
    let text = std::fs::read_to_string(&conf).unwrap();
    let net = list_named("network", &lab.name("net"))[0]["ID"]
        .as_str()
        .unwrap()
        .to_owned();
    let amp = list_named("security group", &lab.name("amp-sg"))[0]["ID"]
        .as_str()
        .unwrap()
        .to_owned();
    for want in [
        format!("amp_boot_network_list = {net}"),
        format!("amp_secgroup_list = {amp}"),
        format!("bind_ip = 172.31.{}.2", lab.octet),
        format!("controller_ip_port_list = 172.31.{}.2:5555", lab.octet),
        "cert_generator = local_cert_generator".to_owned(),
    ] {
        assert!(text.contains(&want), "{want} missing:\n{text}");
    }
    let key = std::fs::read_to_string(lab.state_dir().join("heartbeat_key")).unwrap();
    assert!(key.trim().len() >= 32);
    assert!(text.contains(&format!("heartbeat_key = {}", key.trim())));
    assert!(!out.contains(key.trim()), "the heartbeat key was printed");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let control = std::fs::read_to_string(lab.state_dir().join("octa-control.yaml")).unwrap();
    assert!(
        control.contains(&format!("boot_network: {net}")),
        "{control}"
    );
    assert!(
        !control.contains(key.trim()),
        "octa-control.yaml must reference the key file"
    );
    let user = lab.user.as_ref().unwrap();
    let first = user.neutron_requests();
    assert!(
        !writes(&first).is_empty(),
        "the first install wrote nothing? {first:?}"
    );

    let (ovs, disk) = (ovs_versions(&lab.iface()), lab.disk_snapshot());
    let out = lab.octa_ok(&["install", "--playbook", book, "--yes"]);
    assert!(out.contains("nothing to change"), "{out}");
    let second: Vec<String> = user.neutron_requests().split_off(first.len());
    assert!(
        !second.is_empty(),
        "the re-run did not read Neutron at all?"
    );
    assert!(
        writes(&second).is_empty(),
        "the re-run wrote to Neutron: {:?}",
        writes(&second)
    );
    assert_eq!(ovs_versions(&lab.iface()), ovs, "the re-run wrote to OVSDB");
    assert_eq!(lab.disk_snapshot(), disk, "the re-run wrote to disk");

    let plan = lab.octa(&["plan", "--playbook", book, "--output", "json"], &[]);
    assert!(plan.status.success());
    let doc: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert!(
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["plan"]["action"] == "noop"),
        "{doc}"
    );

    lab.octa_ok(&["uninstall", "--playbook", book, "--yes"]);
    assert_gone(&lab);
    assert!(
        !conf.exists(),
        "the rendered octavia.conf options must go too"
    );
    assert!(!lab.state_dir().join("state.json").exists());
    assert!(!lab.pki_dir().join("server_ca.key.pem").exists());
}

#[test]
fn an_install_killed_at_every_step_boundary_finishes_without_duplicates() {
    require_root();
    let lab = Lab::new("crash", 212);
    let book = lab.playbook("");
    let book = book.to_str().unwrap();
    let steps = [
        "preflight",
        "pki",
        "secrets",
        "mgmt-network",
        "mgmt-subnet",
        "amp-secgroup",
        "hm-secgroup",
        "hm-port",
        "hm-iface",
        "hm-firewall",
        "persistence",
        "amphora-assets",
        "config",
    ];
    for step in steps {
        let checkpoint = format!("after-{step}");
        let out = lab.octa(
            &["install", "--playbook", book, "--yes"],
            &[("OCTA_TEST_CHECKPOINT", &checkpoint)],
        );
        assert_eq!(
            out.status.code(),
            Some(86),
            "expected a stop at {checkpoint}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    lab.octa_ok(&["install", "--playbook", book, "--yes"]);
    assert_installed(&lab, &deployment(&lab));
    lab.octa_ok(&["uninstall", "--playbook", book, "--yes"]);
    assert_gone(&lab);
}

#[test]
fn a_same_named_network_of_someone_else_blocks_before_any_write_and_adopt_keeps_it() {
    require_root();
    let lab = Lab::new("foreign", 213);
    let theirs = openstack(&[
        "network",
        "create",
        &lab.name("net"),
        "-f",
        "value",
        "-c",
        "id",
    ])
    .trim()
    .to_owned();
    let book = lab.playbook("");
    let book = book.to_str().unwrap();
    let out = lab.octa(&["install", "--playbook", book, "--yes"], &[]);
    // The plan (stdout) names the reason, the error (stderr) the hint.
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("not marked as octa's") && err.contains("--adopt"),
        "{err}"
    );
    for (kind, what) in [
        ("subnet", "sub"),
        ("security group", "amp-sg"),
        ("security group", "hm-sg"),
        ("port", "hm-port"),
    ] {
        assert!(
            list_named(kind, &lab.name(what)).is_empty(),
            "{kind} created although blocked"
        );
    }
    assert!(!lab.pki_dir().exists(), "PKI written although blocked");
    assert!(!lab.state_dir().join("state.json").exists());

    lab.octa_ok(&["install", "--playbook", book, "--yes", "--adopt"]);
    let sub = show(
        "subnet",
        list_named("subnet", &lab.name("sub"))[0]["ID"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(sub["network_id"], theirs.as_str());
    lab.octa_ok(&["uninstall", "--playbook", book, "--yes"]);
    let kept = list_named("network", &lab.name("net"));
    assert_eq!(kept.len(), 1, "the adopted network must stay");
    assert_eq!(kept[0]["ID"], theirs.as_str());
    assert!(list_named("subnet", &lab.name("sub")).is_empty());
    openstack(&["network", "delete", &theirs]);
}

#[test]
fn uninstall_leaves_same_named_objects_that_are_not_ours() {
    require_root();
    let lab = Lab::new("keep", 214);
    let book = lab.playbook("");
    let book = book.to_str().unwrap();
    lab.octa_ok(&["install", "--playbook", book, "--yes"]);
    let ours = list_named("network", &lab.name("net"))[0]["ID"]
        .as_str()
        .unwrap()
        .to_owned();
    let net = openstack(&[
        "network",
        "create",
        &lab.name("net"),
        "-f",
        "value",
        "-c",
        "id",
    ])
    .trim()
    .to_owned();
    let sg = openstack(&[
        "security",
        "group",
        "create",
        &lab.name("amp-sg"),
        "-f",
        "value",
        "-c",
        "id",
    ])
    .trim()
    .to_owned();
    let port = openstack(&[
        "port",
        "create",
        "--network",
        &net,
        &lab.name("hm-port"),
        "-f",
        "value",
        "-c",
        "id",
    ])
    .trim()
    .to_owned();
    lab.octa_ok(&["uninstall", "--playbook", book, "--yes"]);
    let left: Vec<String> = list_named("network", &lab.name("net"))
        .iter()
        .map(|n| n["ID"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        left,
        vec![net.clone()],
        "ours ({ours}) must be gone, theirs kept"
    );
    assert_eq!(list_named("security group", &lab.name("amp-sg")).len(), 1);
    assert_eq!(list_named("port", &lab.name("hm-port")).len(), 1);
    openstack(&["port", "delete", &port]);
    openstack(&["security", "group", "delete", &sg]);
    openstack(&["network", "delete", &net]);
}

#[test]
fn bad_playbooks_and_a_missing_ovsdb_change_nothing() {
    require_root();
    let lab = Lab::new("bad", 215);
    let good = std::fs::read_to_string(lab.playbook("")).unwrap();
    let cases: Vec<(String, &str, i32)> = vec![
        (
            good.replace("  type: vxlan\n", "  type: vxlan\n  colour: blue\n"),
            "colour",
            2,
        ),
        (
            good.replace("172.31.215.0/24", "172.31.215.0/33"),
            "mgmt_network.cidr",
            2,
        ),
        (
            good.replace("port: 5555", "port: lots"),
            "health_manager.port",
            2,
        ),
        (
            good.replace(&lab_var("OCTA_OVSDB_UNIX"), "unix:/nonexistent/db.sock"),
            "ovsdb",
            3,
        ),
    ];
    for (text, needle, code) in cases {
        let path = lab.dir.path().join("bad.yaml");
        std::fs::write(&path, text).unwrap();
        let out = lab.octa(
            &["install", "--playbook", path.to_str().unwrap(), "--yes"],
            &[],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{needle}: {err}");
        assert!(err.contains(needle), "{needle} not named: {err}");
        assert!(
            list_named("network", &lab.name("net")).is_empty(),
            "{needle}: a network was created"
        );
        assert!(!lab.pki_dir().exists(), "{needle}: PKI written");
    }
}
