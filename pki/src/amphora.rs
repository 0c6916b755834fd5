//! Amphora server certificates, as Octavia's `local_cert_generator` makes them.
//!
//! This is the library API the control plane calls to boot and rotate amphorae, and
//! what `octa pki issue-amphora` prints to a file: one PEM holding the certificate then
//! the RSA-2048 key (PKCS#1, unencrypted), as the agent's `agent_server_cert` expects.

use std::path::Path;

use time::OffsetDateTime;

use crate::ca::Ca;
use crate::error::{PkiError, Result};
use crate::key::{self, KeyType};
use crate::{pem_io, profile, store};

/// A freshly issued amphora certificate and its key.
#[derive(Debug, Clone)]
pub struct AmphoraCert {
    /// The amphora id, which is the certificate's CN and SAN.
    pub amphora_id: String,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (`RSA PRIVATE KEY`).
    pub key_pem: String,
    /// End of validity (`amphora.cert_expiration`).
    pub not_after: OffsetDateTime,
}

impl AmphoraCert {
    /// Certificate then key, the layout of `/etc/octavia/certs/server.pem`.
    pub fn combined_pem(&self) -> String {
        format!("{}{}", self.cert_pem, self.key_pem)
    }
}

/// Issues the server certificate of `amphora_id`, valid `days` from `now`.
pub fn issue_amphora_cert(
    server_ca: &Ca,
    amphora_id: &str,
    days: u32,
    now: OffsetDateTime,
) -> Result<AmphoraCert> {
    let params = profile::amphora(amphora_id, now, days)?;
    let leaf_key = KeyType::Rsa2048.generate()?;
    let der = server_ca.sign(&params, &leaf_key, "amphora certificate")?;
    Ok(AmphoraCert {
        amphora_id: amphora_id.to_owned(),
        cert_pem: pem_io::encode(pem_io::CERTIFICATE, &der),
        key_pem: key::leaf_key_pem(&leaf_key)?,
        not_after: params.not_after,
    })
}

/// Writes the combined PEM to `out` (mode 0600), refusing to replace a file unless
/// `force`.
pub fn write_amphora_pem(out: &Path, cert: &AmphoraCert, force: bool) -> Result<()> {
    if out.exists() && !force {
        return Err(PkiError::Exists {
            path: out.to_owned(),
        });
    }
    store::write_atomic(out, cert.combined_pem().as_bytes(), store::SECRET_MODE)
}
