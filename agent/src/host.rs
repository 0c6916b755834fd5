//! What the agent needs to know about the machine it runs on and the network changes it
//! makes there, behind `Host` so the API can be exercised with a stub (fuzzing, unit
//! tests) and the real one reads and changes the system (`netops`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use octa_netplumb::hotplug::LinkSummary;

use crate::netops::{self, PlugPlan};

/// Facts about the host.
#[async_trait::async_trait]
pub trait Host: Send + Sync + 'static {
    /// The host name.
    fn hostname(&self) -> String;
    /// A Debian package's version (`dpkg-query -W -f=${Version} PKG`), if installed.
    fn package_version(&self, package: &str) -> Option<String>;
    /// The contents of a file under /proc (or None).
    fn proc_file(&self, name: &str) -> Option<String>;
    /// (used, available) bytes of the root filesystem.
    fn root_disk(&self) -> Option<(u64, u64)>;
    /// Links of a namespace (`None`: the agent's own).
    async fn links(&self, namespace: Option<&str>) -> Vec<LinkSummary>;
    /// Moves a link into the amphora namespace and configures it.
    async fn plug(&self, plan: &PlugPlan) -> Result<(), String>;
    /// Asks the kernel to rescan the PCI bus for a port being hot-plugged.
    fn rescan_pci(&self);
    /// Announces `addresses` on `iface` (gratuitous ARP, unsolicited NA).
    fn announce(
        &self,
        namespace: Option<&str>,
        iface: &str,
        addresses: &[IpAddr],
    ) -> Result<(), String>;
}

/// How long a package version is reused: `dpkg-query` costs ~10 ms a call and
/// `/1.0/info` needs three, while versions change only when packages are upgraded.
const VERSION_TTL: Duration = Duration::from_secs(60);

/// The machine itself.
#[derive(Debug, Default)]
pub struct SystemHost {
    versions: Mutex<HashMap<String, (Instant, Option<String>)>>,
}

impl SystemHost {
    fn query_version(package: &str) -> Option<String> {
        let out = Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", package])
            .output()
            .ok()?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (out.status.success() && !version.is_empty()).then_some(version)
    }
}

#[async_trait::async_trait]
impl Host for SystemHost {
    fn hostname(&self) -> String {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    }

    fn package_version(&self, package: &str) -> Option<String> {
        let mut cache = self
            .versions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, version)) = cache.get(package)
            && at.elapsed() < VERSION_TTL
        {
            return version.clone();
        }
        let version = Self::query_version(package);
        cache.insert(package.to_owned(), (Instant::now(), version.clone()));
        version
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

    async fn links(&self, namespace: Option<&str>) -> Vec<LinkSummary> {
        netops::links(namespace).await
    }

    async fn plug(&self, plan: &PlugPlan) -> Result<(), String> {
        netops::plug(plan).await
    }

    fn rescan_pci(&self) {
        // What stock does before its 404; a host without PCI hot-plug just says no.
        if let Err(e) = std::fs::write("/sys/bus/pci/rescan", "1") {
            tracing::debug!("PCI rescan: {e}");
        }
    }

    fn announce(
        &self,
        namespace: Option<&str>,
        iface: &str,
        addresses: &[IpAddr],
    ) -> Result<(), String> {
        netops::announce(namespace, iface, addresses)
    }
}
