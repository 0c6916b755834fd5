//! rustls configurations for both ends of Octavia's two-way TLS.
//!
//! - The amphora agent presents its server certificate (certificate and key in one PEM,
//!   `[amphora_agent] agent_server_cert`) and requires a client certificate issued by the
//!   client CA (`agent_server_ca`); nothing else about the client is checked, as in stock
//!   Octavia.
//! - The controller trusts only the server CA (`[haproxy_amphora] server_ca`), presents
//!   its client certificate (`client_cert`), and checks the amphora id, not the IP it
//!   connected to, as the server name.
//!
//! TLS 1.2 and 1.3 are both offered: stock Zed agents and controllers speak 1.2 only.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::error::{PkiError, Result};
use crate::pem_io;
use crate::profile::validate_amphora_id;

/// The project's one crypto provider.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The agent's server configuration.
pub fn agent_server_config(server_cert_and_key: &Path, client_ca: &Path) -> Result<ServerConfig> {
    let (chain, key) = read_cert_and_key(server_cert_and_key)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(read_roots(client_ca)?, provider())
        .build()
        .map_err(|e| PkiError::BadCertificate {
            path: client_ca.to_owned(),
            reason: format!("not usable as a client CA: {e}"),
        })?;
    ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|source| tls_err(server_cert_and_key, source))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|source| tls_err(server_cert_and_key, source))
}

/// The agent's certificate and key as rustls serves them, for a resolver that swaps
/// them after `PUT /1.0/certificate` without a restart.
pub fn certified_key(server_cert_and_key: &Path) -> Result<Arc<CertifiedKey>> {
    let (chain, key) = read_cert_and_key(server_cert_and_key)?;
    CertifiedKey::from_der(chain, key, &provider())
        .map(Arc::new)
        .map_err(|source| tls_err(server_cert_and_key, source))
}

/// The controller's client configuration.
pub fn controller_client_config(
    server_ca: &Path,
    client_cert_and_key: &Path,
) -> Result<ClientConfig> {
    let (chain, key) = read_cert_and_key(client_cert_and_key)?;
    ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|source| tls_err(client_cert_and_key, source))?
        .with_root_certificates(read_roots(server_ca)?)
        .with_client_auth_cert(chain, key)
        .map_err(|source| tls_err(client_cert_and_key, source))
}

/// The name the controller expects in an amphora's certificate: its id.
pub fn amphora_server_name(amphora_id: &str) -> Result<ServerName<'static>> {
    validate_amphora_id(amphora_id)?;
    ServerName::try_from(amphora_id.to_owned()).map_err(|_| PkiError::InvalidAmphoraId {
        id: amphora_id.to_owned(),
    })
}

fn tls_err(path: &Path, source: rustls::Error) -> PkiError {
    PkiError::Tls {
        path: path.to_owned(),
        source,
    }
}

fn read_roots(path: &Path) -> Result<Arc<RootCertStore>> {
    let bytes = pem_io::read(path)?;
    let certs = pem_io::certificates(&pem_io::blocks(path, &bytes)?);
    if certs.is_empty() {
        return Err(PkiError::NoPem {
            path: path.to_owned(),
            what: pem_io::CERTIFICATE,
        });
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| PkiError::BadCertificate {
            path: path.to_owned(),
            reason: format!("not usable as a trust anchor: {e}"),
        })?;
    }
    Ok(Arc::new(roots))
}

/// Certificates and the unencrypted key of a combined PEM file, in either order.
fn read_cert_and_key(
    path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let bytes = pem_io::read(path)?;
    let blocks = pem_io::blocks(path, &bytes)?;
    let chain = pem_io::certificates(&blocks);
    if chain.is_empty() {
        return Err(PkiError::NoPem {
            path: path.to_owned(),
            what: pem_io::CERTIFICATE,
        });
    }
    let key = blocks
        .iter()
        .find_map(|b| match b.tag() {
            "PRIVATE KEY" => Some(PrivateKeyDer::Pkcs8(b.contents().to_vec().into())),
            "RSA PRIVATE KEY" => Some(PrivateKeyDer::Pkcs1(b.contents().to_vec().into())),
            "EC PRIVATE KEY" => Some(PrivateKeyDer::Sec1(b.contents().to_vec().into())),
            _ => None,
        })
        .ok_or_else(|| PkiError::NoPem {
            path: path.to_owned(),
            what: "PRIVATE KEY",
        })?;
    Ok((chain, key))
}
