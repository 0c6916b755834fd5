//! octa-agent running a load balancer: an haproxy configuration in Octavia's layout is
//! uploaded (validated by `haproxy -c`), started by `reload` (as the controller does),
//! serves real HTTP to a backend on loopback, is listed, survives a refused invalid
//! upload, is stopped and deleted, leaving nothing behind; and the same life driven by
//! stock Octavia's own controller client with a configuration rendered by Octavia's own
//! template (`tests/compat/drive_agent.py`), haproxy running in a namespace of the test.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use octa_tests::agent::{AMPHORA, KEY, OctaAgent, TestNetns};
use octa_tests::free_port;
use octa_tests::https::exchange;
use octa_tests::require_root;
use serde_json::{Value, json};

const LB: &str = "3f2e1d0c-9b8a-4766-8544-332211009988";
const LISTENER: &str = "a1b2c3d4-e5f6-4789-8abc-def012345678";
const POOL: &str = "b2c3d4e5-f6a7-4890-9bcd-ef0123456789";
const MEMBER: &str = "c3d4e5f6-a7b8-4901-8cde-f01234567890";

/// A backend: python's http.server on loopback serving one file; killed on drop.
struct Backend(Child);

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(port: u16) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /hello.txt HTTP/1.0\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn config(base: &std::path::Path, frontend_port: u16, backend_port: u16) -> String {
    format!(
        "# Configuration for loadbalancer {LB}\nglobal\n    daemon\n    user nobody\n    group haproxy\n    log /dev/log local0\n\
         \x20   maxconn 1000\n    stats socket {base}/{LB}.sock mode 0666 level user\n    server-state-file {base}/{LB}/servers-state\n\ndefaults\n    log global\n    retries 3\n\
         \x20   option redispatch\n    timeout connect 5000\n    timeout client 50000\n    timeout server 50000\n\n\
         frontend {LISTENER}\n    maxconn 1000\n    bind 127.0.0.1:{frontend_port}\n    mode http\n    default_backend {POOL}:{LISTENER}\n\n\
         backend {POOL}:{LISTENER}\n    mode http\n    balance roundrobin\n    load-server-state-from-file global\n    server member-1 127.0.0.1:{backend_port} weight 1\n",
        base = base.display()
    )
}

#[tokio::test]
async fn a_load_balancer_lives_through_upload_start_traffic_and_delete() {
    require_root();
    let agent = OctaAgent::start();
    let c = || agent.controller();
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("hello.txt"), "hello through haproxy\n").unwrap();
    let backend_port = free_port();
    let _backend = Backend(
        Command::new("/usr/bin/python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &backend_port.to_string(),
            ])
            .current_dir(www.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the backend", || http_get(backend_port).is_some());
    let frontend_port = free_port();
    let cfg = config(agent.dir.path(), frontend_port, backend_port);

    let put = exchange(
        c(),
        agent.port,
        AMPHORA,
        "PUT",
        &format!("/1.0/loadbalancer/{AMPHORA}/{LB}/haproxy"),
        cfg.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(
        (put.status, put.body.as_str()),
        (202, r#"{"message":"OK"}"#)
    );
    let stored = exchange(
        c(),
        agent.port,
        AMPHORA,
        "GET",
        &format!("/1.0/loadbalancer/{LB}/haproxy"),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(stored.status, 200);
    assert!(
        !stored.body.contains("group haproxy")
            && stored.body.contains(&format!("frontend {LISTENER}")),
        "{}",
        stored.body
    );

    // The controller reloads after every upload; on a stopped haproxy that is a start.
    let start = exchange(
        c(),
        agent.port,
        AMPHORA,
        "PUT",
        &format!("/1.0/loadbalancer/{LB}/reload"),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(start.status, 202, "{}", start.body);
    let body: Value = serde_json::from_str(&start.body).unwrap();
    assert_eq!(
        body["details"],
        format!("Configuration file is valid\nhaproxy daemon for {LB} started")
    );
    wait_until("HTTP through haproxy", || {
        http_get(frontend_port).is_some_and(|r| r.contains("hello through haproxy"))
    });

    let listeners = exchange(c(), agent.port, AMPHORA, "GET", "/1.0/listeners", b"")
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&listeners.body).unwrap(),
        json!([{"status": "ACTIVE", "uuid": LISTENER, "type": "HTTP"}])
    );

    // Heartbeats now carry the listener, its pool and member, and the traffic above.
    agent
        .heartbeats
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let (mut seen, mut rx_total) = (None, 0);
    for _ in 0..5 {
        let (n, _) = agent.heartbeats.recv_from(&mut buf).unwrap();
        let beat = octa_proto::heartbeat::unwrap(&buf[..n], KEY.as_bytes()).unwrap();
        if let Some(listener) = beat.listeners.get(LISTENER) {
            rx_total += listener.stats.rx;
            seen = Some(beat);
            if rx_total > 0 {
                break;
            }
        }
    }
    let beat = seen.expect("no heartbeat reported the listener");
    assert_eq!(beat.listeners[LISTENER].status, "OPEN");
    let pool = &beat.pools[&format!("{POOL}:{LISTENER}")];
    assert_eq!(pool.status, "UP");
    assert_eq!(pool.members["member-1"], "no check");
    assert!(
        rx_total > 0,
        "the HTTP request through haproxy was not counted"
    );

    // An invalid configuration is refused with haproxy's words; the running one serves on.
    let bad = exchange(
        c(),
        agent.port,
        AMPHORA,
        "PUT",
        &format!("/1.0/loadbalancer/{AMPHORA}/{LB}/haproxy"),
        b"frontend broken\n    bind nowhere:abc\n",
    )
    .await
    .unwrap();
    assert_eq!(bad.status, 400);
    let body: Value = serde_json::from_str(&bad.body).unwrap();
    assert_eq!(body["message"], "Invalid request");
    assert!(!body["details"].as_str().unwrap().is_empty());
    assert!(http_get(frontend_port).is_some_and(|r| r.contains("hello through haproxy")));
    assert_eq!(
        exchange(
            c(),
            agent.port,
            AMPHORA,
            "GET",
            &format!("/1.0/loadbalancer/{LB}/haproxy"),
            b""
        )
        .await
        .unwrap()
        .body,
        stored.body
    );

    let reload = exchange(
        c(),
        agent.port,
        AMPHORA,
        "PUT",
        &format!("/1.0/loadbalancer/{LB}/reload"),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(
        (reload.status, reload.body.as_str()),
        (
            202,
            format!(r#"{{"message":"OK","details":"Listener {LB} reloaded"}}"#).as_str()
        )
    );
    // Saved before the reload, where the template's server-state-file points.
    let saved = std::fs::read_to_string(agent.dir.path().join(LB).join("servers-state")).unwrap();
    assert!(
        saved
            .lines()
            .any(|l| l.contains(&format!("{POOL}:{LISTENER}")) && l.contains("member-1")),
        "{saved}"
    );
    let unknown = exchange(
        c(),
        agent.port,
        AMPHORA,
        "PUT",
        &format!("/1.0/loadbalancer/{LB}/explode"),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (
            400,
            r#"{"message":"Invalid Request","details":"Unknown action: explode"}"#
        )
    );

    let gone = exchange(
        c(),
        agent.port,
        AMPHORA,
        "DELETE",
        &format!("/1.0/listeners/{LB}"),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(
        (gone.status, gone.body.as_str()),
        (200, r#"{"message":"OK"}"#)
    );
    wait_until("haproxy to stop serving", || {
        http_get(frontend_port).is_none()
    });
    assert!(!agent.dir.path().join(LB).exists());
    let missing = exchange(
        c(),
        agent.port,
        AMPHORA,
        "GET",
        &format!("/1.0/loadbalancer/{LB}/haproxy"),
        b"",
    )
    .await
    .unwrap();
    assert_eq!((missing.status, missing.body.as_str()), (404, format!(r#"{{"message":"Loadbalancer Not Found","details":"No loadbalancer with UUID: {LB}"}}"#).as_str()));
    assert_eq!(
        exchange(c(), agent.port, AMPHORA, "GET", "/1.0/listeners", b"")
            .await
            .unwrap()
            .body,
        "[]"
    );
}

#[tokio::test]
async fn stock_octavias_controller_client_drives_octa_agent_through_a_load_balancer() {
    require_root();
    // haproxy and the backend live in a namespace of this test, as on an amphora.
    let netns = TestNetns::create("compat");
    let agent = OctaAgent::start_in(Some(&netns.name));
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("hello.txt"), "hello through haproxy\n").unwrap();
    let backend_port = free_port();
    let _backend = Backend(
        netns
            .command("/usr/bin/python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(backend_port.to_string())
            .current_dir(www.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let frontend_port = free_port();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/drive_agent.py");
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .args(["--port", &agent.port.to_string(), "--amphora-id", AMPHORA])
        .args(["--lb-id", LB, "--listener-id", LISTENER, "--pool-id", POOL])
        .args(["--member-id", MEMBER, "--netns", &netns.name])
        .args(["--frontend-port", &frontend_port.to_string()])
        .args(["--backend-port", &backend_port.to_string()])
        .arg("--base-path")
        .arg(agent.dir.path())
        .args(agent.stock_client_args())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stock client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Octavia's template produced it: its socket path, log-format and member line.
    let rendered = steps["rendered"].as_str().unwrap();
    assert!(
        rendered.contains(&format!(
            "stats socket {}/{LB}.sock",
            agent.dir.path().display()
        )) && rendered.contains(&format!("server {MEMBER} 127.0.0.1:{backend_port}")),
        "{rendered}"
    );
    assert_eq!(steps["api_version"], json!({"api_version": "1.0"}));
    assert_eq!(steps["info"]["api_version"], "1.0");
    assert_eq!(
        steps["listeners"],
        json!([{"status": "ACTIVE", "uuid": LISTENER, "type": "HTTP"}])
    );
    assert_eq!(steps["details"]["haproxy_count"], 1);
    assert_eq!(steps["details"]["listeners"], json!([LISTENER]));
    assert_eq!(steps["http"], "hello through haproxy\n");
    assert_eq!(steps["http_after_reload"], "hello through haproxy\n");
    // MD5 of the PEM drive_agent.py uploads.
    assert_eq!(steps["md5"], "0a08cfc1decdbfe626537596c71556e0");
    assert_eq!(steps["listeners_after_delete"], json!([]));
    assert_eq!(steps["md5_after_delete"], Value::Null);
    assert!(!agent.dir.path().join(LB).exists());
    // Nothing of haproxy is left in the namespace: only the backend runs there.
    let pids = octa_tests::run_ok(Command::new("ip").args(["netns", "pids", &netns.name]));
    assert_eq!(
        pids.split_whitespace().count(),
        1,
        "left in the netns: {pids}"
    );
}
