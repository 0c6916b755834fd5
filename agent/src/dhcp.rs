//! Dynamic addressing of a port plugged without fixed IPs, as stock's `amphora-interface`
//! does for an interface file's `dhcp`/`ipv6auto` entry: SLAAC switched on for the link
//! (`accept_ra=2`, `autoconf=1`) and ISC `dhclient` started inside the amphora namespace
//! with stock's lease and pid files. dhclient returns once it holds a lease (it then
//! stays in the background to renew it), so a plug answers with the address in place.

use std::path::Path;

use crate::haproxy::{in_namespace, output};

/// The DHCP client stock's amphora image runs.
pub const DHCLIENT: &str = "/sbin/dhclient";

/// Where stock keeps the lease of `iface`.
pub fn lease_file(iface: &str) -> String {
    format!("/var/lib/dhclient/dhclient-{iface}.leases")
}

/// Where stock keeps the pid of `iface`'s client.
pub fn pid_file(iface: &str) -> String {
    format!("/run/dhclient-{iface}.pid")
}

/// Whether the pid file names a live dhclient: a re-plug of the same port must not start
/// a second client fighting over the lease.
fn client_running(pid_file: &Path) -> bool {
    let Ok(pid) = std::fs::read_to_string(pid_file) else {
        return false;
    };
    std::fs::read(format!("/proc/{}/cmdline", pid.trim())).is_ok_and(|cmdline| {
        cmdline
            .split(|b| *b == 0)
            .any(|arg| arg.ends_with(b"dhclient"))
    })
}

/// Switches SLAAC on and starts the DHCP client for `iface`; blocking (dhclient waits
/// for its first lease), so run it off the async workers.
pub fn start(namespace: Option<&str>, iface: &str) -> Result<(), String> {
    let sysctls = [
        format!("net.ipv6.conf.{iface}.accept_ra=2"),
        format!("net.ipv6.conf.{iface}.autoconf=1"),
    ];
    // A host without IPv6 has no such keys; IPv4 DHCP still gives the port its address.
    if let Err(e) = output(in_namespace(namespace, "sysctl").arg("-qw").args(&sysctls)) {
        tracing::warn!("{iface}: SLAAC not enabled: {e}");
    }
    let pid = pid_file(iface);
    if client_running(Path::new(&pid)) {
        tracing::info!("{iface}: dhclient already running ({pid})");
        return Ok(());
    }
    let lease = lease_file(iface);
    if let Some(dir) = Path::new(&lease).parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    output(in_namespace(namespace, DHCLIENT).args(["-lf", &lease, "-pf", &pid, iface]))
        .map_err(|e| format!("{DHCLIENT} on {iface}: {e}"))
}
