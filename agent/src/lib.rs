//! octa's amphora agent, wire-compatible with stock Octavia's (Zed).
//!
//! - `config`: the stock `amphora-agent.conf`, read leniently;
//! - `tls`: mutual TLS with a server certificate swappable without restart;
//! - `api`: the amphora API 1.0 routes with stock bodies (`respond` builds them from
//!   `octa_proto::amphora`); `plug`: VIP and member network plugging and interface lookup;
//! - `files`: uploaded certificates, the server certificate and the config file;
//! - `haproxy`: load balancers as haproxy processes (validated by `haproxy -c`), run
//!   directly in master-worker mode or as `systemd` units;
//! - `keepalived`: keepalived instances (VRRP, one per LVS listener), run directly or as
//!   `keepalived_systemd` units; `vrrp`: the `/1.0/vrrp/...` routes and the VRRP check
//!   scripts; `lvs`: the `udp_listener` routes and LVS listeners in the load balancer
//!   action, delete, listing and details routes;
//! - `heartbeat` and `stats`: the heartbeat sender with listener/pool/member status;
//! - `host` and `netops`: OS facts and network changes (through `netplumb`) behind
//!   `Host`; `ifaces`: the stock interface layout of plugged ports (VIP policy routing);
//!   `replug`: plugged ports moved back in after a reboot (`octa-agent replug`).
//!
//! It may depend on `proto`, `netplumb` and `pki` only, and must never link dialoguer,
//! openstack_sdk or sqlx: it ships inside the amphora.

pub mod api;
pub mod config;
pub mod dhcp;
pub mod files;
pub mod haproxy;
pub mod heartbeat;
pub mod host;
pub mod ifaces;
pub mod keepalived;
pub mod keepalived_systemd;
pub mod lvs;
pub mod lvs_health;
pub mod netops;
pub mod plug;
pub mod replug;
pub mod respond;
pub mod server;
pub mod stats;
pub mod systemd;
pub mod tls;
pub mod vrrp;
