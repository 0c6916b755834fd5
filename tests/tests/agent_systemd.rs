//! octa-agent's systemd haproxy manager, live: the agent runs inside a booted amphora
//! image (systemd as PID 1 under systemd-nspawn, `tests/lab/amphora-root.sh`) and a load
//! balancer goes through its life as the stock controller drives it. The upload renders
//! and enables `haproxy-<lb>.service` and `amphora-netns.service`; start, reload and stop
//! are real `systemctl` jobs; haproxy runs in the `amphora-haproxy` namespace under
//! systemd (`Type=notify`, `-Ws`) and answers HTTP there; delete stops, disables and
//! removes the unit. And an ACTIVE_STANDBY amphora: the VIP port plugged by MAC into the
//! container's namespace, haproxy binding the VIP it does not hold yet, keepalived as
//! `octavia-keepalived.service` taking the VIP, and after a simulated reboot (port back in
//! the root namespace, no amphora namespace) `amphora-netns.service` plugging it again.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use octa_tests::agent::{AMPHORA, AgentOptions, OctaAgent};
use octa_tests::https::exchange;
use octa_tests::nspawn::Amphora;
use octa_tests::{require_root, workspace_bin};
use serde_json::{Value, json};

const LB: &str = "9a8b7c6d-0000-4e5f-8a9b-0c1d2e3f4a5b";
const LISTENER: &str = "1b2c3d4e-0000-4f5a-9b8c-7d6e5f4a3b2c";
/// Where the stock image (and octa-agent's systemd manager) keeps unit files.
const UNIT_DIR: &str = "/usr/lib/systemd/system";

async fn call(agent: &OctaAgent, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let reply = exchange(agent.controller(), agent.port, AMPHORA, method, path, body)
        .await
        .unwrap();
    (reply.status, reply.body)
}

/// An HTTP GET to the load balancer, from inside the amphora namespace of the container.
fn http_get(amphora: &Amphora) -> String {
    let out = amphora
        .command("ip")
        .args(["netns", "exec", "amphora-haproxy", "bash", "-c"])
        .arg(
            "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 5 cat <&3",
        )
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    )
}

/// A booted amphora image with octa-agent running inside (haproxy and keepalived as
/// systemd units); fields drop in order: agent, container, then the shared directory.
struct Booted {
    agent: OctaAgent,
    amphora: Amphora,
    _shared: tempfile::TempDir,
}

impl Booted {
    /// `extra` is appended to the agent's configuration file.
    fn new(tag: &str, extra: &str) -> Self {
        let bin = workspace_bin("octa-agent");
        // The agent's files live in a directory of the test bound in at the same path;
        // never /tmp itself, which the image's systemd-tmpfiles empties at boot.
        let shared = Amphora::shared_dir();
        let amphora = Amphora::boot(tag, &[shared.path()], &[&bin]);
        let agent = OctaAgent::start_opts(&AgentOptions {
            namespace: Some("amphora-haproxy"),
            manager: "systemd",
            prefix: amphora.prefix(),
            parent: Some(shared.path()),
            extra,
        });
        Booted {
            agent,
            amphora,
            _shared: shared,
        }
    }
}

#[tokio::test]
async fn haproxy_runs_as_a_systemd_unit_in_the_amphora_namespace() {
    require_root();
    let booted = Booted::new("sysd", "");
    let (amphora, agent) = (&booted.amphora, &booted.agent);
    let base = agent.dir.path().display();
    let config = format!(
        "global\n    daemon\n    maxconn 100\n    group haproxy\n    stats socket {base}/{LB}.sock mode 0666 level user\n\
         defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
         frontend {LISTENER}\n    bind 127.0.0.1:8080\n    mode http\n\
         \x20   http-request return status 200 content-type text/plain string octa-systemd\n"
    );
    let unit = format!("haproxy-{LB}.service");
    let (code, body) = call(
        agent,
        "PUT",
        &format!("/1.0/loadbalancer/{AMPHORA}/{LB}/haproxy"),
        config.as_bytes(),
    )
    .await;
    assert_eq!((code, body.as_str()), (202, r#"{"message":"OK"}"#));
    assert_eq!(amphora.systemctl(&["is-enabled", &unit]), "enabled");
    // Installed, with no [Install] section, like stock's: the haproxy unit requires it.
    assert_eq!(
        amphora.systemctl(&["is-enabled", "amphora-netns.service"]),
        "static"
    );
    assert_eq!(amphora.systemctl(&["is-active", &unit]), "inactive");

    let (code, body) = call(agent, "PUT", &format!("/1.0/loadbalancer/{LB}/start"), b"").await;
    assert_eq!(
        code,
        202,
        "{body}\n{}",
        amphora.systemctl(&["status", &unit, "--no-pager"])
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"message": "OK", "details": format!("Configuration file is valid\nhaproxy daemon for {LB} started")})
    );
    assert_eq!(amphora.systemctl(&["is-active", &unit]), "active");
    assert!(
        http_get(amphora).ends_with("octa-systemd"),
        "{}\n{}\n{:?}",
        http_get(amphora),
        amphora.systemctl(&["status", "amphora-netns.service", "--no-pager"]),
        amphora
            .command("ip")
            .args(["-n", "amphora-haproxy", "-br", "link"])
            .output()
    );
    let (_, listeners) = call(agent, "GET", "/1.0/listeners", b"").await;
    assert_eq!(
        serde_json::from_str::<Value>(&listeners).unwrap(),
        json!([{"status": "ACTIVE", "uuid": LISTENER, "type": "HTTP"}])
    );

    // A reload keeps the master (systemd's main process) and the service up.
    let master = amphora.systemctl(&["show", "-p", "MainPID", "--value", &unit]);
    let (code, body) = call(agent, "PUT", &format!("/1.0/loadbalancer/{LB}/reload"), b"").await;
    assert_eq!(
        (code, body.as_str()),
        (
            202,
            format!(r#"{{"message":"OK","details":"Listener {LB} reloaded"}}"#).as_str()
        )
    );
    // The reload job ends when the signal is sent; haproxy then reports RELOADING=1
    // until its new workers are READY=1, so the unit passes through "reloading".
    wait_for("the unit active again after the reload", || {
        amphora.systemctl(&["is-active", &unit]) == "active"
    });
    assert_eq!(
        amphora.systemctl(&["show", "-p", "MainPID", "--value", &unit]),
        master
    );
    assert!(http_get(amphora).ends_with("octa-systemd"));

    let (code, _) = call(agent, "PUT", &format!("/1.0/loadbalancer/{LB}/stop"), b"").await;
    assert_eq!(code, 202);
    assert_eq!(amphora.systemctl(&["is-active", &unit]), "inactive");
    let (code, _) = call(agent, "DELETE", &format!("/1.0/listeners/{LB}"), b"").await;
    assert_eq!(code, 200);
    let unit_file = Path::new(UNIT_DIR).join(&unit);
    let exists = amphora
        .command("test")
        .arg("-e")
        .arg(&unit_file)
        .status()
        .unwrap()
        .success();
    assert!(!exists, "{} left behind", unit_file.display());
    assert!(!agent.dir.path().join(LB).exists());
}

const VIP: &str = "198.51.100.10";
const VRRP_IP: &str = "198.51.100.11";

/// The VRRP configuration a stock controller uploads, rendered by Octavia's own code.
fn vrrp_config(base: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/render_keepalived.py");
    octa_tests::run_ok(
        std::process::Command::new("/usr/bin/python3")
            .arg(script)
            .args(["vrrp", "--base-path", base.to_str().unwrap(), "--vip", VIP])
            .args(["--subnet", "198.51.100.0/24", "--vrrp-ip", VRRP_IP])
            .args(["--peer-ip", "198.51.100.12", "--iface", "eth1"])
            .args(["--role", "MASTER", "--check-interval", "1"]),
    )
}

fn eth1(amphora: &Amphora) -> String {
    let out = amphora
        .command("ip")
        .args([
            "-n",
            "amphora-haproxy",
            "-br",
            "addr",
            "show",
            "dev",
            "eth1",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deletes a link of the test's namespace on drop (a no-op once the agent moved it into
/// the container, whose end takes the pair with it).
struct DeleteLink(String);

impl Drop for DeleteLink {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.0])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ok() {
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[tokio::test]
async fn an_active_standby_amphora_plugs_its_vip_and_keepalived_holds_it_under_systemd() {
    require_root();
    let booted = Booted::new(
        "as",
        "[controller_worker]\nloadbalancer_topology = ACTIVE_STANDBY\n",
    );
    let (amphora, agent) = (&booted.amphora, &booted.agent);
    let base = agent.dir.path().to_owned();
    // The VIP port as Nova hot-plugs it: a link with the port's MAC in the namespace the
    // container shares; its peer stays here, up, so the link has carrier.
    let port = format!("oas{}", std::process::id() % 1_000_000);
    let mac = "fa:16:3e:5a:00:01";
    octa_tests::run_ok(std::process::Command::new("ip").args([
        "link",
        "add",
        &port,
        "address",
        mac,
        "type",
        "veth",
        "peer",
        "name",
        &format!("{port}p"),
    ]));
    let _port = DeleteLink(port.clone());
    octa_tests::run_ok(std::process::Command::new("ip").args([
        "link",
        "set",
        &format!("{port}p"),
        "up",
    ]));
    let plug = json!({"subnet_cidr": "198.51.100.0/24", "gateway": null, "mac_address": mac,
                      "vrrp_ip": VRRP_IP, "host_routes": []})
    .to_string();
    let reply = octa_tests::https::exchange_typed(
        agent.controller(),
        agent.port,
        AMPHORA,
        "POST",
        &format!("/1.0/plug/vip/{VIP}"),
        Some("application/json"),
        plug.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 202, "{}", reply.body);
    // ACTIVE_STANDBY: the VRRP address is configured, the VIP is keepalived's to add.
    assert!(
        eth1(amphora).contains(&format!("{VRRP_IP}/24")),
        "{}",
        eth1(amphora)
    );
    assert!(!eth1(amphora).contains(VIP));

    // haproxy binds the VIP before this amphora holds it (non-local bind in the
    // namespace), started as a unit.
    let config = format!(
        "global\n    daemon\n    maxconn 100\n    stats socket {b}/{LB}.sock mode 0666 level user\n\
         defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
         frontend {LISTENER}\n    bind {VIP}:8080\n    mode http\n\
         \x20   http-request return status 200 content-type text/plain string octa-vrrp\n",
        b = base.display()
    );
    let (code, body) = call(
        agent,
        "PUT",
        &format!("/1.0/loadbalancer/{AMPHORA}/{LB}/haproxy"),
        config.as_bytes(),
    )
    .await;
    assert_eq!(code, 202, "{body}");
    let (code, body) = call(agent, "PUT", &format!("/1.0/loadbalancer/{LB}/start"), b"").await;
    let unit = format!("haproxy-{LB}.service");
    assert_eq!(
        code,
        202,
        "{body}\n{}",
        amphora.systemctl(&["status", &unit, "--no-pager"])
    );

    let (code, body) = call(
        agent,
        "PUT",
        "/1.0/vrrp/upload",
        vrrp_config(&base).as_bytes(),
    )
    .await;
    assert_eq!((code, body.as_str()), (200, r#"{"message":"OK"}"#));
    let (code, body) = call(agent, "PUT", "/1.0/vrrp/start", b"").await;
    assert_eq!(
        code,
        202,
        "{body}\n{}",
        amphora.systemctl(&["status", "octavia-keepalived.service", "--no-pager"])
    );
    assert_eq!(
        amphora.systemctl(&["is-active", "octavia-keepalived.service"]),
        "active"
    );
    // MASTER with no peer answering: keepalived adds the VIP once the haproxy check
    // (octa-agent haproxy-vrrp-check on the stats socket) has passed.
    wait_for("keepalived to add the VIP", || {
        eth1(amphora).contains(&format!("{VIP}/32"))
    });
    let get = amphora
        .command("ip")
        .args(["netns", "exec", "amphora-haproxy", "bash", "-c"])
        .arg(format!(
            "exec 3<>/dev/tcp/{VIP}/8080 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 5 cat <&3"
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&get.stdout).ends_with("octa-vrrp"),
        "{get:?}"
    );

    let (code, _) = call(agent, "PUT", "/1.0/vrrp/stop", b"").await;
    assert_eq!(code, 202);
    assert_eq!(
        amphora.systemctl(&["is-active", "octavia-keepalived.service"]),
        "inactive"
    );
    wait_for("the VIP to go with keepalived", || {
        !eth1(amphora).contains(VIP)
    });
    let (code, _) = call(agent, "DELETE", &format!("/1.0/listeners/{LB}"), b"").await;
    assert_eq!(code, 200);
    assert_eq!(amphora.systemctl(&["is-active", &unit]), "inactive");

    // What a reboot leaves: the port back in the root namespace (under its kernel name),
    // no amphora namespace. amphora-netns.service (octa's) moves it in and configures
    // it again from the interface file (`octa-agent replug`).
    let run = |args: &[&str]| {
        let out = amphora.command(args[0]).args(&args[1..]).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    run(&[
        "ip",
        "-n",
        "amphora-haproxy",
        "link",
        "set",
        "eth1",
        "netns",
        "1",
        "name",
        &port,
    ]);
    run(&["ip", "netns", "del", "amphora-haproxy"]);
    assert_eq!(eth1(amphora), "");
    run(&["systemctl", "start", "amphora-netns.service"]);
    let back = eth1(amphora);
    assert!(back.contains(&format!("{VRRP_IP}/24")), "{back}");
    let link = amphora
        .command("ip")
        .args(["-n", "amphora-haproxy", "link", "show", "eth1"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&link.stdout).contains(mac),
        "{link:?}"
    );
}
