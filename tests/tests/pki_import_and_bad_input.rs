//! `octa pki import` of a PKI made the way Octavia's certificate guide makes it, and bad
//! input: each mistake is one line naming the file, exit 1, and nothing written.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use octa_tests::{require_root, run_ok, workspace_bin};

/// A PKI made with the openssl CLI, following Octavia's certificate guide.
struct GuidePki {
    dir: PathBuf,
}

impl GuidePki {
    const PASS: &'static str = "guide-passphrase";

    fn new(root: &Path, name: &str) -> Self {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let pki = GuidePki { dir };
        for ca in ["server_ca", "client_ca"] {
            pki.openssl(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-aes-128-cbc",
                "-pass",
                &format!("pass:{}", Self::PASS),
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &pki.s(&format!("{ca}.key.pem")),
            ]);
            pki.openssl(&[
                "req",
                "-x509",
                "-new",
                "-key",
                &pki.s(&format!("{ca}.key.pem")),
                "-passin",
                &format!("pass:{}", Self::PASS),
                "-days",
                "7300",
                "-sha256",
                "-subj",
                &format!("/CN={name} {ca}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,digitalSignature,cRLSign,keyCertSign",
                "-out",
                &pki.s(&format!("{ca}.cert.pem")),
            ]);
        }
        pki.openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &pki.s("client.key"),
        ]);
        pki.openssl(&[
            "req",
            "-new",
            "-key",
            &pki.s("client.key"),
            "-subj",
            "/CN=controller",
            "-out",
            &pki.s("client.csr"),
        ]);
        std::fs::write(pki.path("usr_cert.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,nonRepudiation,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth,emailProtection\n").unwrap();
        pki.openssl(&[
            "x509",
            "-req",
            "-in",
            &pki.s("client.csr"),
            "-CA",
            &pki.s("client_ca.cert.pem"),
            "-CAkey",
            &pki.s("client_ca.key.pem"),
            "-passin",
            &format!("pass:{}", Self::PASS),
            "-CAcreateserial",
            "-days",
            "7300",
            "-sha256",
            "-extfile",
            &pki.s("usr_cert.ext"),
            "-out",
            &pki.s("client.cert.pem"),
        ]);
        let both = format!(
            "{}{}",
            std::fs::read_to_string(pki.path("client.key")).unwrap(),
            std::fs::read_to_string(pki.path("client.cert.pem")).unwrap()
        );
        std::fs::write(pki.path("client.cert-and-key.pem"), both).unwrap();
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn s(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    fn openssl(&self, args: &[&str]) {
        run_ok(Command::new("openssl").args(args));
    }

    /// `octa pki import` arguments for this PKI, with `overrides` replacing flags.
    fn import_args(&self, dest: &Path, overrides: &[(&str, String)]) -> Vec<String> {
        let mut flags = vec![
            ("--server-ca", self.s("server_ca.cert.pem")),
            ("--server-ca-key", self.s("server_ca.key.pem")),
            ("--client-ca", self.s("client_ca.cert.pem")),
            ("--client-ca-key", self.s("client_ca.key.pem")),
            ("--client-cert", self.s("client.cert-and-key.pem")),
        ];
        for (flag, value) in overrides {
            flags
                .iter_mut()
                .filter(|(f, _)| f == flag)
                .for_each(|(_, v)| *v = value.clone());
        }
        let mut args = vec![
            "pki".to_owned(),
            "import".to_owned(),
            "--dir".to_owned(),
            dest.to_str().unwrap().to_owned(),
        ];
        for (f, v) in flags {
            args.push(f.to_owned());
            args.push(v);
        }
        args
    }
}

fn octa(args: &[String], passphrase: Option<&str>) -> Output {
    let mut cmd = Command::new(workspace_bin("octa"));
    cmd.args(args).env_remove("OCTA_CA_PASSPHRASE");
    if let Some(p) = passphrase {
        cmd.env("OCTA_CA_PASSPHRASE", p);
    }
    cmd.output().expect("run octa")
}

/// Asserts a one-line error that names `file`, exit code 1.
fn assert_one_line_error(out: &Output, file: &str, words: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.contains(file), "{file} not named: {stderr}");
    assert!(stderr.contains(words), "{words:?} not in: {stderr}");
}

#[test]
fn guide_made_pki_imports_and_then_signs_amphorae() {
    let tmp = tempfile::tempdir().unwrap();
    let guide = GuidePki::new(tmp.path(), "guide");
    let dest = tmp.path().join("imported");
    let out = octa(&guide.import_args(&dest, &[]), Some(GuidePki::PASS));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = octa(
        &[
            "pki".into(),
            "check".into(),
            "--dir".into(),
            dest.to_str().unwrap().into(),
        ],
        None,
    );
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("server_ca.passphrase")).unwrap(),
        format!("{}\n", GuidePki::PASS)
    );
    let amp = tmp.path().join("amp.pem");
    let issued = octa(
        &[
            "pki".into(),
            "issue-amphora".into(),
            "amp-1".into(),
            "--out".into(),
            amp.to_str().unwrap().into(),
            "--dir".into(),
            dest.to_str().unwrap().into(),
        ],
        None,
    );
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let verify = run_ok(
        Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(guide.path("server_ca.cert.pem"))
            .arg(&amp),
    );
    assert!(verify.contains(": OK"));
    // Importing again without --force refuses and changes nothing.
    let again = octa(&guide.import_args(&dest, &[]), Some(GuidePki::PASS));
    assert_one_line_error(&again, "server_ca.cert.pem", "already exists");
}

/// Flags to override, the passphrase, the file the error must name, words it must say.
type BadImport<'a> = (Vec<(&'a str, String)>, Option<&'a str>, String, &'a str);

#[test]
fn each_bad_import_is_one_line_naming_the_file_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let guide = GuidePki::new(tmp.path(), "guide");
    let other = GuidePki::new(tmp.path(), "other");
    let garbage = tmp.path().join("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let corrupt = tmp.path().join("corrupt.pem");
    std::fs::write(
        &corrupt,
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let dest = tmp.path().join("dest");

    let cases: Vec<BadImport<'_>> = vec![
        (
            vec![],
            Some("wrong"),
            guide.s("server_ca.key.pem"),
            "Wrong passphrase",
        ),
        (
            vec![],
            None,
            guide.s("server_ca.key.pem"),
            "no passphrase was given",
        ),
        (
            vec![("--server-ca", garbage.to_str().unwrap().into())],
            Some(GuidePki::PASS),
            garbage.to_str().unwrap().into(),
            "holds no PEM CERTIFICATE",
        ),
        (
            vec![("--client-ca", corrupt.to_str().unwrap().into())],
            Some(GuidePki::PASS),
            corrupt.to_str().unwrap().into(),
            "not a valid X.509 certificate",
        ),
        (
            vec![("--server-ca-key", other.s("server_ca.key.pem"))],
            Some(GuidePki::PASS),
            other.s("server_ca.key.pem"),
            "does not match",
        ),
        (
            vec![("--server-ca", guide.s("client.cert.pem"))],
            Some(GuidePki::PASS),
            guide.s("client.cert.pem"),
            "not a CA certificate",
        ),
        (
            vec![("--client-cert", other.s("client.cert-and-key.pem"))],
            Some(GuidePki::PASS),
            other.s("client.cert-and-key.pem"),
            "does not verify against the CA",
        ),
        (
            vec![("--client-cert", guide.s("client.cert.pem"))],
            Some(GuidePki::PASS),
            guide.s("client.cert.pem"),
            "holds no PEM PRIVATE KEY",
        ),
    ];
    for (overrides, pass, file, words) in cases {
        let out = octa(&guide.import_args(&dest, &overrides), pass);
        assert_one_line_error(&out, &file, words);
        assert!(!dest.exists(), "{words}: {} was created", dest.display());
    }
}

#[test]
fn init_into_an_unwritable_directory_fails_naming_it() {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    // A read-only mount in a private mount namespace: even root cannot write there.
    let script = format!(
        "mount -t tmpfs -o ro tmpfs {ro} && exec {octa} pki init --key-type ec-p384 --dir {ro}/pki",
        ro = ro.display(),
        octa = workspace_bin("octa").display()
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env_remove("OCTA_CA_PASSPHRASE")
        .output()
        .unwrap();
    assert_one_line_error(&out, &format!("{}/pki", ro.display()), "Cannot write");
    assert_eq!(std::fs::read_dir(&ro).unwrap().count(), 0);
}

#[test]
fn init_refuses_a_conflicting_passphrase_and_a_half_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let d = dir.to_str().unwrap().to_owned();
    let init = |pass: Option<&str>| {
        octa(
            &[
                "pki".into(),
                "init".into(),
                "--key-type".into(),
                "ec-p384".into(),
                "--dir".into(),
                d.clone(),
            ],
            pass,
        )
    };
    assert!(init(None).status.success());
    assert_one_line_error(
        &init(Some("not the stored one")),
        "server_ca.passphrase",
        "differs",
    );
    std::fs::remove_file(dir.join("client_ca.cert.pem")).unwrap();
    assert_one_line_error(&init(None), "client_ca.cert.pem", "is missing while");
    // A corrupt stored CA is reported, not replaced.
    std::fs::write(dir.join("server_ca.cert.pem"), "garbage").unwrap();
    assert_one_line_error(
        &init(None),
        "server_ca.cert.pem",
        "holds no PEM CERTIFICATE",
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("server_ca.cert.pem")).unwrap(),
        "garbage"
    );
}
