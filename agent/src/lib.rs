//! octa's amphora agent, wire-compatible with stock Octavia's (Zed).
//!
//! Owns today: reading the stock `amphora-agent.conf` (`config`), mutual TLS with a
//! certificate swappable without restart (`tls`), the read-only part of the amphora API
//! 1.0 with stock bodies (`api`: discovery, info, details, listeners, certificates,
//! server-certificate rotation, config update, 404/405), uploaded files (`files`), the
//! heartbeat sender (`heartbeat`), and host facts behind `Host` (`host`).
//! haproxy load balancers (`haproxy`: upload validated by `haproxy -c`, start, stop,
//! reload, listing, deletion) run directly in master-worker mode.
//! Still to come (issue "octa-agent"): the systemd implementation and the
//! `amphora-haproxy` namespace, VIP and member plugging.
//!
//! It may depend on `proto`, `netplumb` and `pki` only, and must never link dialoguer,
//! openstack_sdk or sqlx: it ships inside the amphora.

pub mod api;
pub mod config;
pub mod files;
pub mod haproxy;
pub mod heartbeat;
pub mod host;
pub mod server;
pub mod stats;
pub mod tls;
