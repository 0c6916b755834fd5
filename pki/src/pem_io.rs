//! Reading PEM files and writing PEM text.
//!
//! Octavia keeps certificates and keys in PEM files that may hold several blocks (a
//! certificate followed by its key, or the reverse). This module splits them and keeps
//! the path with every error.

use std::path::Path;

use rustls::pki_types::CertificateDer;

use crate::error::{PkiError, Result};

/// PEM label of a certificate.
pub(crate) const CERTIFICATE: &str = "CERTIFICATE";

/// Reads a whole file, naming it in the error.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| PkiError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Splits PEM text into its blocks.
pub(crate) fn blocks(path: &Path, bytes: &[u8]) -> Result<Vec<pem::Pem>> {
    pem::parse_many(bytes).map_err(|e| PkiError::BadCertificate {
        path: path.to_owned(),
        reason: format!("malformed PEM: {e}"),
    })
}

/// Every certificate in the blocks, in file order.
pub(crate) fn certificates(blocks: &[pem::Pem]) -> Vec<CertificateDer<'static>> {
    blocks
        .iter()
        .filter(|b| b.tag() == CERTIFICATE)
        .map(|b| CertificateDer::from(b.contents().to_vec()))
        .collect()
}

/// The first certificate of a file, or an error naming the file.
pub(crate) fn first_certificate(path: &Path, bytes: &[u8]) -> Result<CertificateDer<'static>> {
    certificates(&blocks(path, bytes)?)
        .into_iter()
        .next()
        .ok_or_else(|| PkiError::NoPem {
            path: path.to_owned(),
            what: CERTIFICATE,
        })
}

/// PEM text with LF line endings (the `pem` crate defaults to CRLF).
pub(crate) fn encode(tag: &str, der: &[u8]) -> String {
    let block = pem::Pem::new(tag, der.to_vec());
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}
