//! The rustls configurations of `pki` complete mutual TLS on loopback, and refuse what
//! Octavia refuses: a client without a certificate, a client certificate from another
//! CA, and a server whose certificate is not for the expected amphora id.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use octa_pki::{
    Ca, InitOptions, KeyType, PkiDir, PkiFile, issue_amphora_cert, tls, write_amphora_pem,
};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const AMPHORA: &str = "0d7f6b7e-4f4c-4bd5-9d5c-3b0f3c9a8e21";

struct Pki {
    dir: PkiDir,
    server_pem: std::path::PathBuf,
}

fn pki(root: &Path, name: &str) -> Pki {
    let dir = PkiDir::new(root.join(name));
    let now = OffsetDateTime::now_utc();
    let opts = InitOptions {
        key_type: KeyType::EcP384,
        ..InitOptions::default()
    };
    octa_pki::init(&dir, &opts, now).unwrap();
    let ca = Ca::load_server(&dir, None).unwrap();
    let cert = issue_amphora_cert(&ca, AMPHORA, 30, now).unwrap();
    let server_pem = root.join(format!("{name}-server.pem"));
    write_amphora_pem(&server_pem, &cert, false).unwrap();
    Pki { dir, server_pem }
}

/// Serves one connection: reads a line, answers "pong". Returns what the handshake did.
async fn serve_once(listener: TcpListener, acceptor: TlsAcceptor) -> Result<(), String> {
    let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
    let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4];
    tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    tls.write_all(b"pong").await.map_err(|e| e.to_string())?;
    tls.shutdown().await.map_err(|e| e.to_string())
}

/// Connects with `client_config` expecting `name`, sends ping; both sides' outcomes.
async fn exchange(
    server_config: rustls::ServerConfig,
    client_config: rustls::ClientConfig,
    name: &str,
) -> (Result<(), String>, Result<(), String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_once(
        listener,
        TlsAcceptor::from(Arc::new(server_config)),
    ));
    let client = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let server_name =
            rustls::pki_types::ServerName::try_from(name.to_owned()).map_err(|e| e.to_string())?;
        let mut tls = TlsConnector::from(Arc::new(client_config))
            .connect(server_name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        if &buf == b"pong" {
            Ok(())
        } else {
            Err("bad answer".to_owned())
        }
    }
    .await;
    let server = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("server finished within 10 s")
        .unwrap();
    (client, server)
}

fn agent_config(p: &Pki) -> rustls::ServerConfig {
    tls::agent_server_config(&p.server_pem, &p.dir.path(PkiFile::ClientCaCert)).unwrap()
}

fn controller_config(trust: &Pki, identity: &Pki) -> rustls::ClientConfig {
    tls::controller_client_config(
        &trust.dir.path(PkiFile::ServerCaCert),
        &identity.dir.path(PkiFile::ClientCertAndKey),
    )
    .unwrap()
}

#[tokio::test]
async fn mutual_tls_completes_with_the_amphora_id_as_server_name() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki(tmp.path(), "a");
    let (client, server) = exchange(agent_config(&p), controller_config(&p, &p), AMPHORA).await;
    assert_eq!(client, Ok(()));
    assert_eq!(server, Ok(()));
    assert!(tls::amphora_server_name(AMPHORA).is_ok());
    assert!(tls::amphora_server_name("not/an id").is_err());
}

#[tokio::test]
async fn both_tls_versions_are_offered() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki(tmp.path(), "a");
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        // A client limited to one version still gets through: the agent offers both.
        let mut limited = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(controller_root(&p))
        .with_client_auth_cert(client_chain(&p), client_key(&p))
        .unwrap();
        limited.enable_sni = false;
        let (client, server) = exchange(agent_config(&p), limited, AMPHORA).await;
        assert_eq!((client, server), (Ok(()), Ok(())), "{version:?}");
    }
}

#[tokio::test]
async fn the_controller_refuses_a_certificate_for_another_name() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki(tmp.path(), "a");
    let (client, _server) = exchange(
        agent_config(&p),
        controller_config(&p, &p),
        "another-amphora-id",
    )
    .await;
    let err = client.unwrap_err();
    assert!(
        err.contains("NotValidForName") || err.contains("not valid for name"),
        "{err}"
    );
}

#[tokio::test]
async fn the_agent_refuses_a_client_certificate_from_another_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki(tmp.path(), "a");
    let rogue = pki(tmp.path(), "rogue");
    let (client, server) = exchange(agent_config(&p), controller_config(&p, &rogue), AMPHORA).await;
    assert!(
        client.is_err(),
        "client with a rogue certificate got through"
    );
    let err = server.unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
}

#[tokio::test]
async fn the_agent_refuses_a_client_without_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki(tmp.path(), "a");
    let anonymous = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(controller_root(&p))
    .with_no_client_auth();
    let (client, server) = exchange(agent_config(&p), anonymous, AMPHORA).await;
    assert!(client.is_err());
    let err = server.unwrap_err();
    assert!(
        err.contains("NoCertificatesPresented") || err.contains("no certificates"),
        "{err}"
    );
}

#[tokio::test]
async fn the_controller_refuses_an_agent_signed_by_another_server_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki(tmp.path(), "a");
    let rogue = pki(tmp.path(), "rogue");
    // The rogue agent trusts our client CA, but its certificate comes from its own server CA.
    let rogue_agent =
        tls::agent_server_config(&rogue.server_pem, &p.dir.path(PkiFile::ClientCaCert)).unwrap();
    let (client, _) = exchange(rogue_agent, controller_config(&p, &p), AMPHORA).await;
    let err = client.unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
}

fn controller_root(p: &Pki) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(p.dir.path(PkiFile::ServerCaCert)).unwrap();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    roots
}

fn client_chain(p: &Pki) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(p.dir.path(PkiFile::ClientCertAndKey)).unwrap();
    rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .map(Result::unwrap)
        .collect()
}

fn client_key(p: &Pki) -> rustls::pki_types::PrivateKeyDer<'static> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::PrivateKeyDer::from_pem_file(p.dir.path(PkiFile::ClientCertAndKey)).unwrap()
}
