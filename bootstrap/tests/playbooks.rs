//! Every playbook shipped in `playbooks/` loads, validates and round-trips through
//! `to_yaml`; bad playbooks are refused with the file, line, key and message named.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use octa_bootstrap::answers::{PlaybookError, load, parse};

fn playbooks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../playbooks")
}

fn shipped() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(playbooks_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_playbook_loads_and_round_trips() {
    let files = shipped();
    assert!(
        files.len() >= 3,
        "expected the shipped playbooks, found {files:?}"
    );
    for file in files {
        let pb = load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let saved = pb.answers.to_yaml();
        let back = parse(&saved, Path::new("saved.yaml"))
            .unwrap_or_else(|e| panic!("{} saved:\n{saved}\n{e}", file.display()));
        assert_eq!(back.answers, pb.answers, "{}", file.display());
        assert_eq!(back.answers.digest(), pb.answers.digest());
    }
}

#[test]
fn lab_playbook_matches_the_lab() {
    let path = playbooks_dir().join("lab.yaml");
    let pb = load(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let cidr_line = 1 + text
        .lines()
        .position(|l| l.trim_start().starts_with("cidr:"))
        .unwrap();
    let a = &pb.answers;
    assert_eq!(a.cloud.as_ref().unwrap().name, "lab");
    assert_eq!(a.interface.ovsdb, "unix:/var/tmp/octa-lab/ovs/db.sock");
    assert_eq!(a.state_dir, Path::new("/var/tmp/octa-lab/octa/state"));
    assert_eq!(a.pki.dir, Path::new("/var/tmp/octa-lab/octa/pki"));
    assert_eq!(a.host, None);
    assert_eq!(a.mgmt_network.cidr.to_string(), "172.31.0.0/24");
    let want = format!("lab.yaml:{cidr_line}: mgmt_network.cidr");
    assert!(
        pb.whereis("mgmt_network.cidr").ends_with(&want),
        "{}",
        pb.whereis("mgmt_network.cidr")
    );
    assert!(
        pb.whereis("health_manager.address")
            .ends_with("lab.yaml: health_manager.address")
    );
}

#[test]
fn multi_controller_lists_a_peer() {
    let pb = load(&playbooks_dir().join("multi-controller.yaml")).unwrap();
    assert!(pb.answers.deployment.is_some());
    assert_eq!(pb.answers.controller_addresses().len(), 2);
    assert!(pb.whereis("health_manager.peers.0").contains(".yaml:"));
}

#[test]
fn missing_file_is_not_found() {
    let err = load(Path::new("/nonexistent/octa.yaml")).unwrap_err();
    assert!(err.is_not_found());
}

const GOOD: &str = "version: 1\nmgmt_network:\n  cidr: 172.31.0.0/24\n";

/// Parse `text` as `bad.yaml` and return its error lines.
fn refuse(text: &str) -> Vec<String> {
    match parse(text, Path::new("playbooks/bad.yaml")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.lines(),
    }
}

fn assert_one(text: &str, expected: &str) {
    assert_eq!(refuse(text), [expected], "for:\n{text}");
}

#[test]
fn good_base_is_valid() {
    parse(GOOD, Path::new("good.yaml")).unwrap();
}

#[test]
fn unknown_top_level_key() {
    assert_one(
        &format!("{GOOD}pasword: hunter2\n"),
        "playbooks/bad.yaml:4: pasword: unknown key; accepted here: version, deployment, cloud, state_dir, host, mgmt_network, interface, security_groups, pki, health_manager, amphora",
    );
}

#[test]
fn unknown_nested_key_lists_accepted_keys() {
    assert_one(
        "version: 1\nmgmt_network:\n  cidr: 172.31.0.0/24\n  vlan_id: 5\n",
        "playbooks/bad.yaml:4: mgmt_network.vlan_id: unknown key; accepted here: name, subnet_name, type, segmentation_id, physical_network, cidr, allocation_pool, mtu",
    );
}

#[test]
fn string_for_port() {
    assert_one(
        &format!("{GOOD}health_manager:\n  port: udp\n"),
        "playbooks/bad.yaml:5: health_manager.port: \"udp\" is not a port number (1-65535), e.g. 5555",
    );
}

#[test]
fn bad_yaml_syntax() {
    assert_one(
        "version: 1\nmgmt_network:\n  cidr: \"172.31.0.0/24\n",
        "playbooks/bad.yaml:3: mgmt_network.cidr: not valid YAML: unclosed quote",
    );
}

#[test]
fn version_2() {
    assert_one(
        "version: 2\nmgmt_network:\n  cidr: 172.31.0.0/24\n",
        "playbooks/bad.yaml:1: version: 2 is not supported by this octa; use 1",
    );
}

#[test]
fn invalid_cidr() {
    assert_one(
        "version: 1\nmgmt_network:\n  cidr: 172.31.0.300/24\n",
        "playbooks/bad.yaml:3: mgmt_network.cidr: \"172.31.0.300/24\" is not a CIDR (address/prefix), e.g. 172.31.0.0/24",
    );
}

#[test]
fn cidr_with_host_bits() {
    assert_one(
        "version: 1\nmgmt_network:\n  cidr: 172.31.0.5/24\n",
        "playbooks/bad.yaml:3: mgmt_network.cidr: \"172.31.0.5/24\" has host bits set; use 172.31.0.0/24",
    );
}

#[test]
fn cidr_too_small() {
    assert_one(
        "version: 1\nmgmt_network:\n  cidr: 172.31.0.0/30\n  allocation_pool: {start: 172.31.0.1, end: 172.31.0.1}\n",
        "playbooks/bad.yaml:3: mgmt_network.cidr: \"172.31.0.0/30\" is too small for the health-manager addresses and a pool; use an IPv4 prefix of /29 or shorter (e.g. /24)",
    );
}

#[test]
fn pool_outside_cidr() {
    assert_one(
        "version: 1\nmgmt_network:\n  cidr: 172.31.0.0/24\n  allocation_pool:\n    start: 172.31.0.10\n    end: 172.31.1.20\n",
        "playbooks/bad.yaml:6: mgmt_network.allocation_pool.end: 172.31.1.20 is outside 172.31.0.0/24 or is its network/broadcast address; use an address from 172.31.0.1 to 172.31.0.254",
    );
}

#[test]
fn pool_start_after_end() {
    assert_one(
        "version: 1\nmgmt_network:\n  cidr: 172.31.0.0/24\n  allocation_pool:\n    start: 172.31.0.200\n    end: 172.31.0.20\n",
        "playbooks/bad.yaml:5: mgmt_network.allocation_pool.start: 172.31.0.200 is after end 172.31.0.20; start must not be after end",
    );
}

#[test]
fn hm_address_in_pool() {
    assert_one(
        &format!("{GOOD}health_manager:\n  address: 172.31.0.50\n"),
        "playbooks/bad.yaml:5: health_manager.address: 172.31.0.50 is inside the allocation pool 172.31.0.10-172.31.0.254; use an address outside the pool",
    );
}

#[test]
fn default_hm_address_in_explicit_pool() {
    assert_one(
        "version: 1\nmgmt_network:\n  cidr: 172.31.0.0/24\n  allocation_pool: {start: 172.31.0.1, end: 172.31.0.99}\n",
        "playbooks/bad.yaml: health_manager.address: 172.31.0.2 is inside the allocation pool 172.31.0.1-172.31.0.99 (the default: the subnet's 2nd address); set health_manager.address; use an address outside the pool",
    );
}

#[test]
fn vlan_without_physical_network() {
    assert_one(
        "version: 1\nmgmt_network:\n  cidr: 172.31.0.0/24\n  type: vlan\n  segmentation_id: 100\n",
        "playbooks/bad.yaml:2: mgmt_network.physical_network: is required for a vlan network; name the provider network (e.g. physnet1)",
    );
}

#[test]
fn segmentation_id_out_of_range() {
    assert_one(
        "version: 1\nmgmt_network:\n  cidr: 172.31.0.0/24\n  type: vlan\n  physical_network: physnet1\n  segmentation_id: 4095\n",
        "playbooks/bad.yaml:6: mgmt_network.segmentation_id: 4095 is out of range for vlan; use 1-4094",
    );
}

#[test]
fn relative_state_dir() {
    assert_one(
        &format!("{GOOD}state_dir: var/lib/octa\n"),
        "playbooks/bad.yaml:4: state_dir: \"var/lib/octa\" is relative; use an absolute path such as /var/lib/octa",
    );
}

#[test]
fn interface_name_too_long() {
    assert_one(
        &format!("{GOOD}interface:\n  name: octavia-health-0\n"),
        "playbooks/bad.yaml:5: interface.name: \"octavia-health-0\" is 16 bytes long; use 1-15 bytes without '/', ':' or whitespace (e.g. o-hm0)",
    );
}

#[test]
fn bad_ovsdb_remote() {
    assert_one(
        &format!("{GOOD}interface:\n  ovsdb: /var/run/openvswitch/db.sock\n"),
        "playbooks/bad.yaml:5: interface.ovsdb: \"/var/run/openvswitch/db.sock\" is not an OVSDB remote; use unix:/absolute/path or tcp:IP:PORT (e.g. unix:/var/run/openvswitch/db.sock)",
    );
}

#[test]
fn duplicate_security_group_names() {
    assert_one(
        &format!("{GOOD}security_groups:\n  amphora: octavia\n  health_manager: octavia\n"),
        "playbooks/bad.yaml:6: security_groups.health_manager: \"octavia\" is also the amphora group's name; give the two groups different names",
    );
}

#[test]
fn peer_that_is_ours() {
    assert_one(
        &format!(
            "{GOOD}health_manager:\n  address: 172.31.0.2\n  peers: [172.31.0.3, 172.31.0.2]\n"
        ),
        "playbooks/bad.yaml:6: health_manager.peers[1]: 172.31.0.2 is this controller's own address; list only the other controllers",
    );
}

#[test]
fn bad_deployment_id() {
    assert_one(
        &format!("{GOOD}deployment: Prod_1\n"),
        "playbooks/bad.yaml:4: deployment: \"Prod_1\" is not a deployment id; use 1-32 characters a-z, 0-9 and '-', starting with a letter or digit",
    );
}

#[test]
fn missing_cidr() {
    assert_one(
        "version: 1\nmgmt_network:\n  name: lb-mgmt-net\n",
        "playbooks/bad.yaml:3: mgmt_network.cidr: missing; add `cidr:` with the management subnet, e.g. 172.31.0.0/24",
    );
}

#[test]
fn empty_playbook() {
    assert_one(
        "# nothing yet\n",
        "playbooks/bad.yaml:2: the playbook is empty or not a mapping; it needs at least `version: 1` and `mgmt_network: {cidr: ...}`",
    );
}

#[test]
fn many_problems_reported_together() {
    let text = "\
version: 2
state_dir: relative/state
mgmt_network:
  cidr: 172.31.0.0/24
  type: vlan
  segmentation_id: 5000
interface:
  name: \"o hm0\"
pki:
  key_type: dsa
health_manager:
  port: 0
";
    let lines = refuse(text);
    assert_eq!(
        lines,
        [
            "playbooks/bad.yaml:1: version: 2 is not supported by this octa; use 1",
            "playbooks/bad.yaml:2: state_dir: \"relative/state\" is relative; use an absolute path such as /var/lib/octa",
            "playbooks/bad.yaml:3: mgmt_network.physical_network: is required for a vlan network; name the provider network (e.g. physnet1)",
            "playbooks/bad.yaml:6: mgmt_network.segmentation_id: 5000 is out of range for vlan; use 1-4094",
            "playbooks/bad.yaml:8: interface.name: \"o hm0\" contains '/', ':' or whitespace; use 1-15 bytes without '/', ':' or whitespace (e.g. o-hm0)",
            "playbooks/bad.yaml:10: pki.key_type: \"dsa\" is not a key type; use rsa4096 or ec-p384",
            "playbooks/bad.yaml:12: health_manager.port: 0 is not a port; use 1-65535 (default 5555)",
        ]
    );
    let err = parse(text, Path::new("playbooks/bad.yaml")).unwrap_err();
    assert!(matches!(err, PlaybookError::Invalid { .. }));
    assert_eq!(err.to_string().lines().count(), 7);
}

#[test]
fn unknown_key_value_is_never_shown() {
    let lines = refuse(&format!(
        "{GOOD}cloud:\n  name: lab\n  password: s3cret-value\n"
    ));
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("playbooks/bad.yaml:6: cloud.password: unknown key; accepted here: name, region, interface, cacert"));
    assert!(!lines[0].contains("s3cret"));
}
