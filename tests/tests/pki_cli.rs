//! `octa pki` through the real binary, judged by `openssl`: both chains verify, the
//! extensions are Octavia's, a re-run changes no byte, bad input changes nothing.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use octa_tests::{run_ok, workspace_bin};

const AMPHORA: &str = "5f9a7c3e-1b2d-4e8f-9a0b-1c2d3e4f5a6b";

fn octa(args: &[&str]) -> Output {
    Command::new(workspace_bin("octa"))
        .args(args)
        .env_remove("OCTA_CA_PASSPHRASE")
        .output()
        .expect("run octa")
}

fn octa_ok(args: &[&str]) -> String {
    let out = octa(args);
    assert!(
        out.status.success(),
        "octa {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn init_dir(dir: &Path, extra: &[&str]) {
    let mut args = vec!["pki", "init", "--dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    octa_ok(&args);
}

/// Every file of a directory with its bytes and mode.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            (path.clone(), (std::fs::read(&path).unwrap(), mode))
        })
        .collect()
}

fn x509_text(file: &Path) -> String {
    run_ok(
        Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(file),
    )
}

fn openssl_verify(ca: &Path, leaf: &Path) {
    let out = run_ok(
        Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(ca)
            .arg(leaf),
    );
    assert!(out.trim_end().ends_with(": OK"), "{out}");
}

/// The lines following `header` in `openssl x509 -text` output, up to the next header.
fn extension(text: &str, header: &str) -> String {
    let mut lines = text.lines().skip_while(|l| !l.contains(header));
    let head = lines
        .next()
        .unwrap_or_else(|| panic!("no {header:?} in\n{text}"));
    let body: Vec<&str> = lines
        .take_while(|l| !l.contains("X509v3") && !l.contains("Signature Algorithm"))
        .collect();
    format!("{}\n{}", head.trim(), body.join("\n").trim())
}

#[test]
fn init_makes_octavias_two_ca_layout_that_openssl_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    init_dir(&dir, &[]);
    let f = |name: &str| dir.join(name);

    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for secret in [
        "server_ca.key.pem",
        "client_ca.key.pem",
        "client.cert-and-key.pem",
        "server_ca.passphrase",
    ] {
        assert_eq!(mode(&f(secret)), 0o600, "{secret}");
    }
    openssl_verify(&f("client_ca.cert.pem"), &f("client.cert-and-key.pem"));

    for ca in ["server_ca.cert.pem", "client_ca.cert.pem"] {
        let text = x509_text(&f(ca));
        assert!(text.contains("Public-Key: (4096 bit)"), "{ca}: {text}");
        assert_eq!(
            extension(&text, "Basic Constraints"),
            "X509v3 Basic Constraints: critical\nCA:TRUE, pathlen:0"
        );
        assert_eq!(
            extension(&text, "X509v3 Key Usage"),
            "X509v3 Key Usage: critical\nDigital Signature, Certificate Sign, CRL Sign"
        );
        let ski = extension(&text, "Subject Key Identifier");
        let aki = extension(&text, "Authority Key Identifier");
        assert_eq!(
            ski.lines().nth(1),
            aki.lines().nth(1),
            "self-signed: AKI = SKI"
        );
        assert!(text.contains("Not After"), "{text}");
    }
    let client = x509_text(&f("client.cert-and-key.pem"));
    assert!(client.contains("Public-Key: (2048 bit)"), "{client}");
    assert_eq!(
        extension(&client, "Extended Key Usage"),
        "X509v3 Extended Key Usage:\nTLS Web Client Authentication"
    );
    assert!(extension(&client, "Basic Constraints").contains("CA:FALSE"));
    let client_aki = extension(&client, "Authority Key Identifier");
    let ca_ski = extension(
        &x509_text(&f("client_ca.cert.pem")),
        "Subject Key Identifier",
    );
    assert_eq!(client_aki.lines().nth(1), ca_ski.lines().nth(1));
    assert!(
        extension(&client, "Subject Key Identifier")
            .lines()
            .nth(1)
            .is_some()
    );

    // The client file is key first then certificate, the key in clear (Octavia needs it).
    let client_pem = std::fs::read_to_string(f("client.cert-and-key.pem")).unwrap();
    assert!(
        client_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{client_pem}"
    );
    // The server CA key is encrypted and opens with the stored passphrase only.
    let key = std::fs::read_to_string(f("server_ca.key.pem")).unwrap();
    assert!(key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    run_ok(
        Command::new("openssl")
            .args(["pkey", "-noout", "-in"])
            .arg(f("server_ca.key.pem"))
            .arg("-passin")
            .arg(format!("file:{}", f("server_ca.passphrase").display())),
    );
    let wrong = Command::new("openssl")
        .args(["pkey", "-noout", "-passin", "pass:wrong", "-in"])
        .arg(f("server_ca.key.pem"))
        .output()
        .unwrap();
    assert!(!wrong.status.success());
}

#[test]
fn amphora_certificate_is_what_octavias_generator_makes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    init_dir(&dir, &[]);
    let out = tmp.path().join("server.pem");
    octa_ok(&[
        "pki",
        "issue-amphora",
        AMPHORA,
        "--out",
        out.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
    ]);
    openssl_verify(&dir.join("server_ca.cert.pem"), &out);
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let text = x509_text(&out);
    assert!(
        text.contains(&format!("Subject: CN = {AMPHORA}\n")),
        "{text}"
    );
    assert!(text.contains("Public-Key: (2048 bit)"));
    assert_eq!(
        extension(&text, "Subject Alternative Name"),
        format!("X509v3 Subject Alternative Name:\nDNS:{AMPHORA}")
    );
    assert_eq!(
        extension(&text, "Basic Constraints"),
        "X509v3 Basic Constraints: critical\nCA:FALSE"
    );
    assert_eq!(
        extension(&text, "X509v3 Key Usage"),
        "X509v3 Key Usage: critical\nDigital Signature, Key Encipherment, Data Encipherment, Key Agreement"
    );
    assert_eq!(
        extension(&text, "Extended Key Usage"),
        "X509v3 Extended Key Usage: critical\nTLS Web Server Authentication, TLS Web Client Authentication"
    );
    assert!(text.contains("Subject Key Identifier") && text.contains("Authority Key Identifier"));
    let dates = run_ok(
        Command::new("openssl")
            .args(["x509", "-noout", "-startdate", "-enddate", "-in"])
            .arg(&out),
    );
    let parse = |prefix: &str| {
        let line = dates.lines().find(|l| l.starts_with(prefix)).unwrap();
        run_ok(
            Command::new("date")
                .args(["-u", "+%s", "-d"])
                .arg(&line[prefix.len()..]),
        )
        .trim()
        .parse::<i64>()
        .unwrap()
    };
    assert_eq!(
        parse("notAfter=") - parse("notBefore="),
        30 * 86_400,
        "30 days by default"
    );

    // Certificate first, then the PKCS#1 key, in one PEM, as the agent's server.pem.
    let pem = std::fs::read_to_string(&out).unwrap();
    let cert_at = pem.find("-----BEGIN CERTIFICATE-----").unwrap();
    let key_at = pem.find("-----BEGIN RSA PRIVATE KEY-----").unwrap();
    assert!(cert_at < key_at);
    let key_mod = run_ok(
        Command::new("openssl")
            .args(["rsa", "-noout", "-modulus", "-in"])
            .arg(&out),
    );
    let cert_mod = run_ok(
        Command::new("openssl")
            .args(["x509", "-noout", "-modulus", "-in"])
            .arg(&out),
    );
    assert_eq!(key_mod, cert_mod);

    // Existing output is not replaced without --force; a path-like id is refused.
    let again = octa(&[
        "pki",
        "issue-amphora",
        AMPHORA,
        "--out",
        out.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = octa(&[
        "pki",
        "issue-amphora",
        "../../etc/x",
        "--out",
        tmp.path().join("x").to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Invalid amphora id"));
}

#[test]
fn rerunning_init_changes_no_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    init_dir(&dir, &[]);
    let before = snapshot(&dir);
    let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    let out = octa_ok(&["pki", "init", "--dir", dir.to_str().unwrap()]);
    assert!(!out.contains("created"), "{out}");
    assert_eq!(snapshot(&dir), before);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode(),
        dir_mode
    );
}

#[test]
fn ec_p384_and_a_given_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let out = Command::new(workspace_bin("octa"))
        .args([
            "pki",
            "init",
            "--key-type",
            "ec-p384",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .env("OCTA_CA_PASSPHRASE", "operator-chosen secret")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains("operator-chosen secret"),
        "the passphrase was printed"
    );
    let text = x509_text(&dir.join("server_ca.cert.pem"));
    assert!(text.contains("NIST CURVE: P-384"), "{text}");
    run_ok(
        Command::new("openssl")
            .args([
                "pkey",
                "-noout",
                "-passin",
                "pass:operator-chosen secret",
                "-in",
            ])
            .arg(dir.join("server_ca.key.pem")),
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("server_ca.passphrase")).unwrap(),
        "operator-chosen secret\n"
    );
    openssl_verify(
        &dir.join("client_ca.cert.pem"),
        &dir.join("client.cert-and-key.pem"),
    );
}

#[test]
fn rotate_client_replaces_only_the_client_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    init_dir(&dir, &["--key-type", "ec-p384"]);
    let before = snapshot(&dir);
    octa_ok(&[
        "pki",
        "rotate-client",
        "--days",
        "90",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    let after = snapshot(&dir);
    for (path, content) in &before {
        let changed = after[path] != *content;
        assert_eq!(
            changed,
            path.ends_with("client.cert-and-key.pem"),
            "{}",
            path.display()
        );
    }
    openssl_verify(
        &dir.join("client_ca.cert.pem"),
        &dir.join("client.cert-and-key.pem"),
    );
    assert_eq!(after[&dir.join("client.cert-and-key.pem")].1 & 0o777, 0o600);
}

#[test]
fn check_exit_codes_are_distinct() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    init_dir(&dir, &["--key-type", "ec-p384", "--client-days", "20"]);
    let d = dir.to_str().unwrap();
    assert_eq!(
        octa(&[
            "pki",
            "check",
            "--dir",
            d,
            "--warn-days",
            "10",
            "--crit-days",
            "5"
        ])
        .status
        .code(),
        Some(0)
    );
    let warn = octa(&["pki", "check", "--dir", d]);
    assert_eq!(
        warn.status.code(),
        Some(10),
        "{}",
        String::from_utf8_lossy(&warn.stdout)
    );
    assert!(String::from_utf8_lossy(&warn.stdout).contains("[WARN] client certificate validity"));
    assert_eq!(
        octa(&["pki", "check", "--dir", d, "--crit-days", "25"])
            .status
            .code(),
        Some(3)
    );
    std::fs::remove_file(dir.join("server_ca.key.pem")).unwrap();
    let crit = octa(&["pki", "check", "--dir", d, "--json"]);
    assert_eq!(crit.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&crit.stdout).unwrap();
    assert_eq!(doc["level"], "critical");
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "server CA key matches its certificate"
                && f["level"] == "critical")
    );
}

#[test]
fn show_json_lists_the_three_certificates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    init_dir(&dir, &["--key-type", "ec-p384"]);
    let doc: serde_json::Value = serde_json::from_str(&octa_ok(&[
        "pki",
        "show",
        "--json",
        "--dir",
        dir.to_str().unwrap(),
    ]))
    .unwrap();
    let certs = doc["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 3);
    assert_eq!(
        certs[2]["extended_key_usage"],
        serde_json::json!(["clientAuth"])
    );
    assert!(certs.iter().all(|c| c["key_identifiers"] == true));
    let fp = certs[0]["sha256_fingerprint"].as_str().unwrap();
    let openssl_fp = run_ok(
        Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(dir.join("server_ca.cert.pem")),
    );
    assert!(openssl_fp.trim().ends_with(fp), "{openssl_fp} vs {fp}");
    assert_eq!(doc["level"], "ok");
    let text = serde_json::to_string(&doc).unwrap();
    let pass = std::fs::read_to_string(dir.join("server_ca.passphrase")).unwrap();
    assert!(!text.contains(pass.trim()), "show printed the passphrase");
}
