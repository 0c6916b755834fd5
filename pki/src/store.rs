//! The PKI directory: Octavia's file names, their modes, and all-or-nothing writes.
//!
//! Layout of a directory made by `octa pki init` (names from Octavia's certificate
//! guide, so stock Octavia can point at them unchanged):
//!
//! | file | content | mode |
//! |---|---|---|
//! | `server_ca.cert.pem` | server CA certificate | 0644 |
//! | `server_ca.key.pem` | server CA key, encrypted PKCS#8 | 0600 |
//! | `server_ca.passphrase` | passphrase of both CA keys (`ca_private_key_passphrase`) | 0600 |
//! | `client_ca.cert.pem` | client CA certificate | 0644 |
//! | `client_ca.key.pem` | client CA key, encrypted PKCS#8 | 0600 |
//! | `client.cert-and-key.pem` | controller client key (unencrypted) then certificate | 0600 |
//!
//! The directory itself is 0700. Every file is written to a temporary sibling, synced
//! and renamed, and a [`FileTxn`] puts back what it replaced if a later write fails.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{PkiError, Result};

/// Mode of private keys and secrets.
pub const SECRET_MODE: u32 = 0o600;
/// Mode of certificates.
pub const PUBLIC_MODE: u32 = 0o644;
/// Mode of the PKI directory.
pub const DIR_MODE: u32 = 0o700;

/// One file of the PKI directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkiFile {
    /// `server_ca.cert.pem`
    ServerCaCert,
    /// `server_ca.key.pem`
    ServerCaKey,
    /// `server_ca.passphrase`
    Passphrase,
    /// `client_ca.cert.pem`
    ClientCaCert,
    /// `client_ca.key.pem`
    ClientCaKey,
    /// `client.cert-and-key.pem`
    ClientCertAndKey,
}

impl PkiFile {
    /// Every file, in the order `octa pki show` lists them.
    pub const ALL: [PkiFile; 6] = [
        PkiFile::ServerCaCert,
        PkiFile::ServerCaKey,
        PkiFile::Passphrase,
        PkiFile::ClientCaCert,
        PkiFile::ClientCaKey,
        PkiFile::ClientCertAndKey,
    ];

    /// The file name, as Octavia's documentation uses it.
    pub fn name(self) -> &'static str {
        match self {
            PkiFile::ServerCaCert => "server_ca.cert.pem",
            PkiFile::ServerCaKey => "server_ca.key.pem",
            PkiFile::Passphrase => "server_ca.passphrase",
            PkiFile::ClientCaCert => "client_ca.cert.pem",
            PkiFile::ClientCaKey => "client_ca.key.pem",
            PkiFile::ClientCertAndKey => "client.cert-and-key.pem",
        }
    }

    /// The mode the file is written with.
    pub fn mode(self) -> u32 {
        match self {
            PkiFile::ServerCaCert | PkiFile::ClientCaCert => PUBLIC_MODE,
            _ => SECRET_MODE,
        }
    }
}

/// A PKI directory (it need not exist yet).
#[derive(Debug, Clone)]
pub struct PkiDir {
    root: PathBuf,
}

impl PkiDir {
    /// The PKI directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        PkiDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of one of its files.
    pub fn path(&self, file: PkiFile) -> PathBuf {
        self.root.join(file.name())
    }

    /// Whether one of its files exists.
    pub fn has(&self, file: PkiFile) -> bool {
        self.path(file).exists()
    }
}

enum Undo {
    RemoveFile(PathBuf),
    RemoveDir(PathBuf),
    Restore {
        path: PathBuf,
        bytes: Vec<u8>,
        mode: u32,
    },
}

/// A journal of file writes that puts everything back unless committed.
#[must_use]
pub(crate) struct FileTxn {
    undo: Vec<Undo>,
    committed: bool,
}

impl FileTxn {
    pub(crate) fn new() -> Self {
        FileTxn {
            undo: Vec::new(),
            committed: false,
        }
    }

    /// Creates `dir` (mode 0700) and its parents if missing; tightens an existing
    /// directory to 0700.
    pub(crate) fn ensure_private_dir(&mut self, dir: &Path) -> Result<()> {
        let write_err = |source| PkiError::Write {
            path: dir.to_owned(),
            source,
        };
        match fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {
                if meta.permissions().mode() & 0o777 != DIR_MODE {
                    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
                        .map_err(write_err)?;
                }
                Ok(())
            }
            Ok(_) => Err(write_err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "exists and is not a directory",
            ))),
            Err(_) => {
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fs::create_dir_all(parent).map_err(write_err)?;
                }
                DirBuilder::new()
                    .mode(DIR_MODE)
                    .create(dir)
                    .map_err(write_err)?;
                // The umask may have narrowed the mode further than asked.
                fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
                    .map_err(write_err)?;
                self.undo.push(Undo::RemoveDir(dir.to_owned()));
                Ok(())
            }
        }
    }

    /// Writes `bytes` to `path` with `mode`, atomically, remembering what was there.
    pub(crate) fn write(&mut self, path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
        let previous = match fs::read(path) {
            Ok(old) => {
                let old_mode = fs::metadata(path)
                    .map(|m| m.permissions().mode() & 0o7777)
                    .unwrap_or(mode);
                Some((old, old_mode))
            }
            Err(_) => None,
        };
        write_atomic(path, bytes, mode)?;
        self.undo.push(match previous {
            Some((bytes, mode)) => Undo::Restore {
                path: path.to_owned(),
                bytes,
                mode,
            },
            None => Undo::RemoveFile(path.to_owned()),
        });
        Ok(())
    }

    /// Removes `path` if it exists, remembering it.
    pub(crate) fn remove(&mut self, path: &Path) -> Result<()> {
        let Ok(bytes) = fs::read(path) else {
            return Ok(());
        };
        let mode = fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(SECRET_MODE);
        fs::remove_file(path).map_err(|source| PkiError::Write {
            path: path.to_owned(),
            source,
        })?;
        self.undo.push(Undo::Restore {
            path: path.to_owned(),
            bytes,
            mode,
        });
        Ok(())
    }

    /// Keeps everything written.
    pub(crate) fn commit(mut self) {
        self.committed = true;
    }
}

impl Drop for FileTxn {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        // Best effort, newest first: a failure here must not hide the original error.
        for undo in self.undo.drain(..).rev() {
            let outcome = match &undo {
                Undo::RemoveFile(p) => fs::remove_file(p),
                Undo::RemoveDir(p) => fs::remove_dir(p),
                Undo::Restore { path, bytes, mode } => {
                    write_atomic(path, bytes, *mode).map_err(std::io::Error::other)
                }
            };
            if let Err(e) = outcome {
                tracing::warn!("rolling back a PKI write failed: {e}");
            }
        }
    }
}

/// Writes a file through a temporary sibling created with its final mode (a secret is
/// never readable by others, not even for a moment), synced before the rename.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let write_err = |source| PkiError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| write_err(std::io::Error::other("not a file path")))?;
    let tmp = dir.join(format!(
        ".{}.octa-tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_writes_are_rolled_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pki");
        let kept = tmp.path().join("kept");
        fs::write(&kept, b"old").unwrap();
        {
            let mut txn = FileTxn::new();
            txn.ensure_private_dir(&dir).unwrap();
            txn.write(&dir.join("a"), b"new", SECRET_MODE).unwrap();
            txn.write(&kept, b"replaced", PUBLIC_MODE).unwrap();
            assert_eq!(fs::read(&kept).unwrap(), b"replaced");
        }
        assert_eq!(fs::read(&kept).unwrap(), b"old");
        assert!(!dir.exists());
    }

    #[test]
    fn secrets_are_written_0600_in_a_0700_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pki");
        let mut txn = FileTxn::new();
        txn.ensure_private_dir(&dir).unwrap();
        txn.write(&dir.join("k"), b"secret", SECRET_MODE).unwrap();
        txn.commit();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("k")), 0o600);
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "temp file left behind"
        );
    }
}
