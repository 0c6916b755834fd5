//! One certificate read from a file, and the checks made on it: CA flag, key match,
//! and chain verification.
//!
//! Chains are verified with rustls' own webpki verifiers, so `octa pki check` judges a
//! certificate exactly as the TLS handshake of the agent or the controller will.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{KeyPair, PublicKeyData};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::error::{PkiError, Result};
use crate::pem_io;
use crate::tls::provider;

/// A certificate and the file it came from.
#[derive(Debug, Clone)]
pub struct CertFile {
    /// Where it was read from (or will be written to).
    pub path: PathBuf,
    /// Its DER encoding.
    pub der: CertificateDer<'static>,
}

impl CertFile {
    /// The first certificate of a PEM file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = pem_io::read(path)?;
        Self::from_pem(path, &bytes)
    }

    /// The first certificate of PEM text that came from `path`.
    pub fn from_pem(path: &Path, bytes: &[u8]) -> Result<Self> {
        let cert = CertFile {
            path: path.to_owned(),
            der: pem_io::first_certificate(path, bytes)?,
        };
        cert.parsed()?;
        Ok(cert)
    }

    /// A certificate just made, to be written at `path`.
    pub fn from_der(path: &Path, der: CertificateDer<'static>) -> Self {
        CertFile {
            path: path.to_owned(),
            der,
        }
    }

    /// The parsed certificate.
    pub fn parsed(&self) -> Result<X509Certificate<'_>> {
        X509Certificate::from_der(&self.der)
            .map(|(_, cert)| cert)
            .map_err(|e| PkiError::BadCertificate {
                path: self.path.clone(),
                reason: e.to_string(),
            })
    }

    /// PEM text of the certificate.
    pub fn pem(&self) -> String {
        pem_io::encode(pem_io::CERTIFICATE, &self.der)
    }

    /// Whether basicConstraints says CA:TRUE.
    pub fn is_ca(&self) -> Result<bool> {
        Ok(self.parsed()?.is_ca())
    }

    /// Fails unless the certificate is a CA.
    pub fn require_ca(&self) -> Result<()> {
        if self.is_ca()? {
            Ok(())
        } else {
            Err(PkiError::NotCa {
                path: self.path.clone(),
            })
        }
    }

    /// Whether `key` is the private half of this certificate's public key.
    pub fn matches_key(&self, key: &KeyPair) -> Result<bool> {
        Ok(self.parsed()?.public_key().raw == key.subject_public_key_info().as_slice())
    }

    /// Fails unless `key` (read from `key_path`) belongs to this certificate.
    pub fn require_key(&self, key: &KeyPair, key_path: &Path) -> Result<()> {
        if self.matches_key(key)? {
            Ok(())
        } else {
            Err(PkiError::KeyMismatch {
                key: key_path.to_owned(),
                cert: self.path.clone(),
            })
        }
    }

    /// Whether the certificate's own signature verifies with its own key.
    pub fn is_self_signed(&self) -> Result<bool> {
        let parsed = self.parsed()?;
        Ok(parsed.verify_signature(None).is_ok())
    }

    /// Verifies this certificate as a TLS client certificate issued by `ca`.
    pub fn verify_client_chain(&self, ca: &CertFile, now: OffsetDateTime) -> Result<()> {
        let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider())
            .build()
            .map_err(|e| self.chain_error(ca, e.to_string()))?;
        verifier
            .verify_client_cert(&self.der, &[], unix_time(now))
            .map(|_| ())
            .map_err(|e| self.chain_error(ca, e.to_string()))
    }

    /// Verifies this certificate as the TLS server certificate of `name` issued by `ca`.
    pub fn verify_server_chain(
        &self,
        ca: &CertFile,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let server_name = ServerName::try_from(name.to_owned())
            .map_err(|e| self.chain_error(ca, format!("invalid server name {name:?}: {e}")))?;
        let verifier = WebPkiServerVerifier::builder_with_provider(roots(ca)?, provider())
            .build()
            .map_err(|e| self.chain_error(ca, e.to_string()))?;
        verifier
            .verify_server_cert(&self.der, &[], &server_name, &[], unix_time(now))
            .map(|_| ())
            .map_err(|e| self.chain_error(ca, e.to_string()))
    }

    fn chain_error(&self, ca: &CertFile, reason: String) -> PkiError {
        PkiError::ChainInvalid {
            cert: self.path.clone(),
            ca: ca.path.clone(),
            reason,
        }
    }
}

fn roots(ca: &CertFile) -> Result<Arc<RootCertStore>> {
    let mut roots = RootCertStore::empty();
    roots
        .add(ca.der.clone())
        .map_err(|e| PkiError::BadCertificate {
            path: ca.path.clone(),
            reason: format!("not usable as a trust anchor: {e}"),
        })?;
    Ok(Arc::new(roots))
}

fn unix_time(now: OffsetDateTime) -> UnixTime {
    let secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
}
