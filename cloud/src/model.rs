//! Plain data for the Neutron, Nova and Glance objects octa reads and writes: what the
//! intent-level traits take and return. Only the fields octa decides on are modelled.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// A network to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    pub name: String,
    pub description: String,
    /// `provider:network_type`; `None` lets Neutron choose (tenant network type).
    pub network_type: Option<String>,
    pub segmentation_id: Option<u32>,
    pub physical_network: Option<String>,
    pub mtu: Option<u32>,
    /// Set in the same request as the create (no window where the object is untagged).
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Visible to admins only; `None` otherwise.
    pub network_type: Option<String>,
    pub segmentation_id: Option<u32>,
    pub mtu: Option<u32>,
    pub tags: Vec<String>,
    pub status: String,
    pub subnets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetSpec {
    pub name: String,
    pub description: String,
    pub network_id: String,
    pub cidr: IpNet,
    /// `None` creates the subnet without a gateway (`gateway_ip: null`).
    pub gateway_ip: Option<IpAddr>,
    pub allocation_pools: Vec<(IpAddr, IpAddr)>,
    pub enable_dhcp: bool,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub description: String,
    pub network_id: String,
    pub cidr: IpNet,
    pub gateway_ip: Option<IpAddr>,
    pub allocation_pools: Vec<(IpAddr, IpAddr)>,
    pub enable_dhcp: bool,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupSpec {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub rules: Vec<SecurityGroupRule>,
}

/// One rule; `RuleSpec` equality is how octa decides whether a wanted rule exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RuleSpec {
    /// `ingress` or `egress`.
    pub direction: String,
    /// `IPv4` or `IPv6`.
    pub ethertype: String,
    /// `tcp`, `udp`, `icmp`, `ipv6-icmp`, or `None` for any.
    pub protocol: Option<String>,
    pub port_range_min: Option<u16>,
    pub port_range_max: Option<u16>,
    pub remote_ip_prefix: Option<IpNet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    pub id: String,
    pub security_group_id: String,
    pub spec: RuleSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIp {
    pub subnet_id: String,
    pub ip_address: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    pub name: String,
    pub description: String,
    pub network_id: String,
    pub fixed_ips: Vec<FixedIp>,
    pub device_owner: String,
    pub device_id: String,
    /// `binding:host_id`.
    pub host_id: String,
    pub security_groups: Vec<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub id: String,
    pub name: String,
    pub description: String,
    pub network_id: String,
    pub mac_address: String,
    pub fixed_ips: Vec<FixedIp>,
    pub device_owner: String,
    pub device_id: String,
    pub host_id: String,
    pub security_groups: Vec<String>,
    pub tags: Vec<String>,
    /// `ACTIVE`, `DOWN`, `BUILD`.
    pub status: String,
    /// `binding:vif_type` (`ovs`, `unbound`, `binding_failed` ...).
    pub vif_type: String,
}

/// The settable fields of a port that octa converges after creation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortUpdate {
    pub host_id: Option<String>,
    pub security_groups: Option<Vec<String>>,
    pub device_owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram_mib: u64,
    pub disk_gib: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub status: String,
    pub tags: Vec<String>,
    pub owner: String,
}

/// Network quota of the project: `None` limit means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headroom {
    pub resource: String,
    pub limit: Option<i64>,
    pub used: i64,
}
