//! Octavia's two-CA PKI.
//!
//! The server CA signs amphora server certificates; the client CA signs the
//! controller's client certificate, which amphora agents require (octavia-protocol.md §3).
//! This crate creates, imports, inspects and rotates them with Octavia's file names, so
//! that stock Octavia can use what octa makes, and builds the rustls configurations both
//! ends of the agent connection use. It owns no policy about where the directory lives
//! and reads neither the environment nor the clock: callers pass both in.
//!
//! Depends on no other octa crate. One crypto provider: aws-lc-rs.

pub mod amphora;
pub mod ca;
pub mod cert;
pub mod error;
pub mod import;
pub mod init;
pub mod inspect;
pub mod key;
mod pem_io;
pub mod profile;
pub mod store;
pub mod tls;

pub use amphora::{AmphoraCert, issue_amphora_cert, write_amphora_pem};
pub use ca::Ca;
pub use cert::CertFile;
pub use error::PkiError;
pub use import::{ImportReport, ImportSources, import};
pub use init::{InitOptions, InitReport, init, read_passphrase, rotate_client};
pub use inspect::{Finding, Level, PkiReport, Thresholds, inspect};
pub use key::{KeyType, Passphrase};
pub use store::{PkiDir, PkiFile};
