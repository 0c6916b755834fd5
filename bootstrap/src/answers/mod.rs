//! `Answers`: the one model of an install. Guided prompts, playbooks (YAML) and flags all
//! fill this struct; every step reads only from it. Loading and validation of playbook
//! files lives in `answers::load` (see `playbooks/README.md` for the format), checks in
//! `answers::validate`, writing back and the digest in `Answers::to_yaml` / `Answers::digest`.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

mod error;
mod index;
mod load;
mod save;
mod validate;

pub use error::{Located, LocatedProblem, PlaybookError};
pub use index::Position;
pub use load::{Playbook, load, parse};
pub use validate::{Problem, validate};

/// Playbook format version this build reads and writes.
pub const PLAYBOOK_VERSION: u32 = 1;

/// Everything an install needs to know. Field defaults are the values an operator gets when
/// a key is left out of the playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    pub version: u32,
    /// Ownership id written into every Neutron tag and OVSDB `external_ids` this install
    /// creates. Generated at the first install (and kept in the state file) unless given;
    /// controllers of one deployment share it (multi-controller playbooks set it).
    #[serde(default)]
    pub deployment: Option<String>,
    /// The clouds.yaml entry; `None` means the `OS_*` variables.
    #[serde(default)]
    pub cloud: Option<CloudAnswers>,
    #[serde(default = "defaults::state_dir")]
    pub state_dir: PathBuf,
    /// `binding:host_id` of this controller's health-manager port; the host name if unset.
    #[serde(default)]
    pub host: Option<String>,
    pub mgmt_network: MgmtNetwork,
    #[serde(default)]
    pub interface: Interface,
    #[serde(default)]
    pub security_groups: SecurityGroups,
    #[serde(default)]
    pub pki: PkiAnswers,
    #[serde(default)]
    pub health_manager: HealthManager,
    /// Checks of the amphora flavor, image tag and keypair; skipped when absent.
    #[serde(default)]
    pub amphora: Option<Amphora>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudAnswers {
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint interface: `public`, `internal` or `admin`.
    #[serde(default)]
    pub interface: Option<String>,
    /// CA bundle for the cloud's TLS endpoints (overrides clouds.yaml `cacert`).
    #[serde(default)]
    pub cacert: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MgmtNetwork {
    #[serde(default = "defaults::network_name")]
    pub name: String,
    #[serde(default = "defaults::subnet_name")]
    pub subnet_name: String,
    /// `vxlan` (default), `geneve`, `vlan` or `flat`.
    #[serde(rename = "type", default = "defaults::network_type")]
    pub network_type: String,
    #[serde(default)]
    pub segmentation_id: Option<u32>,
    /// Only for `vlan` and `flat`.
    #[serde(default)]
    pub physical_network: Option<String>,
    pub cidr: IpNet,
    /// Addresses Neutron hands to amphorae; default: from the 10th address to the last.
    #[serde(default)]
    pub allocation_pool: Option<AllocationPool>,
    /// Neutron's choice unless set.
    #[serde(default)]
    pub mtu: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationPool {
    pub start: IpAddr,
    pub end: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    #[serde(default = "defaults::iface_name")]
    pub name: String,
    #[serde(default = "defaults::bridge")]
    pub bridge: String,
    #[serde(default = "defaults::ovsdb")]
    pub ovsdb: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroups {
    #[serde(default = "defaults::amp_sg")]
    pub amphora: String,
    #[serde(default = "defaults::hm_sg")]
    pub health_manager: String,
    /// Also allow SSH (TCP 22) to amphorae from the health-manager addresses.
    #[serde(default)]
    pub amphora_ssh: bool,
    /// Also allow ICMP to amphorae from the management subnet.
    #[serde(default = "defaults::yes")]
    pub amphora_icmp: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PkiAnswers {
    #[serde(default = "defaults::pki_dir")]
    pub dir: PathBuf,
    /// `rsa4096` (default) or `ec-p384`, for both CA keys.
    #[serde(default = "defaults::key_type")]
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthManager {
    /// UDP port heartbeats are sent to.
    #[serde(default = "defaults::hm_port")]
    pub port: u16,
    /// This controller's address on the management subnet; default: the subnet's 2nd address.
    #[serde(default)]
    pub address: Option<IpAddr>,
    /// Name of this controller's Neutron port; default `octavia-health-manager-<host>-listen-port`.
    #[serde(default)]
    pub port_name: Option<String>,
    /// Health-manager addresses of the other controllers of this deployment
    /// (they join `controller_ip_port_list` and may reach amphorae on TCP 9443).
    #[serde(default)]
    pub peers: Vec<IpAddr>,
    /// File holding the heartbeat key; generated (random, 0600) under `state_dir` unless given.
    #[serde(default)]
    pub heartbeat_key_file: Option<PathBuf>,
    /// Write the `inet octa_hm` nftables table on the interface.
    #[serde(default = "defaults::yes")]
    pub firewall: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Amphora {
    #[serde(default)]
    pub flavor: Option<String>,
    #[serde(default)]
    pub image_tag: Option<String>,
    #[serde(default)]
    pub keypair: Option<String>,
}

impl Default for Interface {
    fn default() -> Self {
        Interface {
            name: defaults::iface_name(),
            bridge: defaults::bridge(),
            ovsdb: defaults::ovsdb(),
        }
    }
}

impl Default for SecurityGroups {
    fn default() -> Self {
        SecurityGroups {
            amphora: defaults::amp_sg(),
            health_manager: defaults::hm_sg(),
            amphora_ssh: false,
            amphora_icmp: true,
        }
    }
}

impl Default for PkiAnswers {
    fn default() -> Self {
        PkiAnswers {
            dir: defaults::pki_dir(),
            key_type: defaults::key_type(),
        }
    }
}

impl Default for HealthManager {
    fn default() -> Self {
        HealthManager {
            port: defaults::hm_port(),
            address: None,
            port_name: None,
            peers: Vec::new(),
            heartbeat_key_file: None,
            firewall: true,
        }
    }
}

/// Defaults, named so that `serde(default = ...)` and the guided prompts share them.
pub mod defaults {
    use std::path::PathBuf;

    pub fn state_dir() -> PathBuf {
        PathBuf::from("/var/lib/octa")
    }
    pub fn network_name() -> String {
        "lb-mgmt-net".into()
    }
    pub fn subnet_name() -> String {
        "lb-mgmt-subnet".into()
    }
    pub fn network_type() -> String {
        "vxlan".into()
    }
    pub fn iface_name() -> String {
        "o-hm0".into()
    }
    pub fn bridge() -> String {
        "br-int".into()
    }
    pub fn ovsdb() -> String {
        "unix:/var/run/openvswitch/db.sock".into()
    }
    pub fn amp_sg() -> String {
        "lb-mgmt-sec-grp".into()
    }
    pub fn hm_sg() -> String {
        "lb-health-mgr-sec-grp".into()
    }
    pub fn pki_dir() -> PathBuf {
        PathBuf::from("/etc/octa/pki")
    }
    pub fn key_type() -> String {
        "rsa4096".into()
    }
    pub fn hm_port() -> u16 {
        5555
    }
    pub fn yes() -> bool {
        true
    }
}

impl Answers {
    /// This controller's health-manager address: the answer, or the subnet's 2nd address
    /// (the 1st is left for a router an operator may add later).
    pub fn hm_address(&self) -> IpAddr {
        self.health_manager
            .address
            .unwrap_or_else(|| nth_host(&self.mgmt_network.cidr, 2))
    }

    /// The allocation pool Neutron hands out: the answer, or the 10th address to the last
    /// usable one, which keeps the first addresses free for health-manager ports.
    pub fn allocation_pool(&self) -> AllocationPool {
        self.mgmt_network.allocation_pool.unwrap_or_else(|| {
            let cidr = &self.mgmt_network.cidr;
            AllocationPool {
                start: nth_host(cidr, 10),
                end: last_host(cidr),
            }
        })
    }

    /// Name of this controller's health-manager port in Neutron.
    pub fn hm_port_name(&self, host: &str) -> String {
        self.health_manager
            .port_name
            .clone()
            .unwrap_or_else(|| format!("octavia-health-manager-{host}-listen-port"))
    }

    /// Every controller's health-manager address: ours first, then the peers.
    pub fn controller_addresses(&self) -> Vec<IpAddr> {
        let mut all = vec![self.hm_address()];
        all.extend(self.health_manager.peers.iter().copied());
        all
    }
}

/// The `n`th address of `net` (0 is the network address itself).
pub fn nth_host(net: &IpNet, n: u32) -> IpAddr {
    match net {
        IpNet::V4(v4) => IpAddr::V4((u32::from(v4.network()).wrapping_add(n)).into()),
        IpNet::V6(v6) => IpAddr::V6((u128::from(v6.network()).wrapping_add(u128::from(n))).into()),
    }
}

/// The last address Neutron may allocate in `net` (the broadcast address excluded for IPv4).
pub fn last_host(net: &IpNet) -> IpAddr {
    match net {
        IpNet::V4(v4) => IpAddr::V4((u32::from(v4.broadcast()).wrapping_sub(1)).into()),
        IpNet::V6(v6) => IpAddr::V6(v6.broadcast()),
    }
}
