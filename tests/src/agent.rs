//! An octa-agent process for tests: its own PKI (from `octa_pki`), config file, base
//! path and heartbeat receiver, on a free loopback port; killed on drop.

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use octa_pki::{
    Ca, InitOptions, KeyType, PkiDir, PkiFile, issue_amphora_cert, tls, write_amphora_pem,
};
use time::OffsetDateTime;

use crate::workspace_bin;

/// The amphora id of test agents.
pub const AMPHORA: &str = "8c0e4d2b-6f1a-4e3c-9b7d-5a2f1e0d3c4b";
/// Their heartbeat key.
pub const KEY: &str = "agent-test-heartbeat-key";

/// The lab's stock agent: a controller TLS configuration for it, its port, its amphora id.
pub fn lab_stock_agent() -> (Arc<rustls::ClientConfig>, u16, String) {
    let certs = std::path::PathBuf::from(crate::lab_var("OCTA_AGENT_CERTS"));
    let url = crate::lab_var("OCTA_AGENT_URL");
    let port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("OCTA_AGENT_URL {url:?} ends in no port"));
    let config =
        tls::controller_client_config(&certs.join("server_ca.pem"), &certs.join("client.pem"))
            .expect("the lab's controller certificates");
    (Arc::new(config), port, crate::lab_var("OCTA_AMPHORA_ID"))
}

/// How a test agent is started.
#[derive(Debug, Clone)]
pub struct AgentOptions<'a> {
    /// Its amphora namespace (haproxy runs there, networks are plugged there); `None`:
    /// its own.
    pub namespace: Option<&'a str>,
    /// `octa_haproxy_manager`: `direct` or `systemd`.
    pub manager: &'a str,
    /// A prefix to its command line (e.g. `nsenter` into a booted container).
    pub prefix: Vec<String>,
    /// Where its directory is made (default: the system's temporary directory).
    pub parent: Option<&'a std::path::Path>,
    /// Appended to its configuration file (further sections).
    pub extra: &'a str,
}

impl Default for AgentOptions<'_> {
    fn default() -> Self {
        AgentOptions {
            namespace: None,
            manager: "direct",
            prefix: Vec::new(),
            parent: None,
            extra: "",
        }
    }
}

/// An octa-agent process with its own PKI and config, killed on drop.
pub struct OctaAgent {
    child: Child,
    /// Its API port on 127.0.0.1.
    pub port: u16,
    /// Its PKI.
    pub pki: PkiDir,
    /// Its base path (config, certs, load balancers).
    pub dir: tempfile::TempDir,
    /// Where its heartbeats arrive.
    pub heartbeats: UdpSocket,
}

impl OctaAgent {
    /// `--server-ca FILE --client-cert FILE`: the controller side's TLS files, as the
    /// compat scripts (stock Octavia's client code) take them.
    pub fn stock_client_args(&self) -> Vec<std::ffi::OsString> {
        vec![
            "--server-ca".into(),
            self.pki.path(PkiFile::ServerCaCert).into(),
            "--client-cert".into(),
            self.pki.path(PkiFile::ClientCertAndKey).into(),
        ]
    }

    /// Starts it with haproxy in its own namespace and waits until it listens.
    pub fn start() -> Self {
        Self::start_in(None)
    }

    /// Starts it with `namespace` as its amphora namespace (haproxy runs there, networks
    /// are plugged there; `None`: its own) and waits until it listens.
    pub fn start_in(namespace: Option<&str>) -> Self {
        Self::start_with(namespace, "")
    }

    /// [`OctaAgent::start_in`] with `extra` appended to its configuration file (further
    /// sections, e.g. `[controller_worker]`).
    pub fn start_with(namespace: Option<&str>, extra: &str) -> Self {
        Self::start_opts(&AgentOptions {
            namespace,
            extra,
            ..AgentOptions::default()
        })
    }

    /// Starts it as `opts` says and waits until it listens.
    pub fn start_opts(opts: &AgentOptions<'_>) -> Self {
        let (namespace, manager, extra) = (opts.namespace, opts.manager, opts.extra);
        let prefix = opts.prefix.as_slice();
        let dir = match opts.parent {
            Some(parent) => tempfile::tempdir_in(parent),
            None => tempfile::tempdir(),
        }
        .expect("test agent setup");
        let pki = PkiDir::new(dir.path().join("pki"));
        let opts = InitOptions {
            key_type: KeyType::EcP384,
            ..InitOptions::default()
        };
        octa_pki::init(&pki, &opts, OffsetDateTime::now_utc()).expect("test agent setup");
        let ca = Ca::load_server(&pki, None).expect("test agent setup");
        let server_pem = dir.path().join("server.pem");
        write_amphora_pem(
            &server_pem,
            &issue_amphora_cert(&ca, AMPHORA, 30, OffsetDateTime::now_utc())
                .expect("test agent setup"),
            false,
        )
        .expect("test agent setup");
        let port = crate::free_port();
        let heartbeats = UdpSocket::bind("127.0.0.1:0").expect("test agent setup");
        let conf = dir.path().join("amphora-agent.conf");
        std::fs::write(&conf, format!(
            "[DEFAULT]\ndebug = True\n[haproxy_amphora]\nbase_path = {base}\nbase_cert_dir = {base}/certs\nbind_host = 127.0.0.1\nbind_port = {port}\n\
             respawn_count = 2\nuse_upstart = True\n[health_manager]\ncontroller_ip_port_list = {hm}\nheartbeat_interval = 1\n\
             heartbeat_key = {KEY}\n[amphora_agent]\nagent_server_ca = {ca}\nagent_server_cert = {cert}\namphora_id = {AMPHORA}\n\
             agent_tls_protocol = TLSv1.2\nagent_server_network_dir = {base}/interfaces\nocta_namespace = {ns}\n\
             octa_haproxy_manager = {manager}\n{extra}",
            base = dir.path().display(), hm = heartbeats.local_addr().expect("test agent setup"),
            ca = pki.path(PkiFile::ClientCaCert).display(), cert = server_pem.display(),
            ns = namespace.unwrap_or(""),
        )).expect("test agent setup");
        let mut command = match prefix.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(workspace_bin("octa-agent"));
                c
            }
            None => Command::new(workspace_bin("octa-agent")),
        };
        let child = command
            .arg("--config-file")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("test agent setup");
        let agent = OctaAgent {
            child,
            port,
            pki,
            dir,
            heartbeats,
        };
        let end = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < end, "octa-agent did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        agent
    }

    /// The controller's TLS configuration for it (fresh each call: no cached session).
    pub fn controller(&self) -> Arc<rustls::ClientConfig> {
        Arc::new(
            tls::controller_client_config(
                &self.pki.path(PkiFile::ServerCaCert),
                &self.pki.path(PkiFile::ClientCertAndKey),
            )
            .expect("test agent setup"),
        )
    }
}

impl Drop for OctaAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A network namespace `octa-agt-<pid>-<tag>` with loopback up, for an agent's haproxy,
/// plugged links and backends; every process left in it is killed and it is deleted
/// on drop.
pub struct TestNetns {
    /// Its name.
    pub name: String,
}

impl TestNetns {
    /// Creates it (replacing a leftover of the same name).
    pub fn create(tag: &str) -> Self {
        let name = format!("octa-agt-{}-{tag}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        crate::run_ok(Command::new("ip").args(["netns", "add", &name]));
        crate::run_ok(Command::new("ip").args(["-n", &name, "link", "set", "lo", "up"]));
        TestNetns { name }
    }

    /// A command run inside it (`ip netns exec NAME program`).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
