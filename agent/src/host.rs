//! What the agent needs to know about the machine it runs on, behind `Host` so the API
//! can be exercised with a stub (fuzzing, unit tests) and the real one reads the system.

use std::process::Command;

/// Facts about the host.
pub trait Host: Send + Sync + 'static {
    /// The host name.
    fn hostname(&self) -> String;
    /// A Debian package's version (`dpkg-query -W -f=${Version} PKG`), if installed.
    fn package_version(&self, package: &str) -> Option<String>;
    /// The contents of a file under /proc (or None).
    fn proc_file(&self, name: &str) -> Option<String>;
    /// (used, available) bytes of the root filesystem.
    fn root_disk(&self) -> Option<(u64, u64)>;
}

/// The machine itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemHost;

impl Host for SystemHost {
    fn hostname(&self) -> String {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    }

    fn package_version(&self, package: &str) -> Option<String> {
        let out = Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", package])
            .output()
            .ok()?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (out.status.success() && !version.is_empty()).then_some(version)
    }

    fn proc_file(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(format!("/proc/{name}")).ok()
    }

    fn root_disk(&self) -> Option<(u64, u64)> {
        let st = nix::sys::statvfs::statvfs("/").ok()?;
        let frag = st.fragment_size();
        let total = st.blocks() * frag;
        let free = st.blocks_free() * frag;
        Some((total.saturating_sub(free), st.blocks_available() * frag))
    }
}
