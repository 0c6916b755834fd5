//! OpenStack access for octa through `openstack_sdk`: authentication from clouds.yaml
//! (`--os-cloud` / `OS_CLOUD`) or `OS_*` variables, region and interface selection, custom
//! CA bundles; Neutron, Nova and Glance behind the intent-level traits of [`api`]. Errors
//! are classified once ([`CloudError`]); 5xx and connection errors are retried with
//! backoff; every write is logged at debug with its request id. It depends on no other
//! octa crate.

pub mod api;
mod connect;
pub mod error;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
mod http;
pub mod model;
mod neutron;
mod services;

pub use api::{Glance, Neutron, Nova, Session};
pub use connect::OpenStack;
pub use error::CloudError;

use std::path::PathBuf;

/// How to reach the cloud: what `--os-cloud`, `OS_*` and a playbook's `cloud:` say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// clouds.yaml entry; `None` means the `OS_*` variables of `env`.
    pub cloud: Option<String>,
    pub region: Option<String>,
    /// `public` (default), `internal` or `admin`.
    pub interface: Option<String>,
    /// CA bundle for TLS endpoints, overriding clouds.yaml `cacert` / `OS_CACERT`.
    pub cacert: Option<PathBuf>,
    /// The process environment (`OS_*`), passed in: library code never reads `std::env`.
    pub env: Vec<(String, String)>,
}
