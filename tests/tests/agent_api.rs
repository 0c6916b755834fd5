//! octa-agent over real mTLS, side by side with the lab's stock Octavia agent: the same
//! requests get the same status codes and the same JSON keys (a differential test);
//! clients without a certificate or from another CA cannot complete the handshake; its
//! heartbeats decode with stock Octavia's `unwrap_envelope` and with octa's decoder.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use octa_pki::{Ca, InitOptions, KeyType, PkiDir, PkiFile, issue_amphora_cert, tls};
use octa_tests::agent::{AMPHORA, KEY, OctaAgent, lab_stock_agent};
use octa_tests::https::{exchange, exchange_typed, request};
use octa_tests::lab_var;
use serde_json::Value;
use time::OffsetDateTime;

/// The JSON "shape": object keys (recursively one level), or the array/scalar kind.
fn shape(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => format!("object {:?}", map.keys().collect::<BTreeSet<_>>()),
        Ok(Value::Array(items)) => format!("array of {}", items.len()),
        Ok(other) => format!("scalar {other}"),
        Err(_) => format!("not JSON: {body:?}"),
    }
}

/// One differential request: method, path, content type, body, whether the whole body
/// must match.
type Step<'a> = (&'a str, String, Option<&'a str>, &'a [u8], bool);

#[tokio::test]
async fn octa_agent_answers_like_the_stock_agent() {
    let (stock, stock_port, stock_id) = lab_stock_agent();
    let agent = OctaAgent::start();
    let ours = agent.controller();
    let unknown_lb = "0e0e0e0e-1111-4222-8333-444455556666";
    let json = Some("application/json");
    // (method, path, content type, body, whole body must match). Bodies carrying host
    // facts or haproxy's own words are compared by status and keys only. Requests that
    // would make the stock agent change its host (a valid plug, an interface lookup,
    // which creates its namespace) are not sent to it.
    let steps: Vec<Step<'_>> = vec![
        ("GET", "/".into(), None, b"", true),
        ("GET", "//".into(), None, b"", true),
        ("GET", "/1.0/info".into(), None, b"", false),
        ("GET", "/1.0/details".into(), None, b"", false),
        ("GET", "/1.0/listeners".into(), None, b"", false),
        ("GET", "/1.0/no-such-route".into(), None, b"", true),
        ("GET", "/2.0/info".into(), None, b"", true),
        ("POST", "/1.0/info".into(), None, b"", true),
        ("DELETE", "/".into(), None, b"", true),
        (
            "GET",
            format!("/1.0/loadbalancer/{unknown_lb}/haproxy"),
            None,
            b"",
            true,
        ),
        (
            "PUT",
            format!("/1.0/loadbalancer/{unknown_lb}/start"),
            None,
            b"",
            true,
        ),
        (
            "PUT",
            format!("/1.0/loadbalancer/{unknown_lb}/explode"),
            None,
            b"",
            true,
        ),
        (
            "DELETE",
            format!("/1.0/listeners/{unknown_lb}"),
            None,
            b"",
            true,
        ),
        (
            "PUT",
            format!("/1.0/loadbalancer/{stock_id}/{unknown_lb}/haproxy"),
            None,
            b"frontend broken\n    bind nowhere:abc\n",
            false,
        ),
        (
            "POST",
            "/1.0/plug/vip/203.0.113.10".into(),
            json,
            b"{not json",
            true,
        ),
        (
            "POST",
            "/1.0/plug/vip/203.0.113.10".into(),
            json,
            b"[]",
            true,
        ),
        (
            "POST",
            "/1.0/plug/vip/203.0.113.10".into(),
            json,
            br#"{"subnet_cidr":"203.0.113.0/24","mac_address":"fa:16:3e:00:00:01"}"#,
            true,
        ),
        (
            "POST",
            "/1.0/plug/network".into(),
            None,
            br#"{"mac_address":"fa:16:3e:00:00:01"}"#,
            true,
        ),
        (
            "POST",
            "/1.0/plug/network".into(),
            json,
            br#"{"fixed_ips":[]}"#,
            true,
        ),
        ("GET", "/1.0/plug/network".into(), None, b"", true),
        ("GET", "/1.0/interface/not-an-ip".into(), None, b"", true),
    ];
    for (method, path, typed, body, whole) in &steps {
        let theirs = exchange_typed(
            stock.clone(),
            stock_port,
            &stock_id,
            method,
            path,
            *typed,
            body,
        )
        .await
        .unwrap();
        let mine = exchange_typed(
            ours.clone(),
            agent.port,
            AMPHORA,
            method,
            path,
            *typed,
            body,
        )
        .await
        .unwrap();
        assert_eq!(
            mine.status, theirs.status,
            "{method} {path}: status differs (stock body {})",
            theirs.body
        );
        assert_eq!(
            shape(&mine.body),
            shape(&theirs.body),
            "{method} {path}: JSON keys differ"
        );
        if *whole {
            assert_eq!(mine.body, theirs.body, "{method} {path}: body differs");
        }
    }
    let (_, info) = request(ours, agent.port, AMPHORA, "GET", "/1.0/info")
        .await
        .unwrap();
    let info: Value = serde_json::from_str(&info).unwrap();
    let version = info["haproxy_version"].as_str().unwrap();
    assert!(
        version
            .split('.')
            .take(2)
            .all(|p| p.chars().next().is_some_and(|c| c.is_ascii_digit())),
        "{version}"
    );
}

#[tokio::test]
async fn clients_without_a_certificate_or_from_another_ca_are_refused() {
    let agent = OctaAgent::start();
    let rogue_dir = tempfile::tempdir().unwrap();
    let rogue = PkiDir::new(rogue_dir.path());
    octa_pki::init(
        &rogue,
        &InitOptions {
            key_type: KeyType::EcP384,
            ..InitOptions::default()
        },
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let other_ca = Arc::new(
        tls::controller_client_config(
            &agent.pki.path(PkiFile::ServerCaCert),
            &rogue.path(PkiFile::ClientCertAndKey),
        )
        .unwrap(),
    );
    let refused = request(other_ca, agent.port, AMPHORA, "GET", "/1.0/info").await;
    assert!(
        refused.is_err(),
        "a client certificate from another CA got {refused:?}"
    );
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    roots
        .add(
            rustls::pki_types::CertificateDer::from_pem_file(agent.pki.path(PkiFile::ServerCaCert))
                .unwrap(),
        )
        .unwrap();
    let anonymous = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let refused = request(anonymous, agent.port, AMPHORA, "GET", "/1.0/info").await;
    assert!(
        refused.is_err(),
        "a client without certificate got {refused:?}"
    );
    // And the agent still serves a proper client afterwards.
    assert_eq!(
        request(agent.controller(), agent.port, AMPHORA, "GET", "/")
            .await
            .unwrap()
            .0,
        200
    );
}

#[test]
fn heartbeats_decode_with_stock_octavia_and_with_octa() {
    lab_var("OCTA_LAB_DIR");
    let agent = OctaAgent::start();
    agent
        .heartbeats
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let mut seqs = Vec::new();
    let mut last = Vec::new();
    for _ in 0..2 {
        let (n, _) = agent
            .heartbeats
            .recv_from(&mut buf)
            .expect("a heartbeat within 5 s (interval 1 s)");
        last = buf[..n].to_vec();
        let message = octa_proto::heartbeat::unwrap(&last, KEY.as_bytes()).unwrap();
        assert_eq!(message.id, AMPHORA);
        assert_eq!(message.ver, 3);
        seqs.push(message.seq);
    }
    assert_eq!(seqs[1], seqs[0] + 1, "seq increments per message");
    let run = |key: &str| octa_tests::stock_unwrap_envelope(&last, key);
    let ok = run(KEY);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let decoded: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(decoded["id"], AMPHORA);
    assert!(
        !run("wrong-key").status.success(),
        "stock Octavia accepted a wrong key"
    );
}

#[tokio::test]
async fn certificate_routes_answer_like_the_stock_agent_and_stay_inside_base_cert_dir() {
    let (stock, stock_port, stock_id) = lab_stock_agent();
    let agent = OctaAgent::start();
    let ours = agent.controller();
    let lb = format!("lb-{}", std::process::id());
    let steps: Vec<(&str, String, &[u8])> = vec![
        (
            "GET",
            format!("/1.0/loadbalancer/{lb}/certificates/a.pem"),
            b"",
        ),
        (
            "PUT",
            format!("/1.0/loadbalancer/{lb}/certificates/a.pem"),
            b"-----BEGIN CERTIFICATE-----\nxyz\n",
        ),
        (
            "GET",
            format!("/1.0/loadbalancer/{lb}/certificates/a.pem"),
            b"",
        ),
        (
            "PUT",
            format!("/1.0/loadbalancer/{lb}/certificates/a.txt"),
            b"x",
        ),
        (
            "PUT",
            format!("/1.0/loadbalancer/{lb}/certificates/..%2F..%2Fescape.pem"),
            b"x",
        ),
        (
            "PUT",
            "/1.0/loadbalancer/..%2F..%2Ftmp/certificates/escape.pem".to_owned(),
            b"x",
        ),
        (
            "DELETE",
            format!("/1.0/loadbalancer/{lb}/certificates/a.pem"),
            b"",
        ),
        (
            "DELETE",
            format!("/1.0/loadbalancer/{lb}/certificates/a.pem"),
            b"",
        ),
        (
            "GET",
            format!("/1.0/loadbalancer/{lb}/certificates/a.pem"),
            b"",
        ),
    ];
    for (method, path, body) in &steps {
        let theirs = exchange(stock.clone(), stock_port, &stock_id, method, path, body)
            .await
            .unwrap();
        let mine = exchange(ours.clone(), agent.port, AMPHORA, method, path, body)
            .await
            .unwrap();
        assert_eq!(
            (mine.status, &mine.body),
            (theirs.status, &theirs.body),
            "{method} {path}"
        );
        assert_eq!(
            mine.header("etag"),
            theirs.header("etag"),
            "{method} {path}: ETag"
        );
    }
    // The upload landed where it belongs, 0600, and nothing escaped.
    let base = agent.dir.path().join("certs");
    assert!(
        !base.join(&lb).join("a.pem").exists(),
        "deleted certificate still there"
    );
    assert!(
        !agent.dir.path().join("escape.pem").exists() && !Path::new("/tmp/escape.pem").exists()
    );
    let put = exchange(
        ours.clone(),
        agent.port,
        AMPHORA,
        "PUT",
        &format!("/1.0/loadbalancer/{lb}/certificates/b.pem"),
        b"k",
    )
    .await
    .unwrap();
    assert_eq!(put.status, 200);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(base.join(&lb).join("b.pem"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn the_server_certificate_rotates_without_a_restart() {
    let agent = OctaAgent::start();
    let ours = agent.controller();
    let next_id = "0f9e8d7c-6b5a-4c3d-2e1f-a0b9c8d7e6f5";
    let ca = Ca::load_server(&agent.pki, None).unwrap();
    let fresh = issue_amphora_cert(&ca, next_id, 30, OffsetDateTime::now_utc()).unwrap();
    let put = exchange(
        ours.clone(),
        agent.port,
        AMPHORA,
        "PUT",
        "/1.0/certificate",
        fresh.combined_pem().as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(
        (put.status, put.body.as_str()),
        (202, r#"{"message":"OK"}"#)
    );
    // New handshakes get the new certificate; the old name no longer verifies. (A fresh
    // client: a cached session would resume without looking at the certificate.)
    assert_eq!(
        request(agent.controller(), agent.port, next_id, "GET", "/")
            .await
            .unwrap()
            .0,
        200
    );
    let old = request(agent.controller(), agent.port, AMPHORA, "GET", "/").await;
    assert!(
        old.as_ref()
            .is_err_and(|e| e.contains("not valid for name")),
        "{old:?}"
    );
    // A PEM rustls cannot use is stored (as stock does) but not served: no lock-out.
    let junk = exchange(
        ours.clone(),
        agent.port,
        next_id,
        "PUT",
        "/1.0/certificate",
        b"not a pem",
    )
    .await
    .unwrap();
    assert_eq!(junk.status, 202);
    assert_eq!(
        request(agent.controller(), agent.port, next_id, "GET", "/")
            .await
            .unwrap()
            .0,
        200
    );
}

#[tokio::test]
async fn a_config_update_changes_heartbeats_at_once_and_a_bad_one_changes_nothing() {
    let agent = OctaAgent::start();
    let ours = agent.controller();
    let conf = agent.dir.path().join("amphora-agent.conf");
    let before = std::fs::read_to_string(&conf).unwrap();
    let bad = exchange(
        ours.clone(),
        agent.port,
        AMPHORA,
        "PUT",
        "/1.0/config",
        b"[health_manager]\nheartbeat_interval = soon\n",
    )
    .await
    .unwrap();
    assert_eq!(bad.status, 500);
    let body: Value = serde_json::from_str(&bad.body).unwrap();
    assert_eq!(
        body["message"],
        "Unable to update amphora-agent configuration."
    );
    assert!(
        body["details"]
            .as_str()
            .unwrap()
            .contains("heartbeat_interval"),
        "{body}"
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), before);

    let new_key = "rotated-heartbeat-key";
    let updated = before.replace(
        &format!("heartbeat_key = {KEY}"),
        &format!("heartbeat_key = {new_key}"),
    );
    let put = exchange(
        ours,
        agent.port,
        AMPHORA,
        "PUT",
        "/1.0/config",
        updated.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(
        (put.status, put.body.as_str()),
        (202, r#"{"message":"OK"}"#)
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), updated);
    agent
        .heartbeats
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    // Within a few heartbeats (interval 1 s) the new key is in use.
    let rotated = (0..4).any(|_| {
        let (n, _) = agent.heartbeats.recv_from(&mut buf).unwrap();
        octa_proto::heartbeat::unwrap(&buf[..n], new_key.as_bytes()).is_ok()
    });
    assert!(rotated, "heartbeats still signed with the old key");
}
