//! The one error type of the `pki` crate.
//!
//! Every variant names the file it is about, so a caller can print it as is: the
//! operator must learn which file to look at without reading a chain of causes.

use std::io;
use std::path::PathBuf;

/// What went wrong while creating, loading or checking certificates and keys.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file could not be read.
    #[error("Cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file or directory could not be written.
    #[error("Cannot write {}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file holds no PEM block of the expected kind.
    #[error("{} holds no PEM {what} (expected a '-----BEGIN {what}-----' block)", path.display())]
    NoPem {
        /// The file.
        path: PathBuf,
        /// The PEM label that was expected.
        what: &'static str,
    },
    /// A file holds a certificate that cannot be parsed.
    #[error("{} is not a valid X.509 certificate: {reason}", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// The parser's words.
        reason: String,
    },
    /// A file holds a private key that cannot be used.
    #[error("{} is not a usable private key: {reason}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it and what would be accepted.
        reason: String,
    },
    /// The passphrase does not open an encrypted key.
    #[error("Wrong passphrase for the encrypted key in {}", path.display())]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// An encrypted key was given without a passphrase.
    #[error("{} is encrypted and no passphrase was given (set OCTA_CA_PASSPHRASE)", path.display())]
    PassphraseRequired {
        /// The key file.
        path: PathBuf,
    },
    /// A key does not belong to the certificate it is paired with.
    #[error("The private key in {} does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// A certificate used as a CA lacks basicConstraints CA:TRUE.
    #[error("{} is not a CA certificate (basicConstraints CA:TRUE is missing)", path.display())]
    NotCa {
        /// The certificate file.
        path: PathBuf,
    },
    /// A certificate does not chain to the CA it must chain to.
    #[error("{} does not verify against the CA in {}: {reason}", cert.display(), ca.display())]
    ChainInvalid {
        /// The leaf certificate file.
        cert: PathBuf,
        /// The CA certificate file.
        ca: PathBuf,
        /// The verifier's words.
        reason: String,
    },
    /// A file that would be written already exists.
    #[error("{} already exists; nothing was changed (pass --force to replace it)", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The directory holds half of a pair (a certificate without its key, ...).
    #[error("{} is missing while {} exists; nothing was changed ({hint})", missing.display(), present.display())]
    Incomplete {
        /// The file that is missing.
        missing: PathBuf,
        /// The file it belongs with.
        present: PathBuf,
        /// What to do.
        hint: &'static str,
    },
    /// A passphrase given in the environment differs from the stored one.
    #[error("OCTA_CA_PASSPHRASE differs from the passphrase stored in {}; nothing was changed", path.display())]
    PassphraseConflict {
        /// The passphrase file.
        path: PathBuf,
    },
    /// An amphora id that cannot be a certificate name.
    #[error(
        "Invalid amphora id {id:?}: expected a DNS label (letters, digits and '-', 1 to 63 characters), such as a UUID"
    )]
    InvalidAmphoraId {
        /// The rejected id.
        id: String,
    },
    /// A validity that is zero or too long to represent.
    #[error("Invalid validity of {days} days for the {what}: expected 1 to 36500")]
    InvalidValidity {
        /// What the validity was for.
        what: &'static str,
        /// The rejected number of days.
        days: u32,
    },
    /// rcgen refused to build or sign a certificate.
    #[error("Cannot generate the {what}")]
    Generate {
        /// Which certificate or key.
        what: &'static str,
        /// Why.
        #[source]
        source: rcgen::Error,
    },
    /// A cryptographic primitive failed (random source, cipher).
    #[error("Cryptographic operation failed: {what}")]
    Crypto {
        /// Which operation.
        what: &'static str,
    },
    /// rustls refused a configuration.
    #[error("Cannot build the TLS configuration from {}", path.display())]
    Tls {
        /// The file whose contents were refused.
        path: PathBuf,
        /// Why.
        #[source]
        source: rustls::Error,
    },
}

/// Shorthand used across the crate.
pub type Result<T, E = PkiError> = std::result::Result<T, E>;
