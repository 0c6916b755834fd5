//! Host network plumbing, knowing nothing of OpenStack.
//!
//! Will own (issue "netplumb: the health-manager interface on br-int"):
//! - `ovsdb`: an RFC 7047 client (no usable crate exists) and `ensure_internal_port`;
//! - `link`: rtnetlink operations (MAC, MTU, addresses, up), opened inside a namespace
//!   through a guard on a dedicated thread;
//! - `firewall`: an octa-owned nftables table replaced as one batch;
//! - `persist`: the boot unit that re-converges the interface and the firewall.
//!
//! It must not depend on any other octa crate.
