//! Host network plumbing, knowing nothing of OpenStack.
//!
//! - `ovsdb`: an RFC 7047 client (no usable crate exists);
//! - `ovs`: an OVS internal port converged through OVSDB, marked as octa's own;
//! - `netns`: running netlink work inside a named network namespace;
//! - `link`: rtnetlink convergence of MAC, MTU, addresses and link state;
//! - `hotplug`: links found by MAC, moved between namespaces and configured with
//!   routes in any table and policy rules (an amphora's plugged ports);
//! - `advertise`: gratuitous ARP and unsolicited neighbour advertisements;
//! - `firewall`: an octa-owned nftables table replaced as one batch;
//! - `persist`: the state file and boot unit that re-converge all of it;
//! - `plumb`: the composite operations behind `octa net`.
//!
//! It must not depend on any other octa crate.

pub mod advertise;
pub mod error;
pub mod firewall;
pub mod hotplug;
pub mod link;
pub mod netns;
pub mod ovs;
pub mod ovsdb;
pub mod persist;
pub mod plumb;
pub mod routes;

pub(crate) use ovsdb::rows as ovsdb_rows;

pub use error::NetError;
