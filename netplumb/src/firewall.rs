//! An octa-owned nftables table for the health-manager interface, replaced as one batch.
//!
//! On that interface it accepts heartbeats (UDP 5555 by default), replies to connections
//! the controller opened (the amphora agent API), and ICMP/ICMPv6 (neighbour discovery),
//! and drops everything else arriving there: the management network is reachable from
//! every amphora, which serves tenants. Nothing else on the host is filtered. The table's
//! comment carries the owner mark; a same-named table without it is refused.
//!
//! The rules are written in exactly the form `nft list table` prints them, so a
//! converged table compares equal and is not rewritten.
//!
//! Why the `nft` binary and not a crate: the `nftables` crate (0.6) is typed JSON around
//! the same `nft -j` binary, so it removes no runtime dependency; four rules in the
//! listing's own text form need no schema types, and compare byte for byte with what
//! the kernel reports. A netlink (libnftnl-style) implementation would be far more code
//! for no gain here.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{NetError, Result};

/// The desired table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FirewallSpec {
    /// Table name (family `inet`).
    pub table: String,
    /// Interface the rules apply to.
    pub iface: String,
    /// Heartbeat UDP port.
    pub udp_port: u16,
    /// Owner mark, kept in the table's comment.
    pub owner: String,
}

/// The default table name.
pub const DEFAULT_TABLE: &str = "octa_hm";

impl FirewallSpec {
    /// The table exactly as `nft list table inet NAME` prints it.
    pub fn ruleset(&self) -> String {
        let i = &self.iface;
        format!(
            "table inet {table} {{\n\tcomment \"octa-owner={owner}\"\n\tchain input {{\n\
             \t\ttype filter hook input priority filter; policy accept;\n\
             \t\tiifname \"{i}\" ct state established,related accept\n\
             \t\tiifname \"{i}\" udp dport {port} accept\n\
             \t\tiifname \"{i}\" meta l4proto {{ icmp, ipv6-icmp }} accept\n\
             \t\tiifname \"{i}\" drop\n\t}}\n}}\n",
            table = self.table,
            owner = self.owner,
            port = self.udp_port,
        )
    }
}

fn nft(netns: Option<&str>, args: &[&str], stdin: Option<&str>) -> Result<(bool, String, String)> {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "nft"]);
            c
        }
        None => Command::new("nft"),
    };
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let spawn_err = |source| NetError::Command {
        command: format!("nft {}", args.join(" ")),
        stderr: format!("{source}"),
    };
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).map_err(spawn_err)?;
    }
    let out = child.wait_with_output().map_err(spawn_err)?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    ))
}

/// The table as nft lists it, or `None` when it does not exist.
pub fn observe_firewall(netns: Option<&str>, table: &str) -> Result<Option<String>> {
    let (ok, out, _) = nft(netns, &["list", "table", "inet", table], None)?;
    Ok(ok.then_some(out))
}

fn check_ours(spec_owner: &str, table: &str, listing: &str) -> Result<()> {
    let mark = format!("comment \"octa-owner={spec_owner}\"");
    if listing.lines().any(|l| l.trim() == mark) {
        return Ok(());
    }
    Err(NetError::Foreign {
        what: "nftables table",
        name: format!("inet {table}"),
        detail: format!("its comment is not octa-owner={spec_owner}"),
    })
}

/// Converges the table; true when it was (re)written.
pub fn ensure_firewall(netns: Option<&str>, spec: &FirewallSpec) -> Result<bool> {
    let wanted = spec.ruleset();
    if let Some(current) = observe_firewall(netns, &spec.table)? {
        check_ours(&spec.owner, &spec.table, &current)?;
        if current == wanted {
            return Ok(false);
        }
    }
    // One batch: create (so the delete cannot fail), delete, recreate. nft applies it
    // atomically: there is no moment without the table.
    let batch = format!(
        "table inet {t}\ndelete table inet {t}\n{wanted}",
        t = spec.table
    );
    let (ok, _, err) = nft(netns, &["-f", "-"], Some(&batch))?;
    if !ok {
        return Err(NetError::Command {
            command: "nft -f -".to_owned(),
            stderr: err,
        });
    }
    Ok(true)
}

/// Removes the table if it is ours; absent is success.
pub fn ensure_firewall_absent(netns: Option<&str>, table: &str, owner: &str) -> Result<bool> {
    let Some(current) = observe_firewall(netns, table)? else {
        return Ok(false);
    };
    check_ours(owner, table, &current)?;
    let (ok, _, err) = nft(netns, &["delete", "table", "inet", table], None)?;
    if !ok {
        return Err(NetError::Command {
            command: format!("nft delete table inet {table}"),
            stderr: err,
        });
    }
    Ok(true)
}
