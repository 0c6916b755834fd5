//! `octa pki show` and `octa pki check`: what the PKI directory holds, and verdicts on
//! it. Inspection never fails as a whole: a missing or broken file becomes a critical
//! finding, so the operator sees every problem at once.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::public_key::PublicKey;

use crate::cert::CertFile;
use crate::error::Result;
use crate::init::read_passphrase;
use crate::key::{self, Passphrase};
use crate::pem_io;
use crate::store::{DIR_MODE, PkiDir, PkiFile, SECRET_MODE};

/// How bad a finding is. Ordered: the worst one decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Nothing to do.
    Ok,
    /// Works, but needs attention soon.
    Warn,
    /// Broken, or about to break.
    Critical,
}

/// One verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What was checked, e.g. `server CA key matches`.
    pub check: String,
    /// The verdict.
    pub level: Level,
    /// Why, in a few words.
    pub detail: String,
}

/// One certificate, as `show` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct CertSummary {
    /// The file.
    pub path: PathBuf,
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days left until `not_after` (negative once expired).
    pub days_left: i64,
    /// SHA-256 fingerprint of the DER, colon-separated hex.
    pub sha256_fingerprint: String,
    /// Public key algorithm and size, e.g. `RSA-4096`.
    pub key: String,
    /// basicConstraints CA flag.
    pub is_ca: bool,
    /// SAN DNS names.
    pub dns_names: Vec<String>,
    /// Extended key usages (`serverAuth`, `clientAuth`).
    pub extended_key_usage: Vec<String>,
    /// Whether SKI and AKI are present (Python 3.13's strict verification wants them).
    pub key_identifiers: bool,
}

/// Expiry thresholds of `check`, in days.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Warn when fewer days are left.
    pub warn_days: i64,
    /// Critical when fewer days are left.
    pub crit_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warn_days: 30,
            crit_days: 14,
        }
    }
}

/// Everything `show` and `check` print.
#[derive(Debug, Clone, Serialize)]
pub struct PkiReport {
    /// The PKI directory.
    pub dir: PathBuf,
    /// The certificates found.
    pub certificates: Vec<CertSummary>,
    /// Every verdict.
    pub findings: Vec<Finding>,
    /// The worst verdict.
    pub level: Level,
}

/// Inspects `dir`. `passphrase` overrides the stored one (`OCTA_CA_PASSPHRASE`).
pub fn inspect(
    dir: &PkiDir,
    passphrase: Option<&Passphrase>,
    limits: Thresholds,
    now: OffsetDateTime,
) -> PkiReport {
    let mut r = Inspection {
        findings: Vec::new(),
        certificates: Vec::new(),
    };
    r.modes(dir);
    let stored = match read_passphrase(dir) {
        Ok(p) => p,
        Err(e) => {
            r.add("passphrase readable", Level::Critical, e.to_string());
            None
        }
    };
    if stored.is_none() && passphrase.is_none() {
        r.add(
            "passphrase present",
            Level::Critical,
            format!("{} is missing", dir.path(PkiFile::Passphrase).display()),
        );
    }
    let passphrase = passphrase.or(stored.as_ref());
    let server_ca = r.cert(dir, PkiFile::ServerCaCert, "server CA", limits, now);
    let client_ca = r.cert(dir, PkiFile::ClientCaCert, "client CA", limits, now);
    let client = r.cert(
        dir,
        PkiFile::ClientCertAndKey,
        "client certificate",
        limits,
        now,
    );
    for (ca, name) in [(&server_ca, "server CA"), (&client_ca, "client CA")] {
        if let Some(ca) = ca {
            r.outcome(&format!("{name} is a CA"), ca.require_ca());
        }
    }
    if let Some(ca) = &server_ca {
        r.key_match(
            ca,
            &dir.path(PkiFile::ServerCaKey),
            passphrase,
            "server CA key",
            Level::Critical,
        );
    }
    if let Some(ca) = &client_ca {
        // Without it the client certificate cannot be rotated, but nothing breaks today.
        r.key_match(
            ca,
            &dir.path(PkiFile::ClientCaKey),
            passphrase,
            "client CA key",
            Level::Warn,
        );
    }
    if let Some(cert) = &client {
        r.key_match(cert, &cert.path, None, "client key", Level::Critical);
        if let Some(ca) = &client_ca {
            r.outcome(
                "client certificate chains to the client CA",
                cert.verify_client_chain(ca, now),
            );
        }
    }
    if let (Some(s), Some(c)) = (&server_ca, &client_ca)
        && s.der == c.der
    {
        r.add(
            "two distinct CAs",
            Level::Warn,
            "the server CA and the client CA are the same certificate".to_owned(),
        );
    }
    let level = r
        .findings
        .iter()
        .map(|f| f.level)
        .max()
        .unwrap_or(Level::Ok);
    PkiReport {
        dir: dir.root().to_owned(),
        certificates: r.certificates,
        findings: r.findings,
        level,
    }
}

/// Summarizes one certificate.
pub fn summarize(cert: &CertFile, now: OffsetDateTime) -> Result<CertSummary> {
    let x = cert.parsed()?;
    let not_after = x.validity().not_after.to_datetime();
    let mut dns_names = Vec::new();
    let mut eku = Vec::new();
    let (mut ski, mut aki) = (false, false);
    for ext in x.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    if let GeneralName::DNSName(dns) = name {
                        dns_names.push((*dns).to_owned());
                    }
                }
            }
            ParsedExtension::ExtendedKeyUsage(usage) => {
                if usage.server_auth {
                    eku.push("serverAuth".to_owned());
                }
                if usage.client_auth {
                    eku.push("clientAuth".to_owned());
                }
            }
            ParsedExtension::SubjectKeyIdentifier(_) => ski = true,
            ParsedExtension::AuthorityKeyIdentifier(_) => aki = true,
            _ => {}
        }
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &cert.der);
    Ok(CertSummary {
        path: cert.path.clone(),
        subject: x.subject().to_string(),
        issuer: x.issuer().to_string(),
        serial: x.raw_serial_as_string(),
        not_before: rfc3339(x.validity().not_before.to_datetime()),
        not_after: rfc3339(not_after),
        days_left: (not_after - now).whole_days(),
        sha256_fingerprint: hex_colon(digest.as_ref()),
        key: match x.public_key().parsed() {
            Ok(PublicKey::RSA(rsa)) => format!("RSA-{}", rsa.key_size()),
            Ok(PublicKey::EC(ec)) => format!("EC-{}", ec.key_size()),
            _ => "other".to_owned(),
        },
        is_ca: x.is_ca(),
        dns_names,
        extended_key_usage: eku,
        key_identifiers: ski && aki,
    })
}

struct Inspection {
    findings: Vec<Finding>,
    certificates: Vec<CertSummary>,
}

impl Inspection {
    fn add(&mut self, check: &str, level: Level, detail: String) {
        self.findings.push(Finding {
            check: check.to_owned(),
            level,
            detail,
        });
    }

    fn outcome(&mut self, check: &str, result: Result<()>) {
        match result {
            Ok(()) => self.add(check, Level::Ok, "yes".to_owned()),
            Err(e) => self.add(check, Level::Critical, e.to_string()),
        }
    }

    fn cert(
        &mut self,
        dir: &PkiDir,
        file: PkiFile,
        name: &str,
        limits: Thresholds,
        now: OffsetDateTime,
    ) -> Option<CertFile> {
        let path = dir.path(file);
        let loaded = CertFile::load(&path).and_then(|c| summarize(&c, now).map(|s| (c, s)));
        let (cert, summary) = match loaded {
            Ok(pair) => pair,
            Err(e) => {
                self.add(&format!("{name} readable"), Level::Critical, e.to_string());
                return None;
            }
        };
        let days = summary.days_left;
        let (level, detail) = if days < 0 {
            (Level::Critical, format!("expired on {}", summary.not_after))
        } else if days < limits.crit_days {
            (
                Level::Critical,
                format!("expires in {days} days ({})", summary.not_after),
            )
        } else if days < limits.warn_days {
            (
                Level::Warn,
                format!("expires in {days} days ({})", summary.not_after),
            )
        } else {
            (Level::Ok, format!("valid for {days} more days"))
        };
        self.add(&format!("{name} validity"), level, detail);
        self.certificates.push(summary);
        Some(cert)
    }

    fn key_match(
        &mut self,
        cert: &CertFile,
        key_path: &Path,
        passphrase: Option<&Passphrase>,
        name: &str,
        missing_level: Level,
    ) {
        let check = format!("{name} matches its certificate");
        if !key_path.exists() {
            self.add(
                &check,
                missing_level,
                format!("{} is missing", key_path.display()),
            );
            return;
        }
        let result = pem_io::read(key_path)
            .and_then(|bytes| key::load_key(key_path, &bytes, passphrase))
            .and_then(|loaded| cert.require_key(&loaded.key, key_path));
        self.outcome(&check, result);
    }

    fn modes(&mut self, dir: &PkiDir) {
        let mode = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .map(|m| m.permissions().mode() & 0o777)
        };
        if let Some(m) = mode(dir.root()).filter(|m| *m != DIR_MODE) {
            self.add(
                "directory mode",
                Level::Warn,
                format!("{} is {m:o}, expected 700", dir.root().display()),
            );
        }
        for file in PkiFile::ALL.into_iter().filter(|f| f.mode() == SECRET_MODE) {
            let path = dir.path(file);
            if let Some(m) = mode(&path).filter(|m| m & 0o077 != 0) {
                self.add(
                    "secret file mode",
                    Level::Critical,
                    format!("{} is {m:o}, expected 600", path.display()),
                );
            }
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn hex_colon(bytes: &[u8]) -> String {
    let hex = hex::encode_upper(bytes);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{InitOptions, init};
    use crate::key::KeyType;
    use time::Duration;

    fn verdict(report: &PkiReport, check: &str) -> Level {
        report
            .findings
            .iter()
            .find(|f| f.check == check)
            .unwrap_or_else(|| panic!("no finding {check:?} in {:#?}", report.findings))
            .level
    }

    #[test]
    fn expiry_verdicts_follow_the_injected_clock() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = PkiDir::new(tmp.path());
        let t0 = OffsetDateTime::now_utc();
        let opts = InitOptions {
            key_type: KeyType::EcP384,
            ca_days: 100,
            client_days: 50,
            ..InitOptions::default()
        };
        init(&dir, &opts, t0).unwrap();
        let limits = Thresholds::default();
        let at = |days| inspect(&dir, None, limits, t0 + Duration::days(days));

        let fresh = at(0);
        assert_eq!(fresh.level, Level::Ok, "{:#?}", fresh.findings);
        let soon = at(25);
        assert_eq!(verdict(&soon, "client certificate validity"), Level::Warn);
        assert_eq!(verdict(&soon, "server CA validity"), Level::Ok);
        assert_eq!(soon.level, Level::Warn);
        assert_eq!(
            verdict(&at(45), "client certificate validity"),
            Level::Critical
        );
        let expired = at(60);
        assert_eq!(expired.level, Level::Critical);
        assert!(
            expired
                .findings
                .iter()
                .any(|f| f.detail.starts_with("expired on")),
            "{:#?}",
            expired.findings
        );
        // The chain check uses the same clock: an expired leaf no longer verifies.
        assert_eq!(
            verdict(&expired, "client certificate chains to the client CA"),
            Level::Critical
        );
    }

    #[test]
    fn missing_files_and_loose_modes_are_reported() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = PkiDir::new(tmp.path());
        let now = OffsetDateTime::now_utc();
        let opts = InitOptions {
            key_type: KeyType::EcP384,
            ..InitOptions::default()
        };
        init(&dir, &opts, now).unwrap();
        std::fs::remove_file(dir.path(PkiFile::ClientCaKey)).unwrap();
        let key = dir.path(PkiFile::ServerCaKey);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let report = inspect(&dir, None, Thresholds::default(), now);
        assert_eq!(
            verdict(&report, "client CA key matches its certificate"),
            Level::Warn
        );
        assert_eq!(verdict(&report, "secret file mode"), Level::Critical);
        assert_eq!(report.level, Level::Critical);
    }
}
