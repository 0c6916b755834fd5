//! octa-agent plugging networks into its amphora namespace (a namespace of the test):
//! a hot-plugged port (a veth link with the port's MAC) becomes `eth1` with the VIP and
//! the VRRP address, a member port becomes `eth2`; re-plugs answer 409 or update; an
//! unknown MAC gets the 404 the controller retries; `GET /1.0/interface/{ip}` and
//! `/1.0/details` see them; the VIP gets its policy routing (table 1) and stock's
//! interface file. Stock Octavia's own driver (`post_vip_plug`, `post_network_plug`,
//! `get_interface_from_ip`, through `tests/compat/drive_plug.py`) plugs both ports the
//! same way. A started load balancer announces its VIPs (gratuitous ARP, unsolicited NA)
//! to the segment. And bad input: malformed or incomplete bodies, oversized bodies, each
//! refused with the stock body and nothing written.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use octa_tests::agent::{AMPHORA, OctaAgent, TestNetns};
use octa_tests::https::exchange_typed;
use octa_tests::{require_root, run_ok};
use serde_json::{Value, json};

/// A link with `mac` in the test's own namespace, deleted on drop (with the namespace if
/// it moved there).
struct Dummy(String);

impl Dummy {
    fn create(tag: &str, mac: &str) -> Self {
        let name = format!("oagt{}{tag}", std::process::id() % 100_000);
        let _ = Command::new("ip").args(["link", "del", &name]).status();
        // A veth pair (its peer stays behind): the kernel here has no dummy links.
        let peer = format!("{name}p");
        run_ok(
            Command::new("ip")
                .args(["link", "add", &name, "address", mac, "type", "veth"])
                .args(["peer", "name", &peer]),
        );
        Dummy(name)
    }
}

impl Drop for Dummy {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.0])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

async fn call(agent: &OctaAgent, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    // JSON-typed, as the controller sends it (`requests` with `json=`).
    let reply = exchange_typed(
        agent.controller(),
        agent.port,
        AMPHORA,
        method,
        path,
        Some("application/json"),
        body,
    )
    .await
    .unwrap();
    let body = serde_json::from_str(&reply.body)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", reply.body));
    (reply.status, body)
}

#[tokio::test]
async fn vip_and_member_ports_are_plugged_into_the_amphora_namespace() {
    require_root();
    let netns = TestNetns::create("plug");
    let agent = OctaAgent::start_in(Some(&netns.name));
    let vip_mac = "fa:16:3e:a0:00:01";
    let member_mac = "fa:16:3e:a0:00:02";
    let _vip_port = Dummy::create("v", vip_mac);
    let _member_port = Dummy::create("m", member_mac);
    let vip_body = json!({
        "subnet_cidr": "203.0.113.0/24", "gateway": "203.0.113.1", "mac_address": vip_mac,
        "vrrp_ip": "203.0.113.5", "mtu": 1450, "host_routes": [],
        "additional_vips": [{"ip_address": "203.0.113.11", "subnet_cidr": "203.0.113.0/24",
                             "gateway": "203.0.113.1", "host_routes": []}],
    });
    let body = vip_body.to_string();
    let (code, reply) = call(
        &agent,
        "POST",
        "/1.0/plug/vip/203.0.113.10",
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (code, reply),
        (
            202,
            json!({"message": "OK", "details": "VIPs plugged on interface eth1: 203.0.113.10, 203.0.113.11"})
        )
    );
    let addrs = run_ok(Command::new("ip").args(["-n", &netns.name, "-br", "addr", "show", "eth1"]));
    for want in ["203.0.113.5/24", "203.0.113.10/32", "203.0.113.11/32"] {
        assert!(addrs.contains(want), "{want} missing: {addrs}");
    }
    let route = run_ok(Command::new("ip").args(["-n", &netns.name, "route", "show", "default"]));
    assert!(route.contains("via 203.0.113.1 dev eth1"), "{route}");
    // Policy routing as stock's SINGLE topology: answers from a VIP leave through its
    // own table, whatever the main table says.
    let rules = run_ok(Command::new("ip").args(["-n", &netns.name, "rule", "show"]));
    for vip in ["203.0.113.10", "203.0.113.11"] {
        assert!(rules.contains(&format!("from {vip} lookup 1")), "{rules}");
    }
    let table1 =
        run_ok(Command::new("ip").args(["-n", &netns.name, "route", "show", "table", "1"]));
    assert!(
        table1.contains("default via 203.0.113.1 dev eth1 proto static onlink"),
        "{table1}"
    );
    assert!(
        table1.contains("203.0.113.0/24 dev eth1 proto static scope link src 203.0.113.10"),
        "{table1}"
    );
    let lookup = run_ok(Command::new("ip").args([
        "-n",
        &netns.name,
        "route",
        "get",
        "192.0.2.50",
        "from",
        "203.0.113.10",
    ]));
    assert!(
        lookup.contains("via 203.0.113.1 dev eth1 table 1"),
        "{lookup}"
    );
    let mtu = run_ok(Command::new("ip").args(["-n", &netns.name, "link", "show", "eth1"]));
    assert!(mtu.contains("mtu 1450"), "{mtu}");
    // The same port again: stock's 409, which the controller ignores.
    let (code, reply) = call(
        &agent,
        "POST",
        "/1.0/plug/vip/203.0.113.10",
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (code, reply),
        (409, json!({"message": "Interface already exists"}))
    );

    let member = json!({"mac_address": member_mac, "fixed_ips": [
        {"ip_address": "198.51.100.7", "subnet_cidr": "198.51.100.0/24", "host_routes": []}]});
    let member = member.to_string();
    let (code, reply) = call(&agent, "POST", "/1.0/plug/network", member.as_bytes()).await;
    assert_eq!(
        (code, reply),
        (
            202,
            json!({"message": "OK", "details": "Plugged on interface eth2"})
        )
    );
    let (code, reply) = call(&agent, "POST", "/1.0/plug/network", member.as_bytes()).await;
    assert_eq!(
        (code, reply),
        (
            202,
            json!({"message": "OK", "details": "Updated existing interface eth2"})
        )
    );
    let (code, reply) = call(&agent, "GET", "/1.0/interface/198.51.100.7", b"").await;
    assert_eq!(
        (code, reply),
        (200, json!({"message": "OK", "interface": "eth2"}))
    );
    let (code, reply) = call(&agent, "GET", "/1.0/interface/203.0.113.5", b"").await;
    assert_eq!(
        (code, reply),
        (200, json!({"message": "OK", "interface": "eth1"}))
    );
    let (code, reply) = call(&agent, "GET", "/1.0/interface/192.0.2.99", b"").await;
    assert_eq!(
        (code, reply),
        (
            404,
            json!({"message": "Error interface not found for IP address"})
        )
    );
    let (_, details) = call(&agent, "GET", "/1.0/details", b"").await;
    let networks = details["networks"].as_object().unwrap();
    assert!(
        networks.contains_key("eth1") && networks.contains_key("eth2"),
        "{details}"
    );
    let plugged = std::fs::read_to_string(agent.dir.path().join("plugged_interfaces")).unwrap();
    assert_eq!(plugged, format!("{vip_mac} eth1\n{member_mac} eth2\n"));
    // The interface file stock's amphora-interface re-plugs from after a reboot.
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(agent.dir.path().join("interfaces/eth1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(file["name"], "eth1");
    assert_eq!(file["mtu"], 1450);
    assert_eq!(
        file["addresses"][0],
        json!({"address": "203.0.113.5", "prefixlen": 24})
    );
    assert_eq!(
        file["rules"][0],
        json!({"src": "203.0.113.10", "src_len": 32, "table": 1})
    );
    assert!(
        file["routes"].as_array().unwrap().contains(
            &json!({"dst": "0.0.0.0/0", "gateway": "203.0.113.1", "flags": ["onlink"], "table": 1})
        ),
        "{file}"
    );

    // A port Nova has not finished plugging: the 404 with `details` the controller retries.
    let absent = json!({"mac_address": "fa:16:3e:a0:00:99"}).to_string();
    let (code, reply) = call(&agent, "POST", "/1.0/plug/network", absent.as_bytes()).await;
    assert_eq!(
        (code, reply),
        (
            404,
            json!({"details": "No suitable network interface found"})
        )
    );
}

#[tokio::test]
async fn bad_plug_bodies_and_oversized_bodies_are_refused_with_stock_bodies() {
    let agent = OctaAgent::start();
    let werkzeug_400 =
        |d: &str| json!({"error": format!("400 Bad Request: {d}"), "http_code": 400});
    let cases: Vec<(&str, &str, &[u8], u16, Value)> = vec![
        (
            "POST",
            "/1.0/plug/vip/203.0.113.10",
            b"{not json",
            400,
            werkzeug_400("Invalid subnet information"),
        ),
        (
            "POST",
            "/1.0/plug/vip/203.0.113.10",
            b"[]",
            400,
            werkzeug_400("Invalid subnet information"),
        ),
        (
            "POST",
            "/1.0/plug/vip/203.0.113.10",
            br#"{"subnet_cidr":"203.0.113.0/24","mac_address":"fa:16:3e:00:00:01"}"#,
            400,
            werkzeug_400("Invalid subnet information"),
        ),
        (
            "POST",
            "/1.0/plug/network",
            br#"{"fixed_ips":[]}"#,
            400,
            werkzeug_400("Invalid port information"),
        ),
        (
            "POST",
            "/1.0/plug/network",
            br#"{"mac_address":"fa:16:3e:00:00:01","fixed_ips":[{"ip_address":"10.0.0.300"}]}"#,
            400,
            json!({"message": "Invalid network port"}),
        ),
        (
            "GET",
            "/1.0/interface/not-an-ip",
            b"",
            400,
            json!({"message": "Invalid IP address"}),
        ),
    ];
    for (method, path, body, status, want) in cases {
        let (code, reply) = call(&agent, method, path, body).await;
        assert_eq!((code, &reply), (status, &want), "{method} {path}");
    }
    // A valid object without a JSON Content-Type: Flask's get_json() refuses it.
    let untyped = octa_tests::https::exchange(
        agent.controller(),
        agent.port,
        AMPHORA,
        "POST",
        "/1.0/plug/network",
        br#"{"mac_address":"fa:16:3e:00:00:01"}"#,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            untyped.status,
            serde_json::from_str::<Value>(&untyped.body).unwrap()
        ),
        (400, werkzeug_400("Invalid port information"))
    );
    // A subnet with host bits set is not a network to Python's ipaddress either.
    let (code, reply) = call(
        &agent,
        "POST",
        "/1.0/plug/vip/203.0.113.10",
        br#"{"subnet_cidr":"203.0.113.7/24","gateway":null,"mac_address":"fa:16:3e:00:00:01"}"#,
    )
    .await;
    assert_eq!(
        (code, reply),
        (
            400,
            json!({"message": "Invalid VIP: 203.0.113.7/24 has host bits set"})
        )
    );
    let (code, reply) = call(
        &agent,
        "POST",
        "/1.0/plug/vip/not-an-ip",
        br#"{"subnet_cidr":"203.0.113.0/24","gateway":null,"mac_address":"fa:16:3e:00:00:01"}"#,
    )
    .await;
    assert_eq!(code, 400);
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid VIP: "),
        "{reply}"
    );

    // Over the body limit: Werkzeug's 413, and the configuration file is untouched.
    let conf = agent.dir.path().join("amphora-agent.conf");
    let before = std::fs::read(&conf).unwrap();
    let huge = vec![b'#'; 17 * 1024 * 1024];
    let (code, reply) = call(&agent, "PUT", "/1.0/config", &huge).await;
    assert_eq!(
        (code, reply),
        (
            413,
            json!({"error": "413 Request Entity Too Large: The data value transmitted exceeds the capacity limit.", "http_code": 413})
        )
    );
    assert_eq!(std::fs::read(&conf).unwrap(), before);
    let lb = "3f2e1d0c-0000-4766-8544-332211009988";
    let (code, _) = call(
        &agent,
        "PUT",
        &format!("/1.0/loadbalancer/{AMPHORA}/{lb}/haproxy"),
        &huge,
    )
    .await;
    assert_eq!(code, 413);
    assert!(
        !agent.dir.path().join(lb).exists(),
        "an oversized upload left files"
    );
    // Path traversal in a load balancer id never reaches the file system.
    let (code, reply) = call(
        &agent,
        "PUT",
        &format!("/1.0/loadbalancer/{AMPHORA}/..%2F..%2Fescape/haproxy"),
        b"global\n",
    )
    .await;
    assert_eq!(code, 404, "{reply}");
    assert_eq!(reply["http_code"], 404);
}

/// The neighbour entry `segment` holds for `ip`, if any.
fn neighbour(segment: &TestNetns, ip: &str) -> String {
    run_ok(Command::new("ip").args(["-n", &segment.name, "neigh", "show", ip]))
}

#[tokio::test]
async fn a_started_load_balancer_announces_its_vips_to_the_segment() {
    require_root();
    let amphora = TestNetns::create("garp");
    // The VIP segment: the other end of the VIP port, on the VIP subnets, accepting
    // unsolicited ARP and NA so that announcements show in its neighbour table (the
    // kernel learns from an untracked NA only on a router: forwarding on, RFC 9131).
    let segment = TestNetns::create("seg");
    let agent = OctaAgent::start_in(Some(&amphora.name));
    let vip_mac = "fa:16:3e:a0:00:11";
    let port = Dummy::create("g", vip_mac);
    let peer = format!("{}p", port.0);
    let in_segment = |args: &[&str]| {
        run_ok(Command::new("ip").args(["-n", &segment.name]).args(args));
    };
    run_ok(Command::new("ip").args(["link", "set", &peer, "netns", &segment.name]));
    in_segment(&["addr", "add", "203.0.113.2/24", "dev", &peer]);
    in_segment(&["addr", "add", "2001:db8:5::2/64", "dev", &peer, "nodad"]);
    in_segment(&["link", "set", &peer, "up"]);
    for sysctl in [
        format!("net.ipv4.conf.{peer}.arp_accept=1"),
        format!("net.ipv6.conf.{peer}.forwarding=1"),
        format!("net.ipv6.conf.{peer}.accept_untracked_na=1"),
    ] {
        run_ok(segment.command("sysctl").args(["-qw", &sysctl]));
    }

    let body = json!({
        "subnet_cidr": "203.0.113.0/24", "gateway": null, "mac_address": vip_mac,
        "vrrp_ip": "203.0.113.5", "host_routes": [],
        "additional_vips": [{"ip_address": "2001:db8:5::10", "subnet_cidr": "2001:db8:5::/64",
                             "gateway": null, "host_routes": []}],
    })
    .to_string();
    let (code, reply) = call(
        &agent,
        "POST",
        "/1.0/plug/vip/203.0.113.10",
        body.as_bytes(),
    )
    .await;
    assert_eq!(code, 202, "{reply}");
    // Plugging alone announces nothing (stock Zed neither): the segment has not heard.
    assert!(!neighbour(&segment, "203.0.113.10").contains(vip_mac));
    assert!(!neighbour(&segment, "2001:db8:5::10").contains(vip_mac));

    let lb = "7c1d9e2a-0000-4b6f-8a3e-5d4c3b2a1f00";
    let listener = "0e5f4d3c-0000-4a1b-9c8d-7e6f5a4b3c2d";
    let base = agent.dir.path().display();
    let config = format!(
        "global\n    daemon\n    maxconn 100\n    stats socket {base}/{lb}.sock mode 0666 level user\n\
         defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
         frontend {listener}\n    bind 203.0.113.10:8080\n    bind 2001:db8:5::10:8080\n    default_backend pool\n\
         backend pool\n    server m1 203.0.113.2:8080\n"
    );
    let path = format!("/1.0/loadbalancer/{AMPHORA}/{lb}/haproxy");
    let (code, reply) = call(&agent, "PUT", &path, config.as_bytes()).await;
    assert_eq!(code, 202, "{reply}");
    let (code, reply) = call(&agent, "PUT", &format!("/1.0/loadbalancer/{lb}/start"), b"").await;
    assert_eq!(code, 202, "{reply}");

    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let v4 = neighbour(&segment, "203.0.113.10");
        let v6 = neighbour(&segment, "2001:db8:5::10");
        if v4.contains(vip_mac) && v6.contains(vip_mac) {
            break;
        }
        assert!(
            std::time::Instant::now() < end,
            "no announcement reached the segment: {v4:?} {v6:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, _) = call(&agent, "DELETE", &format!("/1.0/listeners/{lb}"), b"").await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn stock_octavias_driver_plugs_the_vip_and_a_member_network() {
    require_root();
    let netns = TestNetns::create("drv");
    let agent = OctaAgent::start_in(Some(&netns.name));
    let (vip_mac, member_mac) = ("fa:16:3e:d0:00:01", "fa:16:3e:d0:00:02");
    let _vip_port = Dummy::create("dv", vip_mac);
    let _member_port = Dummy::create("dm", member_mac);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/drive_plug.py");
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .args(["--port", &agent.port.to_string(), "--amphora-id", AMPHORA])
        .args(["--vip-mac", vip_mac, "--member-mac", member_mac])
        .args(agent.stock_client_args())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stock driver failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        steps,
        json!({"vrrp_interface": "eth1", "member_interface": "eth2", "unknown_interface": null})
    );
    let ip = |args: &[&str]| run_ok(Command::new("ip").args(["-n", &netns.name]).args(args));
    let eth1 = ip(&["-br", "addr", "show", "eth1"]);
    assert!(
        eth1.contains("203.0.113.5/24") && eth1.contains("203.0.113.10/32"),
        "{eth1}"
    );
    assert!(ip(&["-br", "addr", "show", "eth2"]).contains("198.51.100.7/24"));
    assert!(ip(&["link", "show", "eth1"]).contains("mtu 1450"));
    // The subnet's host route, in the main table and in the VIP's table 1.
    for table in ["main", "1"] {
        let routes = ip(&["route", "show", "table", table]);
        assert!(
            routes.contains("192.0.2.0/24 via 203.0.113.254 dev eth1"),
            "table {table}: {routes}"
        );
    }
    assert!(ip(&["rule", "show"]).contains("from 203.0.113.10 lookup 1"));
}

/// The DHCP client's pid and lease files for `iface`, at stock's paths; removed when the
/// test ends (the client itself dies with the test's namespace).
struct DhclientFiles {
    pid: String,
    lease: String,
}

impl DhclientFiles {
    fn of(iface: &str) -> Self {
        DhclientFiles {
            pid: format!("/run/dhclient-{iface}.pid"),
            lease: format!("/var/lib/dhclient/dhclient-{iface}.leases"),
        }
    }
}

impl Drop for DhclientFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pid);
        let _ = std::fs::remove_file(&self.lease);
    }
}

fn dhclients_for(netns: &TestNetns, iface: &str) -> usize {
    let pids = run_ok(Command::new("ip").args(["netns", "pids", &netns.name]));
    pids.split_whitespace()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
                args.first().is_some_and(|a| a.ends_with(b"dhclient"))
                    && args.contains(&iface.as_bytes())
            })
        })
        .count()
}

#[tokio::test]
async fn a_port_without_fixed_ips_gets_its_address_from_dhcp_and_keeps_it_on_a_replug() {
    require_root();
    let amphora = TestNetns::create("dhcp");
    let segment = TestNetns::create("dseg");
    let agent = OctaAgent::start_in(Some(&amphora.name));
    let mac = "fa:16:3e:dc:00:01";
    let port = Dummy::create("h", mac);
    let peer = format!("{}p", port.0);
    run_ok(Command::new("ip").args(["link", "set", &peer, "netns", &segment.name]));
    run_ok(
        Command::new("ip")
            .args(["-n", &segment.name, "addr", "add", "198.51.100.1/24"])
            .args(["dev", &peer]),
    );
    run_ok(Command::new("ip").args(["-n", &segment.name, "link", "set", &peer, "up"]));
    // The segment's DHCP server (Neutron's is dnsmasq too); no DNS, so the client has no
    // reason to touch resolv.conf.
    let leases = tempfile::tempdir().unwrap();
    let mut server = segment
        .command("dnsmasq")
        .args([
            "--keep-in-foreground",
            "--port=0",
            "--bind-interfaces",
            "--conf-file=/dev/null",
        ])
        .arg(format!("--interface={peer}"))
        .args([
            "--dhcp-range=198.51.100.50,198.51.100.59,255.255.255.0,1h",
            "--dhcp-authoritative",
        ])
        .arg(format!(
            "--dhcp-leasefile={}",
            leases.path().join("leases").display()
        ))
        .args(["--user=root", "--pid-file="])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let files = DhclientFiles::of("eth2");
    let resolv_before = std::fs::read("/etc/resolv.conf").ok();

    let body = json!({"mac_address": mac, "fixed_ips": [], "mtu": 1450}).to_string();
    let (code, reply) = call(&agent, "POST", "/1.0/plug/network", body.as_bytes()).await;
    assert_eq!(
        (code, reply),
        (
            202,
            json!({"message": "OK", "details": "Plugged on interface eth2"})
        )
    );
    // The lease is in place when the plug answers (dhclient returns once it has one).
    let addrs =
        run_ok(Command::new("ip").args(["-n", &amphora.name, "-4", "addr", "show", "eth2"]));
    assert!(addrs.contains("inet 198.51.100.5"), "no lease: {addrs}");
    assert!(
        addrs.contains("/24") && addrs.contains("dynamic"),
        "{addrs}"
    );
    let route = run_ok(Command::new("ip").args(["-n", &amphora.name, "route", "show", "default"]));
    assert!(route.contains("via 198.51.100.1 dev eth2"), "{route}");
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(agent.dir.path().join("interfaces/eth2.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        file["addresses"],
        json!([{"dhcp": true, "ipv6auto": true}]),
        "{file}"
    );
    let accept_ra = run_ok(
        amphora
            .command("sysctl")
            .args(["-n", "net.ipv6.conf.eth2.accept_ra"]),
    );
    assert_eq!(accept_ra.trim(), "2");
    assert_eq!(dhclients_for(&amphora, "eth2"), 1);
    let lease = std::fs::read_to_string(&files.lease).unwrap();
    assert!(lease.contains("fixed-address 198.51.100.5"), "{lease}");
    assert!(std::path::Path::new(&files.pid).exists());

    // The controller plugs the same port again: the leased address stays (it is not a
    // static address to converge away) and no second client starts.
    let (code, reply) = call(&agent, "POST", "/1.0/plug/network", body.as_bytes()).await;
    assert_eq!(
        (code, reply),
        (
            202,
            json!({"message": "OK", "details": "Updated existing interface eth2"})
        )
    );
    let again =
        run_ok(Command::new("ip").args(["-n", &amphora.name, "-4", "addr", "show", "eth2"]));
    assert!(
        again.contains("inet 198.51.100.5"),
        "lease lost on re-plug: {again}"
    );
    assert_eq!(dhclients_for(&amphora, "eth2"), 1);
    assert_eq!(
        std::fs::read("/etc/resolv.conf").ok(),
        resolv_before,
        "resolv.conf changed"
    );
    let _ = server.kill();
    let _ = server.wait();
}
