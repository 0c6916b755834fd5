//! A certificate authority loaded for signing: its certificate and its key, checked to
//! belong together.

use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, Issuer, KeyPair};
use rustls::pki_types::CertificateDer;

use crate::cert::CertFile;
use crate::error::{PkiError, Result};
use crate::key::{self, Passphrase};
use crate::pem_io;
use crate::store::{PkiDir, PkiFile};

/// A CA able to sign.
#[derive(Debug)]
pub struct Ca {
    /// The CA certificate.
    pub cert: CertFile,
    /// The CA private key.
    pub key: KeyPair,
    /// Where the key was read from (or will be written to).
    pub key_path: PathBuf,
}

impl Ca {
    /// Loads a CA from its certificate and key files; the key may be encrypted with
    /// `passphrase`. Fails unless the certificate is a CA and the key is its key.
    pub fn load(
        cert_path: &Path,
        key_path: &Path,
        passphrase: Option<&Passphrase>,
    ) -> Result<Self> {
        let cert = CertFile::load(cert_path)?;
        cert.require_ca()?;
        let key_bytes = pem_io::read(key_path)?;
        let loaded = key::load_key(key_path, &key_bytes, passphrase)?;
        cert.require_key(&loaded.key, key_path)?;
        Ok(Ca {
            cert,
            key: loaded.key,
            key_path: key_path.to_owned(),
        })
    }

    /// The server CA of a PKI directory, its key opened with `passphrase` or, when
    /// `None`, with the directory's stored passphrase: what signs amphora certificates.
    pub fn load_server(dir: &PkiDir, passphrase: Option<&Passphrase>) -> Result<Self> {
        let stored = match passphrase {
            Some(_) => None,
            None => crate::init::read_passphrase(dir)?,
        };
        Ca::load(
            &dir.path(PkiFile::ServerCaCert),
            &dir.path(PkiFile::ServerCaKey),
            passphrase.or(stored.as_ref()),
        )
    }

    /// A new self-signed CA with `params`, signed by `key`, to be stored at the paths.
    pub fn create(
        params: &CertificateParams,
        key: KeyPair,
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<Self> {
        let cert = params
            .self_signed(&key)
            .map_err(|source| PkiError::Generate {
                what: "CA certificate",
                source,
            })?;
        Ok(Ca {
            cert: CertFile::from_der(cert_path, cert.der().clone()),
            key,
            key_path: key_path.to_owned(),
        })
    }

    /// Signs a leaf certificate for `leaf_key` with `params`; `what` names it in errors.
    pub fn sign(
        &self,
        params: &CertificateParams,
        leaf_key: &KeyPair,
        what: &'static str,
    ) -> Result<CertificateDer<'static>> {
        let generate = |source| PkiError::Generate { what, source };
        // Built from the CA certificate itself so the AKI is the CA's own SKI.
        let issuer = Issuer::from_ca_cert_der(&self.cert.der, &self.key).map_err(generate)?;
        let cert = params.signed_by(leaf_key, &issuer).map_err(generate)?;
        Ok(cert.der().clone())
    }
}
