//! Stock Octavia accepts what `octa pki` makes (lab tier: needs python3-octavia and the
//! lab's stock amphora agent, through `tests/lab/`):
//! - python3-octavia's `local_cert_generator` opens `server_ca.key.pem` with the stored
//!   passphrase and signs an amphora certificate that chains to octa's server CA;
//! - a stock amphora agent given octa's client CA and an octa amphora certificate answers
//!   `GET /1.0/info` to octa's controller TLS configuration, and refuses a client
//!   certificate from another CA.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use octa_pki::{
    Ca, InitOptions, KeyType, PkiDir, PkiFile, issue_amphora_cert, tls, write_amphora_pem,
};
use octa_tests::{lab_var, require_root, run_ok};
use time::OffsetDateTime;

const AMPHORA: &str = "3b9f1c52-7e0a-4d7b-8c11-8f2a6a0e5d43";

fn lab_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lab").join(name)
}

fn init(root: &Path, name: &str, key_type: KeyType) -> PkiDir {
    let dir = PkiDir::new(root.join(name));
    let opts = InitOptions {
        key_type,
        ..InitOptions::default()
    };
    octa_pki::init(&dir, &opts, OffsetDateTime::now_utc()).unwrap();
    dir
}

/// `stock-certgen.py`: python3-octavia's local_cert_generator with `dir`'s server CA.
fn stock_certgen(dir: &PkiDir, passphrase: &Path, out: &Path) -> Command {
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(lab_script("stock-certgen.py"))
        .arg("--ca-cert")
        .arg(dir.path(PkiFile::ServerCaCert))
        .arg("--ca-key")
        .arg(dir.path(PkiFile::ServerCaKey))
        .arg("--passphrase-file")
        .arg(passphrase)
        .args(["--cn", AMPHORA, "--out"])
        .arg(out);
    cmd
}

#[test]
fn octavias_own_generator_signs_with_octas_server_ca() {
    lab_var("OCTA_LAB_DIR");
    let tmp = tempfile::tempdir().unwrap();
    // The default RSA-4096 CA, exactly as `octa pki init` makes it.
    let dir = init(tmp.path(), "pki", KeyType::Rsa4096);
    let out = tmp.path().join("stock-amp.pem");
    run_ok(&mut stock_certgen(
        &dir,
        &dir.path(PkiFile::Passphrase),
        &out,
    ));
    let verify = run_ok(
        Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(dir.path(PkiFile::ServerCaCert))
            .arg(&out),
    );
    assert!(verify.trim_end().ends_with(": OK"), "{verify}");
    let subject = run_ok(
        Command::new("openssl")
            .args(["x509", "-noout", "-subject", "-in"])
            .arg(&out),
    );
    assert!(subject.contains(AMPHORA), "{subject}");

    // And Octavia refuses the key with a wrong passphrase: the check above is not vacuous.
    let wrong = tmp.path().join("wrong.pass");
    std::fs::write(&wrong, "not-the-passphrase\n").unwrap();
    let refused = stock_certgen(&dir, &wrong, &tmp.path().join("x.pem"))
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "Octavia opened the CA key with a wrong passphrase"
    );
}

/// A stock agent started for one test, stopped on drop.
struct StockAgent {
    name: String,
    port: u16,
}

impl StockAgent {
    fn start(name: &str, port: u16, server_pem: &Path, client_ca: &Path) -> Self {
        run_ok(
            Command::new(lab_script("stock-agent.sh"))
                .args([
                    "up",
                    "--name",
                    name,
                    "--port",
                    &port.to_string(),
                    "--server-pem",
                ])
                .arg(server_pem)
                .arg("--client-ca")
                .arg(client_ca),
        );
        StockAgent {
            name: name.to_owned(),
            port,
        }
    }
}

impl Drop for StockAgent {
    fn drop(&mut self) {
        let _ = Command::new(lab_script("stock-agent.sh"))
            .args(["down", "--name", &self.name])
            .status();
    }
}

/// `GET path` over mutual TLS with `config`, expecting the amphora id as server name.
async fn get(config: rustls::ClientConfig, port: u16, path: &str) -> Result<(u16, String), String> {
    octa_tests::https::request(Arc::new(config), port, AMPHORA, "GET", path).await
}

#[tokio::test]
async fn stock_agent_accepts_octas_client_certificate_and_refuses_another_ca() {
    require_root();
    lab_var("OCTA_LAB_DIR");
    let tmp = tempfile::tempdir().unwrap();
    let dir = init(tmp.path(), "pki", KeyType::Rsa4096);
    let rogue = init(tmp.path(), "rogue", KeyType::EcP384);
    let ca = Ca::load_server(&dir, None).unwrap();
    let server_pem = tmp.path().join("server.pem");
    write_amphora_pem(
        &server_pem,
        &issue_amphora_cert(&ca, AMPHORA, 30, OffsetDateTime::now_utc()).unwrap(),
        false,
    )
    .unwrap();
    let agent = StockAgent::start(
        "octa-pki-test",
        19443,
        &server_pem,
        &dir.path(PkiFile::ClientCaCert),
    );

    let ours = tls::controller_client_config(
        &dir.path(PkiFile::ServerCaCert),
        &dir.path(PkiFile::ClientCertAndKey),
    )
    .unwrap();
    let (status, body) = get(ours, agent.port, "/1.0/info").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["api_version"], "1.0", "{info}");
    assert!(info["haproxy_version"].is_string(), "{info}");

    // Trusting octa's server CA but presenting a certificate from another client CA.
    let other = tls::controller_client_config(
        &dir.path(PkiFile::ServerCaCert),
        &rogue.path(PkiFile::ClientCertAndKey),
    )
    .unwrap();
    let refused = get(other, agent.port, "/1.0/info").await;
    assert!(
        refused.is_err() || refused.as_ref().is_ok_and(|(s, _)| *s != 200),
        "the stock agent answered a client certificate from another CA: {refused:?}"
    );
}
