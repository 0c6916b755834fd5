//! The agent's TLS: `pki`'s agent configuration (client certificate from the client CA
//! required), with the server certificate behind a resolver that `PUT /1.0/certificate`
//! can swap without a restart.

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Serves whatever certificate was stored last.
#[derive(Debug)]
pub struct SwappableCert(RwLock<Arc<CertifiedKey>>);

impl SwappableCert {
    /// Loads the certificate and key PEM at `path`.
    pub fn load(path: &Path) -> Result<Arc<Self>, octa_pki::PkiError> {
        Ok(Arc::new(SwappableCert(RwLock::new(
            octa_pki::tls::certified_key(path)?,
        ))))
    }

    /// Replaces the served certificate with the one at `path` (new handshakes use it).
    pub fn reload(&self, path: &Path) -> Result<(), octa_pki::PkiError> {
        let fresh = octa_pki::tls::certified_key(path)?;
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(())
    }
}

impl ResolvesServerCert for SwappableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.0
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        )
    }
}

/// The server configuration: client CA verification from `pki`, certificate from `cert`.
pub fn server_config(
    cert_path: &Path,
    client_ca: &Path,
    cert: Arc<SwappableCert>,
) -> Result<rustls::ServerConfig, octa_pki::PkiError> {
    // Built once with the file to validate it, then pointed at the swappable resolver.
    let mut config = octa_pki::tls::agent_server_config(cert_path, client_ca)?;
    config.cert_resolver = cert;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
