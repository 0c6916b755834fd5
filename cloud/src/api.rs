//! The intent-level traits the installer calls. `OpenStack` (crate root) implements them
//! against a real cloud; `fake::FakeCloud` keeps consistent in-memory state for unit tests
//! of callers.

use async_trait::async_trait;

use crate::error::CloudError;
use crate::model::{
    Flavor, Headroom, Image, Network, NetworkSpec, Port, PortSpec, PortUpdate, RuleSpec,
    SecurityGroup, SecurityGroupRule, SecurityGroupSpec, Subnet, SubnetSpec,
};

pub type Result<T> = std::result::Result<T, CloudError>;

/// Neutron, as the installer needs it. Deletes of a missing object return an error whose
/// `is_not_found()` is true; callers doing undo treat it as success.
#[async_trait]
pub trait Neutron: Send + Sync {
    /// Networks with exactly this name (Neutron names are not unique).
    async fn networks_named(&self, name: &str) -> Result<Vec<Network>>;
    async fn network(&self, id: &str) -> Result<Network>;
    async fn create_network(&self, spec: &NetworkSpec) -> Result<Network>;
    async fn delete_network(&self, id: &str) -> Result<()>;

    async fn subnets_named(&self, name: &str) -> Result<Vec<Subnet>>;
    /// Every subnet the caller can see (for CIDR overlap checks and defaults).
    async fn all_subnets(&self) -> Result<Vec<Subnet>>;
    async fn create_subnet(&self, spec: &SubnetSpec) -> Result<Subnet>;
    async fn delete_subnet(&self, id: &str) -> Result<()>;

    async fn security_groups_named(&self, name: &str) -> Result<Vec<SecurityGroup>>;
    async fn create_security_group(&self, spec: &SecurityGroupSpec) -> Result<SecurityGroup>;
    async fn delete_security_group(&self, id: &str) -> Result<()>;
    async fn create_rule(&self, group_id: &str, rule: &RuleSpec) -> Result<SecurityGroupRule>;
    async fn delete_rule(&self, id: &str) -> Result<()>;

    async fn ports_named(&self, name: &str) -> Result<Vec<Port>>;
    async fn ports_on_network(&self, network_id: &str) -> Result<Vec<Port>>;
    async fn port(&self, id: &str) -> Result<Port>;
    async fn create_port(&self, spec: &PortSpec) -> Result<Port>;
    async fn update_port(&self, id: &str, update: &PortUpdate) -> Result<Port>;
    async fn delete_port(&self, id: &str) -> Result<()>;

    /// Replaces the tags of `id` in `collection` (`networks`, `subnets`, `security-groups`,
    /// `ports`).
    async fn set_tags(&self, collection: &str, id: &str, tags: &[String]) -> Result<()>;

    /// Network, subnet, port and security-group quota of the authenticated project.
    async fn headroom(&self) -> Result<Vec<Headroom>>;
}

/// Nova flavors (and keypairs) as the amphora-assets step checks them.
#[async_trait]
pub trait Nova: Send + Sync {
    /// A flavor by id or name; `None` when there is none.
    async fn flavor(&self, id_or_name: &str) -> Result<Option<Flavor>>;
    async fn keypair_exists(&self, name: &str) -> Result<bool>;
}

/// Glance as Octavia uses it: amphora images found by tag.
#[async_trait]
pub trait Glance: Send + Sync {
    async fn images_tagged(&self, tag: &str) -> Result<Vec<Image>>;
}

/// Who we are in the cloud (for messages and the preflight step).
#[async_trait]
pub trait Session: Send + Sync {
    /// `(project_id, user name or id)` of the current token; fails if auth fails.
    async fn whoami(&self) -> Result<(String, String)>;
    /// Whether the catalog lists `service_type` (e.g. `compute`, `image`).
    async fn has_service(&self, service_type: &str) -> Result<bool>;
}
