//! Files the controller uploads: listener/pool certificates under
//! `base_cert_dir/<lb_id>/<filename>`, the agent's own server certificate
//! (`PUT /1.0/certificate`) and its configuration (`PUT /1.0/config`).
//!
//! Path parameters arrive percent-decoded: an id or file name holding `/`, or being `.`
//! or `..`, would leave the directory, and is answered as the stock agent's router
//! answers it (it never matches such a path): the Werkzeug 404. Nothing is ever written
//! outside `base_cert_dir` or the two configured files.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

/// Whether a path parameter stays inside its directory.
pub fn safe_segment(segment: &str) -> bool {
    !segment.is_empty() && segment != "." && segment != ".." && !segment.contains(['/', '\0'])
}

/// The stock agent's loose check: a regex *search* for `(\w.)+pem`.
pub fn stock_filename_ok(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    (0..chars.len()).any(|start| {
        // One or more (word char, any char) pairs, then "pem".
        let mut i = start;
        while i + 1 < chars.len() && word(chars[i]) {
            i += 2;
            if chars[i..].starts_with(&['p', 'e', 'm']) {
                return true;
            }
        }
        false
    })
}

/// Hex MD5, the stock agent's ETag and `md5sum`.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// Where a load balancer's certificate lives.
pub fn cert_path(base_cert_dir: &Path, lb_id: &str, filename: &str) -> PathBuf {
    base_cert_dir.join(lb_id).join(filename)
}

/// Writes `bytes` to `path` (mode 0600), through a synced temporary sibling and a rename,
/// creating the parent directory.
pub fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with_mode(path, bytes, 0o600)
}

/// Writes `bytes` to `path` with `mode`, through a synced temporary sibling and a rename
/// (a reader never sees half a file), creating the parent directory.
pub fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("octa-upload");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    // The umask may have narrowed the creation mode, and a leftover may have another.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_judged_as_the_stock_regex_search_does() {
        for ok in ["a.pem", "0a1b2c.pem", "nopemhere", "x_ypem", "ab.cd.pem"] {
            assert!(stock_filename_ok(ok), "{ok}");
        }
        for bad in ["pem", ".pem", "a.txt", "", "-.pem"] {
            assert!(!stock_filename_ok(bad), "{bad}");
        }
        assert!(
            !safe_segment("..")
                && !safe_segment("a/b")
                && !safe_segment("")
                && safe_segment("lb-1")
        );
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
    }
}
