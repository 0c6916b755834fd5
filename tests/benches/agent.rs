//! Benchmark (not a test): octa-agent against the stock Octavia agent (python3-octavia,
//! gunicorn), side by side in one run, same certificates (from octa_pki), same machine:
//! resident memory of the whole process tree, time from spawn to the first answered
//! `GET /`, and p50/p99 of `GET /1.0/info` and of an haproxy configuration upload
//! (`PUT /1.0/loadbalancer/{amp}/{lb}/haproxy`: write, `haproxy -c`, rename, unit file,
//! `systemctl enable`), each request on a new mutual-TLS connection as the stock
//! controller makes them. Both agents take the stock image's systemd path: this machine
//! has no systemd, so a stand-in `systemctl` (exit 0) comes first in both agents' PATH,
//! octa-agent runs with `octa_haproxy_manager = systemd`, and the stock agent's
//! init-system detection is told "systemd" (`tests/lab/agent-launch.py`). Unit files go
//! to the real /usr/lib/systemd/system, as on an amphora, and are removed afterwards.
//!
//! Run as root inside the lab (python3-octavia installed):
//! `cargo build --release --bin octa-agent && tests/lab/run.sh cargo bench -p octa-tests --bench agent`
//! (`BENCH_REQUESTS` sets the request count, default 200).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use octa_pki::{
    Ca, InitOptions, KeyType, PkiDir, PkiFile, issue_amphora_cert, tls, write_amphora_pem,
};
use octa_tests::free_port;
use octa_tests::https::exchange;
use time::OffsetDateTime;

const AMPHORA: &str = "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d";
const LB: &str = "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c";

fn write_conf(dir: &Path, name: &str, port: u16, pki: &PkiDir, server_pem: &Path) -> PathBuf {
    let base = dir.join(name);
    std::fs::create_dir_all(&base).unwrap();
    let conf = base.join("amphora-agent.conf");
    std::fs::write(&conf, format!(
        "[DEFAULT]\ndebug = False\nlog_dir = {b}\nlog_file = agent.log\n[haproxy_amphora]\nbase_path = {b}\nbase_cert_dir = {b}/certs\n\
         bind_host = 127.0.0.1\nbind_port = {port}\n[health_manager]\ncontroller_ip_port_list = 127.0.0.1:9\n\
         heartbeat_interval = 10\nheartbeat_key = bench\n[amphora_agent]\nagent_server_ca = {ca}\n\
         agent_server_cert = {cert}\nagent_server_network_dir = {b}\namphora_id = {AMPHORA}\n\
         octa_haproxy_manager = systemd\nocta_namespace =\n",
        b = base.display(), ca = pki.path(PkiFile::ClientCaCert).display(), cert = server_pem.display(),
    )).unwrap();
    conf
}

/// VmRSS of a process and all its descendants, in KiB.
fn tree_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let own: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let mut children = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            children.extend(
                list.split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    own + children.into_iter().map(tree_rss_kib).sum::<u64>()
}

/// Removes a file this run created, and its directory if the run created that too.
struct RemoveOnDrop(PathBuf, Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = &self.1 {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn percentile(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
}

struct Measured {
    start_ms: f64,
    rss_mib: f64,
    info: (f64, f64),
    upload: (f64, f64),
}

async fn measure(
    mut cmd: Command,
    port: u16,
    client: Arc<rustls::ClientConfig>,
    requests: usize,
) -> Measured {
    let started = Instant::now();
    let mut child: Child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    loop {
        if exchange(client.clone(), port, AMPHORA, "GET", "/", b"")
            .await
            .is_ok_and(|r| r.status == 200)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "agent did not answer within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let start_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (mut info, mut upload) = (Vec::new(), Vec::new());
    let lb = LB;
    let upload_path = format!("/1.0/loadbalancer/{AMPHORA}/{lb}/haproxy");
    let config = format!(
        "global\n    daemon\n    maxconn 1000\n\ndefaults\n    timeout connect 5000\n    timeout client 50000\n\
         \x20   timeout server 50000\n\nfrontend l1\n    bind 127.0.0.1:{}\n    mode http\n    default_backend p1:l1\n\n\
         backend p1:l1\n    mode http\n    server m1 127.0.0.1:9 weight 1\n",
        free_port()
    );
    for _ in 0..requests {
        let t = Instant::now();
        assert_eq!(
            exchange(client.clone(), port, AMPHORA, "GET", "/1.0/info", b"")
                .await
                .unwrap()
                .status,
            200
        );
        info.push(t.elapsed());
        let t = Instant::now();
        let reply = exchange(
            client.clone(),
            port,
            AMPHORA,
            "PUT",
            &upload_path,
            config.as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(reply.status, 202, "upload: {}", reply.body);
        upload.push(t.elapsed());
    }
    let rss_mib = tree_rss_kib(child.id()) as f64 / 1024.0;
    let _ = Command::new("kill")
        .arg("--")
        .arg(format!("-{}", child.id()))
        .status();
    let _ = child.kill();
    let _ = child.wait();
    Measured {
        start_ms,
        rss_mib,
        info: (percentile(&mut info, 0.5), percentile(&mut info, 0.99)),
        upload: (percentile(&mut upload, 0.5), percentile(&mut upload, 0.99)),
    }
}

#[tokio::main]
async fn main() {
    let requests: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let release = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("octa-agent");
    assert!(
        release.exists(),
        "{} missing: cargo build --release --bin octa-agent",
        release.display()
    );
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("lab");
    let dir = tempfile::tempdir().unwrap();
    let pki = PkiDir::new(dir.path().join("pki"));
    octa_pki::init(
        &pki,
        &InitOptions {
            key_type: KeyType::Rsa4096,
            ..InitOptions::default()
        },
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let ca = Ca::load_server(&pki, None).unwrap();
    let server_pem = dir.path().join("server.pem");
    write_amphora_pem(
        &server_pem,
        &issue_amphora_cert(&ca, AMPHORA, 30, OffsetDateTime::now_utc()).unwrap(),
        false,
    )
    .unwrap();
    let client = Arc::new(
        tls::controller_client_config(
            &pki.path(PkiFile::ServerCaCert),
            &pki.path(PkiFile::ClientCertAndKey),
        )
        .unwrap(),
    );

    // The stock agent validates uploads with the image's user/group fragment at a fixed
    // path; provide it for the run if this host lacks it, and remove it afterwards.
    let user_group = Path::new("/var/lib/octavia/haproxy-default-user-group.conf");
    let _user_group = (!user_group.exists()).then(|| {
        let dir = user_group.parent().unwrap();
        let created_dir = (!dir.exists()).then(|| dir.to_owned());
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(user_group, "global\n    group nogroup\n").unwrap();
        RemoveOnDrop(user_group.to_owned(), created_dir)
    });
    // Unit files both agents write on the stock image's path; removed afterwards unless
    // they were there before the run.
    let units = Path::new("/usr/lib/systemd/system");
    let _units: Vec<RemoveOnDrop> = [
        "amphora-netns.service".to_owned(),
        format!("haproxy-{LB}.service"),
    ]
    .into_iter()
    .map(|unit| units.join(unit))
    .filter(|unit| !unit.exists())
    .map(|unit| RemoveOnDrop(unit, None))
    .collect();
    let stand_in = dir.path().join("bin");
    std::fs::create_dir_all(&stand_in).unwrap();
    let systemctl = stand_in.join("systemctl");
    std::fs::write(&systemctl, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(
        &systemctl,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        stand_in.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (octa_port, stock_port) = (free_port(), free_port());
    let mut octa = Command::new(&release);
    octa.arg("--config-file")
        .arg(write_conf(dir.path(), "octa", octa_port, &pki, &server_pem));
    let mut stock = Command::new("/usr/bin/python3");
    stock
        .arg(lab.join("agent-launch.py"))
        .arg("--config-file")
        .arg(write_conf(
            dir.path(),
            "stock",
            stock_port,
            &pki,
            &server_pem,
        ))
        .env("OCTA_AGENT_LOG", dir.path().join("stock-gunicorn.log"))
        .env("OCTA_AGENT_INIT_SYSTEM", "systemd")
        .env("PATH", &path);
    octa.env("PATH", &path);
    // Each agent in its own process group, so the whole tree is stopped afterwards.
    use std::os::unix::process::CommandExt;
    octa.process_group(0);
    stock.process_group(0);
    let results = [
        (
            "octa-agent (release)",
            measure(octa, octa_port, client.clone(), requests).await,
        ),
        (
            "stock agent (Zed, gunicorn)",
            measure(stock, stock_port, client.clone(), requests).await,
        ),
    ];
    println!(
        "{requests} requests each, one mTLS connection per request (RSA-2048 server cert, TLS as negotiated)"
    );
    println!(
        "{:<30} {:>10} {:>9} {:>10} {:>10} {:>11} {:>11}",
        "", "start ms", "RSS MiB", "info p50", "info p99", "cfg up p50", "cfg up p99"
    );
    for (name, m) in &results {
        println!(
            "{name:<30} {:>10.0} {:>9.1} {:>10.2} {:>10.2} {:>11.2} {:>11.2}",
            m.start_ms, m.rss_mib, m.info.0, m.info.1, m.upload.0, m.upload.1
        );
    }
}
