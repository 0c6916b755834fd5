//! The one error type of `netplumb`, classified once (not found, conflict, timeout).

use std::io;

/// What went wrong while plumbing.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The OVSDB remote could not be reached before the deadline.
    #[error("Cannot connect to OVSDB at {remote}")]
    Connect {
        /// The remote, e.g. `unix:/run/openvswitch/db.sock`.
        remote: String,
        /// The last connection error.
        #[source]
        source: io::Error,
    },
    /// An OVSDB remote string that is neither `unix:PATH` nor `tcp:HOST:PORT`.
    #[error("Invalid OVSDB remote {remote:?}: expected unix:PATH or tcp:HOST:PORT")]
    BadRemote {
        /// The rejected remote.
        remote: String,
    },
    /// The OVSDB connection broke or answered something that is not JSON-RPC.
    #[error("OVSDB connection to {remote} failed: {reason}")]
    Protocol {
        /// The remote.
        remote: String,
        /// What happened.
        reason: String,
    },
    /// The server refused a transaction.
    #[error("OVSDB refused the transaction on {remote}: {details}")]
    Transaction {
        /// The remote.
        remote: String,
        /// The server's error and details.
        details: String,
    },
    /// A bridge that must exist does not.
    #[error("Bridge {bridge} does not exist in OVSDB (create it, or check --bridge)")]
    NoBridge {
        /// The bridge name.
        bridge: String,
    },
    /// A same-named object exists but is not ours; it is never modified.
    #[error("{what} {name} exists but is not owned by octa ({detail}); it was left untouched")]
    Foreign {
        /// Kind of object (`OVS port`, `nftables table`).
        what: &'static str,
        /// Its name.
        name: String,
        /// Why it is not ours.
        detail: String,
    },
    /// Something did not happen before its deadline.
    #[error("Timed out after {secs} s waiting for {what}")]
    Timeout {
        /// What was awaited, with a hint.
        what: String,
        /// The deadline, in seconds.
        secs: u64,
    },
    /// A netlink request failed.
    #[error("Netlink {op} on {iface} failed")]
    Netlink {
        /// The operation, e.g. `set MTU`.
        op: &'static str,
        /// The interface.
        iface: String,
        /// The kernel's answer.
        #[source]
        source: rtnetlink::Error,
    },
    /// A network namespace could not be entered.
    #[error("Cannot enter network namespace {name}")]
    Netns {
        /// The namespace name.
        name: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// An external command (`nft`, `systemctl`) failed.
    #[error("{command} failed: {stderr}")]
    Command {
        /// The command line, shortened.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A file could not be read or written.
    #[error("Cannot access {path}")]
    File {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Invalid input (MAC, CIDR, MTU, name).
    #[error("Invalid {field} {value:?}: {expected}")]
    Invalid {
        /// The field or flag.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },
}

impl NetError {
    /// Whether the error means "the thing is not there".
    pub fn is_not_found(&self) -> bool {
        match self {
            NetError::NoBridge { .. } => true,
            NetError::Netlink { source, .. } => errno(source) == Some(nix::libc::ENODEV),
            _ => false,
        }
    }

    /// Whether the error is an ownership conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, NetError::Foreign { .. })
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            NetError::Connect { .. } | NetError::Timeout { .. } | NetError::Protocol { .. }
        )
    }
}

/// The errno of a netlink error, if the kernel sent one.
pub(crate) fn errno(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        rtnetlink::Error::NetlinkError(msg) => msg.code.map(|c| -c.get()),
        _ => None,
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = NetError> = std::result::Result<T, E>;
