//! octa-agent's keepalived routes for real: a VRRP configuration rendered by Octavia's own
//! template (`tests/compat/render_keepalived.py`) is uploaded, keepalived runs in the
//! test's namespace and, as MASTER, puts the VIP on the interface carrying the VRRP
//! address, keeps it across reloads, and takes it away on stop; an LVS (UDP) listener
//! rendered by Octavia's own LVS template goes through upload, listing, start, reload,
//! stop and delete as on a stock amphora; and the error paths the lab's stock agent can
//! serve without changing its host answer the same status and body.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use octa_tests::agent::{AMPHORA, OctaAgent, TestNetns, lab_stock_agent};
use octa_tests::https::{Reply, exchange, exchange_typed};
use octa_tests::{free_port, require_root, run_ok};
use serde_json::{Value, json};

const LB: &str = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d";
const LISTENER: &str = "7d6c5b4a-3f2e-4d1c-9b0a-8f7e6d5c4b3a";
const POOL: &str = "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9";
const MEMBER: &str = "2c3d4e5f-6071-4829-93a4-b5c6d7e8f90a";
const VIP: &str = "198.51.100.10";
const VRRP_IP: &str = "198.51.100.11";
const PEER_IP: &str = "198.51.100.12";

/// The agent's own VRRP check command (`octa-agent haproxy-vrrp-check`).
fn checker() -> String {
    let exe = std::fs::canonicalize(octa_tests::workspace_bin("octa-agent")).unwrap();
    format!("{} haproxy-vrrp-check", exe.display())
}

fn wait_until(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn render(args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/render_keepalived.py");
    run_ok(Command::new("/usr/bin/python3").arg(script).args(args))
}

fn addresses(ns: &TestNetns) -> String {
    run_ok(Command::new("ip").args(["-n", &ns.name, "-br", "addr", "show", "dev", "eth1"]))
}

fn has_vip(ns: &TestNetns) -> bool {
    addresses(ns).contains(&format!("{VIP}/32"))
}

fn pid_in(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Alive and not a zombie.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("not JSON: {}", reply.body))
}

struct Api<'a>(&'a OctaAgent);

impl Api<'_> {
    async fn call(&self, method: &str, path: &str, body: &[u8]) -> Reply {
        exchange(
            self.0.controller(),
            self.0.port,
            AMPHORA,
            method,
            path,
            body,
        )
        .await
        .unwrap()
    }
}

/// A veth pair: `eth1` inside `ns` carrying the VRRP address, its peer up in the test's
/// own namespace (so the link has carrier); the namespace's deletion removes both.
fn vrrp_link(ns: &TestNetns) {
    let outer = format!("okv{}", std::process::id() % 1_000_000);
    let inner = format!("{outer}i");
    run_ok(Command::new("ip").args([
        "link", "add", &inner, "type", "veth", "peer", "name", &outer,
    ]));
    run_ok(Command::new("ip").args(["link", "set", &inner, "netns", &ns.name, "name", "eth1"]));
    run_ok(Command::new("ip").args([
        "-n",
        &ns.name,
        "addr",
        "add",
        &format!("{VRRP_IP}/24"),
        "dev",
        "eth1",
    ]));
    run_ok(Command::new("ip").args(["-n", &ns.name, "link", "set", "eth1", "up"]));
    run_ok(Command::new("ip").args(["link", "set", &outer, "up"]));
}

/// An haproxy configuration in Octavia's layout: one TCP frontend on loopback, its stats
/// socket where the VRRP check looks for it (`base_path/<lb>.sock`).
fn haproxy_config(base: &Path, port: u16) -> String {
    format!(
        "global\n    daemon\n    maxconn 100\n    stats socket {base}/{LB}.sock mode 0666 level user\n\n\
         defaults\n    timeout connect 5000\n    timeout client 50000\n    timeout server 50000\n\n\
         frontend {LISTENER}\n    bind 127.0.0.1:{port}\n    mode tcp\n    default_backend pool\n\n\
         backend pool\n    mode tcp\n    server m1 127.0.0.1:9 weight 1\n",
        base = base.display()
    )
}

#[tokio::test]
async fn vrrp_keepalived_takes_the_vip_keeps_it_across_reloads_and_gives_it_back() {
    require_root();
    let ns = TestNetns::create("vrrp");
    vrrp_link(&ns);
    // ACTIVE_STANDBY: the agent maintains the check scripts keepalived's vrrp_script runs.
    let agent = OctaAgent::start_with(
        Some(&ns.name),
        "[controller_worker]\nloadbalancer_topology = ACTIVE_STANDBY\n",
    );
    let api = Api(&agent);
    let base = agent.dir.path().to_owned();

    // The controller configures the load balancer before VRRP: haproxy runs, so the
    // VRRP check (haproxy-vrrp-check on its stats socket) succeeds.
    let put = api
        .call(
            "PUT",
            &format!("/1.0/loadbalancer/{AMPHORA}/{LB}/haproxy"),
            haproxy_config(&base, free_port()).as_bytes(),
        )
        .await;
    assert_eq!(put.status, 202, "{}", put.body);
    let start = api
        .call("PUT", &format!("/1.0/loadbalancer/{LB}/reload"), b"")
        .await;
    assert_eq!(start.status, 202, "{}", start.body);

    let config = render(&[
        "vrrp",
        "--base-path",
        base.to_str().unwrap(),
        "--vip",
        VIP,
        "--subnet",
        "198.51.100.0/24",
        "--vrrp-ip",
        VRRP_IP,
        "--peer-ip",
        PEER_IP,
        "--iface",
        "eth1",
        "--role",
        "MASTER",
        "--check-interval",
        "1",
    ]);
    assert!(
        config.contains("vrrp_instance")
            && config.contains(&format!(
                "{base}/vrrp/check_script.sh",
                base = base.display()
            ))
    );
    let upload = api.call("PUT", "/1.0/vrrp/upload", config.as_bytes()).await;
    assert_eq!(
        (upload.status, upload.body.as_str()),
        (200, r#"{"message":"OK"}"#)
    );
    assert_eq!(
        upload.header("etag"),
        Some(md5_hex(config.as_bytes()).as_str())
    );
    let conf = base.join("vrrp/octavia-keepalived.conf");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), config);
    assert_eq!(mode(&conf), 0o644);
    assert_eq!(mode(&base.join("vrrp/check_script.sh")), 0o755);
    assert_eq!(
        std::fs::read_to_string(base.join("vrrp/check_scripts/haproxy_check_script.sh")).unwrap(),
        format!("{} {}/{LB}.sock; exit $?", checker(), base.display())
    );

    let started = api.call("PUT", "/1.0/vrrp/start", b"").await;
    assert_eq!(
        json_of(&started),
        json!({"message": "OK", "details": "keepalived started"}),
        "{}",
        started.body
    );
    assert_eq!(started.status, 202);
    let pid_file = base.join("vrrp/octavia-keepalived.pid");
    let pid = pid_in(&pid_file).expect("keepalived's pid file");
    assert!(alive(pid));
    let in_ns = run_ok(Command::new("ip").args(["netns", "pids", &ns.name]));
    assert!(
        in_ns.split_whitespace().any(|p| p == pid.to_string()),
        "keepalived {pid} runs outside {}",
        ns.name
    );
    // MASTER without a peer answering: the VIP arrives (advert_int 1, check rise 2).
    wait_until("the VIP on eth1", 20, || has_vip(&ns));
    // keepalived also installs the VIP's policy routing from the template.
    let rules = run_ok(Command::new("ip").args(["-n", &ns.name, "rule"]));
    assert!(rules.contains(&format!("from {VIP} lookup 1")), "{rules}");

    // start on a running keepalived is a reload; reload keeps process and VIP.
    for (action, details) in [
        ("start", "keepalived reloaded"),
        ("reload", "keepalived reloaded"),
    ] {
        let r = api.call("PUT", &format!("/1.0/vrrp/{action}"), b"").await;
        assert_eq!(
            (r.status, json_of(&r)),
            (202, json!({"message": "OK", "details": details}))
        );
    }
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(150));
        assert!(has_vip(&ns), "VIP lost after reload: {}", addresses(&ns));
    }
    assert_eq!(pid_in(&pid_file), Some(pid));
    assert!(alive(pid));

    // The check scripts are live: haproxy gone (its master stopped behind the agent's
    // back) fails haproxy-vrrp-check, keepalived goes FAULT and drops the VIP; haproxy
    // back (the controller's reload of a stopped haproxy is a start) brings it back.
    let haproxy = pid_in(&base.join(LB).join(format!("{LB}.pid"))).expect("haproxy's pid");
    run_ok(Command::new("kill").args(["-TERM", &haproxy.to_string()]));
    wait_until("the VIP to leave after haproxy died", 20, || !has_vip(&ns));
    let back = api
        .call("PUT", &format!("/1.0/loadbalancer/{LB}/reload"), b"")
        .await;
    assert_eq!(back.status, 202, "{}", back.body);
    wait_until("the VIP back with haproxy", 30, || has_vip(&ns));
    assert_eq!(
        pid_in(&pid_file),
        Some(pid),
        "keepalived itself never restarted"
    );

    let bad = api.call("PUT", "/1.0/vrrp/explode", b"").await;
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (
            400,
            r#"{"message":"Invalid Request","details":"Unknown action: explode"}"#
        )
    );

    let stopped = api.call("PUT", "/1.0/vrrp/stop", b"").await;
    // Stock appends "ed" to the action.
    assert_eq!(
        (stopped.status, json_of(&stopped)),
        (
            202,
            json!({"message": "OK", "details": "keepalived stoped"})
        )
    );
    assert!(!alive(pid), "keepalived {pid} still runs");
    assert!(!pid_file.exists());
    assert!(!has_vip(&ns), "VIP left behind: {}", addresses(&ns));
    // Reloading what does not run fails, as systemctl's reload of an inactive unit does.
    let reload = api.call("PUT", "/1.0/vrrp/reload", b"").await;
    assert_eq!(reload.status, 500, "{}", reload.body);
    assert_eq!(
        json_of(&reload)["message"],
        "Failed to reload octavia-keepalived service"
    );

    // Deleting the load balancer rewrites the check without it (check_script.sh exists).
    let deleted = api
        .call("DELETE", &format!("/1.0/listeners/{LB}"), b"")
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        std::fs::read_to_string(base.join("vrrp/check_scripts/haproxy_check_script.sh")).unwrap(),
        format!("{} ; exit $?", checker())
    );
    // ns's drop kills what is left in it and deletes it (the veth pair with it); the
    // agent's drop stops it and removes its base path.
}

fn md5_hex(bytes: &[u8]) -> String {
    // The stock agent's ETag: hex MD5 of the body as received.
    let out = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn ipvs_available(ns: &TestNetns) -> bool {
    ns.command("ipvsadm")
        .arg("-L")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn lvs_config(base: &Path, ns: &TestNetns, disabled: bool) -> String {
    let mut args = vec![
        "lvs",
        "--base-path",
        base.to_str().unwrap(),
        "--netns",
        &ns.name,
        "--lb-id",
        LB,
        "--listener-id",
        LISTENER,
        "--pool-id",
        POOL,
        "--member-id",
        MEMBER,
        "--hm-id",
        "3d4e5f60-7182-4930-a4b5-c6d7e8f90a1b",
        "--vip",
        VIP,
        "--port",
        "5353",
        "--member",
        "198.51.100.20",
        "--member-port",
        "53",
    ];
    if disabled {
        args.push("--disabled");
    }
    render(&args)
}

#[tokio::test]
async fn an_lvs_listener_lives_through_upload_start_reload_stop_and_delete() {
    require_root();
    let ns = TestNetns::create("lvs");
    let agent = OctaAgent::start_in(Some(&ns.name));
    let api = Api(&agent);
    let base = agent.dir.path().to_owned();
    let lvs = base.join("lvs");
    let conf = lvs.join(format!("octavia-keepalivedlvs-{LISTENER}.conf"));
    let pid_file = lvs.join(format!("octavia-keepalivedlvs-{LISTENER}.pid"));
    let udp_path = format!("/1.0/listeners/{AMPHORA}/{LISTENER}/udp_listener");

    let unknown = api
        .call(
            "GET",
            &format!("/1.0/listeners/{LISTENER}/udp_listener"),
            b"",
        )
        .await;
    assert_eq!(
        (unknown.status, json_of(&unknown)),
        (
            404,
            json!({"message": "UDP Listener Not Found",
                   "details": format!("No UDP listener with UUID: {LISTENER}")})
        )
    );

    let enabled = lvs_config(&base, &ns, false);
    assert!(enabled.contains("virtual_server group ipv4-group"));
    let put = api.call("PUT", &udp_path, enabled.as_bytes()).await;
    assert_eq!(
        (put.status, put.body.as_str()),
        (200, r#"{"message":"OK"}"#)
    );
    assert_eq!(
        put.header("etag"),
        Some(md5_hex(enabled.as_bytes()).as_str())
    );
    assert_eq!(mode(&conf), 0o644);
    // The MISC_CHECK script the configuration names exists (octa's own).
    let udp_check = lvs.join("check/udp_check.sh");
    assert!(enabled.contains(&udp_check.display().to_string()));
    assert_eq!(mode(&udp_check), 0o100);
    let got = api
        .call(
            "GET",
            &format!("/1.0/listeners/{LISTENER}/udp_listener"),
            b"",
        )
        .await;
    assert_eq!((got.status, got.body.as_str()), (200, enabled.as_str()));
    let listed = api.call("GET", "/1.0/listeners", b"").await;
    assert_eq!(
        json_of(&listed),
        json!([{"status": "OFFLINE", "uuid": LISTENER, "type": "UDP"}])
    );

    let start = api
        .call("PUT", &format!("/1.0/loadbalancer/{LISTENER}/start"), b"")
        .await;
    if ipvs_available(&ns) {
        assert_eq!(start.status, 202, "{}", start.body);
        let listed = api.call("GET", "/1.0/listeners", b"").await;
        assert_eq!(json_of(&listed)[0]["status"], "ACTIVE");
    } else {
        // This kernel has no IPVS (`ipvsadm -L`: "Protocol not available"). keepalived
        // then logs "IPVS: Can't initialize ipvs", its checker child exits with a
        // permanent error and keepalived terminates milliseconds after writing its pid
        // file. The truthful outcome: the start fails (as a systemd unit would, its
        // main process gone), the listener stays OFFLINE and no keepalived is left.
        assert_eq!(start.status, 500, "{}", start.body);
        let body = json_of(&start);
        assert_eq!(
            body["message"],
            format!("Failed to start keepalivedlvs listener {LISTENER}")
        );
        assert!(
            body["details"]
                .as_str()
                .unwrap()
                .contains("exited during start-up"),
            "{body}"
        );
        let listed = api.call("GET", "/1.0/listeners", b"").await;
        assert_eq!(
            json_of(&listed),
            json!([{"status": "OFFLINE", "uuid": LISTENER, "type": "UDP"}])
        );
        assert!(!pid_file.exists());
        // A reload is a restart (stock), failing the same way.
        let reload = api
            .call("PUT", &format!("/1.0/loadbalancer/{LISTENER}/reload"), b"")
            .await;
        assert_eq!(
            (reload.status, json_of(&reload)["message"].clone()),
            (
                500,
                json!(format!(
                    "Failed to restart keepalivedlvs listener {LISTENER}"
                ))
            )
        );
    }
    let stop = api
        .call("PUT", &format!("/1.0/loadbalancer/{LISTENER}/stop"), b"")
        .await;
    assert_eq!(stop.status, 202, "{}", stop.body);

    // The same listener disabled: Octavia's template renders no virtual server, so
    // keepalived needs no IPVS and really runs; stock counts a running listener without
    // a virtual server as OFFLINE.
    let disabled = lvs_config(&base, &ns, true);
    assert!(!disabled.contains("virtual_server"));
    let put = api.call("PUT", &udp_path, disabled.as_bytes()).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let start = api
        .call("PUT", &format!("/1.0/loadbalancer/{LISTENER}/start"), b"")
        .await;
    assert_eq!(
        (start.status, json_of(&start)),
        (
            202,
            json!({"message": "OK",
                   "details": format!("keepalivedlvs listener {LISTENER} started")})
        )
    );
    let pid = pid_in(&pid_file).expect("keepalived's pid file");
    assert!(alive(pid));
    let in_ns = run_ok(Command::new("ip").args(["netns", "pids", &ns.name]));
    assert!(in_ns.split_whitespace().any(|p| p == pid.to_string()));
    let listed = api.call("GET", "/1.0/listeners", b"").await;
    assert_eq!(
        json_of(&listed),
        json!([{"status": "OFFLINE", "uuid": LISTENER, "type": "UDP"}])
    );
    let details = json_of(&api.call("GET", "/1.0/details", b"").await);
    assert_eq!(details["lvs_listener_process_count"], 1);
    assert_eq!(details["listeners"], json!([LISTENER]));

    let reload = api
        .call("PUT", &format!("/1.0/loadbalancer/{LISTENER}/reload"), b"")
        .await;
    assert_eq!(
        (reload.status, json_of(&reload)),
        (
            202,
            json!({"message": "OK",
                   "details": format!("keepalivedlvs listener {LISTENER} restarted")})
        )
    );
    let restarted = pid_in(&pid_file).expect("pid file after restart");
    assert!(alive(restarted) && !alive(pid), "{pid} -> {restarted}");

    let stop = api
        .call("PUT", &format!("/1.0/loadbalancer/{LISTENER}/stop"), b"")
        .await;
    assert_eq!(
        (stop.status, json_of(&stop)),
        (
            202,
            json!({"message": "OK",
                   "details": format!("keepalivedlvs listener {LISTENER} stoped")})
        )
    );
    assert!(!alive(restarted));

    // Delete a running listener: process, pid files and configuration go.
    let start = api
        .call("PUT", &format!("/1.0/loadbalancer/{LISTENER}/start"), b"")
        .await;
    assert_eq!(start.status, 202, "{}", start.body);
    let pid = pid_in(&pid_file).unwrap();
    let deleted = api
        .call("DELETE", &format!("/1.0/listeners/{LISTENER}"), b"")
        .await;
    assert_eq!(
        (deleted.status, deleted.body.as_str()),
        (200, r#"{"message":"OK"}"#)
    );
    assert!(!alive(pid));
    let left: Vec<PathBuf> = std::fs::read_dir(&lvs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    assert!(left.is_empty(), "left in lvs/: {left:?}");
    assert_eq!(api.call("GET", "/1.0/listeners", b"").await.body, "[]");
    let gone = api
        .call(
            "GET",
            &format!("/1.0/listeners/{LISTENER}/udp_listener"),
            b"",
        )
        .await;
    assert_eq!(gone.status, 404);

    // Path traversal in the listener id: the router's 404, nothing written anywhere.
    let before: Vec<_> = std::fs::read_dir(base.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    for evil in ["..%2F..%2Fescape", "..", "%2E%2E", "a%2F..%2F..%2Fescape"] {
        let r = api
            .call(
                "PUT",
                &format!("/1.0/listeners/{AMPHORA}/{evil}/udp_listener"),
                b"net_namespace x\n",
            )
            .await;
        assert_eq!(r.status, 404, "{evil}: {}", r.body);
        assert_eq!(json_of(&r)["http_code"], 404, "{evil}");
    }
    let after: Vec<_> = std::fs::read_dir(base.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        after
            .iter()
            .all(|f| before.contains(f) || !f.to_string_lossy().contains("escape")),
        "something escaped next to the base path"
    );
    let in_lvs: Vec<_> = std::fs::read_dir(&lvs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(in_lvs, ["check"], "lvs/ holds only the check directory");
    assert!(!base.join("escape").exists() && !Path::new("/escape").exists());
}

#[tokio::test]
async fn vrrp_and_lvs_error_paths_answer_like_the_stock_agent() {
    let (stock, stock_port, stock_id) = lab_stock_agent();
    let agent = OctaAgent::start();
    let ours = agent.controller();
    let unknown = "0e0e0e0e-1111-4222-8333-444455556666";
    // Only requests that leave the stock agent's host unchanged: no upload (it writes
    // files before failing on its init-system detection), no start/stop/reload of a
    // keepalived that exists.
    let steps: Vec<(&str, String)> = vec![
        ("GET", format!("/1.0/listeners/{unknown}/udp_listener")),
        ("GET", "/1.0/listeners/..%2F..%2Fetc/udp_listener".into()),
        ("PUT", "/1.0/vrrp/bogus".into()),
        ("PUT", "/1.0/vrrp/Bogus".into()),
        ("GET", "/1.0/vrrp/upload".into()),
        ("POST", "/1.0/vrrp/start".into()),
        (
            "GET",
            format!("/1.0/listeners/{AMPHORA}/{unknown}/udp_listener"),
        ),
        ("DELETE", format!("/1.0/listeners/{unknown}/udp_listener")),
        ("PUT", format!("/1.0/loadbalancer/{unknown}/start")),
        ("PUT", format!("/1.0/loadbalancer/{unknown}/reload")),
        ("PUT", format!("/1.0/loadbalancer/{unknown}/Explode")),
        ("DELETE", format!("/1.0/listeners/{unknown}")),
    ];
    for (method, path) in &steps {
        let theirs = exchange_typed(
            stock.clone(),
            stock_port,
            &stock_id,
            method,
            path,
            None,
            b"",
        )
        .await
        .unwrap();
        let mine = exchange_typed(ours.clone(), agent.port, AMPHORA, method, path, None, b"")
            .await
            .unwrap();
        assert_eq!(
            (mine.status, &mine.body),
            (theirs.status, &theirs.body),
            "{method} {path}"
        );
    }
}

/// The next heartbeat (within a few intervals) for which `wanted` holds.
fn heartbeat_where(
    agent: &OctaAgent,
    wanted: impl Fn(&octa_proto::heartbeat::Heartbeat) -> bool,
) -> octa_proto::heartbeat::Heartbeat {
    agent
        .heartbeats
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 65536];
    loop {
        let (n, _) = agent.heartbeats.recv_from(&mut buf).unwrap();
        let beat =
            octa_proto::heartbeat::unwrap(&buf[..n], octa_tests::agent::KEY.as_bytes()).unwrap();
        if wanted(&beat) {
            return beat;
        }
        assert!(
            Instant::now() < end,
            "no such heartbeat; the last: {beat:?}"
        );
    }
}

#[tokio::test]
async fn a_running_lvs_listener_is_counted_in_heartbeats_with_its_pool() {
    require_root();
    let ns = TestNetns::create("lvshb");
    let agent = OctaAgent::start_in(Some(&ns.name));
    let api = Api(&agent);
    let base = agent.dir.path().to_owned();
    let udp_path = format!("/1.0/listeners/{AMPHORA}/{LISTENER}/udp_listener");
    let put = api
        .call("PUT", &udp_path, lvs_config(&base, &ns, false).as_bytes())
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    // Not running: not reported (stock's health daemon skips it too).
    let beat = heartbeat_where(&agent, |_| true);
    assert!(!beat.listeners.contains_key(LISTENER), "{beat:?}");

    // keepalived cannot run its LVS here when the kernel lacks IPVS; what the heartbeat
    // reads of a running one is its pid files naming live processes, so a stand-in
    // process holds them (written after the configuration: not restarting).
    let mut stand_in = Command::new("sleep").arg("600").spawn().unwrap();
    let lvs = base.join("lvs");
    for ext in ["pid", "check.pid"] {
        let file = lvs.join(format!("octavia-keepalivedlvs-{LISTENER}.{ext}"));
        std::fs::write(file, format!("{}\n", stand_in.id())).unwrap();
    }
    let listed = api.call("GET", "/1.0/listeners", b"").await;
    assert_eq!(json_of(&listed)[0]["status"], "ACTIVE");
    // The health manager expects every enabled listener in the heartbeat, else it never
    // marks the amphora healthy: the LVS listener is there, OPEN, with its pool. Its
    // health-monitored member is in no IPVS table, so it is DOWN, as stock reports it.
    let beat = heartbeat_where(&agent, |b| b.listeners.contains_key(LISTENER));
    assert_eq!(beat.listeners[LISTENER].status, "OPEN");
    assert_eq!(beat.pools[POOL].status, "DOWN", "{beat:?}");
    assert_eq!(
        beat.pools[POOL].members,
        [(MEMBER.to_owned(), "DOWN".to_owned())]
            .into_iter()
            .collect()
    );
    // Stock's own query, on the same files, says the same.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/lvs_pool_status.py");
    let stock: Value = serde_json::from_str(&run_ok(
        Command::new("/usr/bin/python3")
            .arg(script)
            .arg("--base-path")
            .arg(&base)
            .args(["--listener-id", LISTENER]),
    ))
    .unwrap();
    assert_eq!(
        stock,
        json!({"lvs": {"uuid": POOL, "status": beat.pools[POOL].status,
                       "members": beat.pools[POOL].members}})
    );

    // Disabled by the controller: running but left out, as stock does.
    let put = api
        .call("PUT", &udp_path, lvs_config(&base, &ns, true).as_bytes())
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let beat = heartbeat_where(&agent, |b| !b.listeners.contains_key(LISTENER));
    assert!(!beat.pools.contains_key(POOL), "{beat:?}");
    let _ = stand_in.kill();
    let _ = stand_in.wait();
}
