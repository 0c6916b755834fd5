//! `FakeCloud`: an in-memory Neutron (plus empty Nova and Glance) with consistent state,
//! for unit tests of the callers of this crate's traits. It counts writes, answers 404 for
//! missing objects and 409 for deleting a network that still has ports, as Neutron does.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::api::{Glance, Neutron, Nova, Result, Session};
use crate::error::CloudError;
use crate::model::{
    Flavor, Headroom, Image, Network, NetworkSpec, Port, PortSpec, PortUpdate, RuleSpec,
    SecurityGroup, SecurityGroupRule, SecurityGroupSpec, Subnet, SubnetSpec,
};

#[derive(Default)]
struct State {
    next: u64,
    networks: Vec<Network>,
    subnets: Vec<Subnet>,
    groups: Vec<SecurityGroup>,
    ports: Vec<Port>,
    writes: u64,
}

/// See the module doc.
#[derive(Default)]
pub struct FakeCloud {
    state: Mutex<State>,
}

fn status(code: u16, what: &str) -> CloudError {
    CloudError::Http {
        method: "FAKE".into(),
        url: what.into(),
        status: code,
        request_id: None,
        message: format!("fake: {what}"),
    }
}

impl FakeCloud {
    /// Write requests served so far (creates, updates, deletes, tag changes).
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write<T>(&self, f: impl FnOnce(&mut State, String) -> Result<T>) -> Result<T> {
        let mut s = self.lock();
        s.writes += 1;
        s.next += 1;
        let id = format!("fake-{}", s.next);
        f(&mut s, id)
    }
}

#[async_trait]
impl Neutron for FakeCloud {
    async fn networks_named(&self, name: &str) -> Result<Vec<Network>> {
        Ok(self
            .lock()
            .networks
            .iter()
            .filter(|n| n.name == name)
            .cloned()
            .collect())
    }
    async fn network(&self, id: &str) -> Result<Network> {
        self.lock()
            .networks
            .iter()
            .find(|n| n.id == id)
            .cloned()
            .ok_or_else(|| status(404, id))
    }
    async fn create_network(&self, spec: &NetworkSpec) -> Result<Network> {
        self.write(|s, id| {
            let n = Network {
                id,
                name: spec.name.clone(),
                description: spec.description.clone(),
                network_type: spec.network_type.clone(),
                segmentation_id: spec.segmentation_id,
                mtu: spec.mtu.or(Some(1450)),
                tags: spec.tags.clone(),
                status: "ACTIVE".into(),
                subnets: Vec::new(),
            };
            s.networks.push(n.clone());
            Ok(n)
        })
    }
    async fn delete_network(&self, id: &str) -> Result<()> {
        self.write(|s, _| {
            if s.ports.iter().any(|p| p.network_id == id) {
                return Err(status(409, id));
            }
            let before = s.networks.len();
            s.networks.retain(|n| n.id != id);
            s.subnets.retain(|x| x.network_id != id);
            if s.networks.len() == before {
                Err(status(404, id))
            } else {
                Ok(())
            }
        })
    }
    async fn subnets_named(&self, name: &str) -> Result<Vec<Subnet>> {
        Ok(self
            .lock()
            .subnets
            .iter()
            .filter(|n| n.name == name)
            .cloned()
            .collect())
    }
    async fn all_subnets(&self) -> Result<Vec<Subnet>> {
        Ok(self.lock().subnets.clone())
    }
    async fn create_subnet(&self, spec: &SubnetSpec) -> Result<Subnet> {
        self.write(|s, id| {
            let n = Subnet {
                id,
                name: spec.name.clone(),
                description: spec.description.clone(),
                network_id: spec.network_id.clone(),
                cidr: spec.cidr,
                gateway_ip: spec.gateway_ip,
                allocation_pools: spec.allocation_pools.clone(),
                enable_dhcp: spec.enable_dhcp,
                tags: spec.tags.clone(),
            };
            s.subnets.push(n.clone());
            Ok(n)
        })
    }
    async fn delete_subnet(&self, id: &str) -> Result<()> {
        self.write(|s, _| {
            let before = s.subnets.len();
            s.subnets.retain(|n| n.id != id);
            if s.subnets.len() == before {
                Err(status(404, id))
            } else {
                Ok(())
            }
        })
    }
    async fn security_groups_named(&self, name: &str) -> Result<Vec<SecurityGroup>> {
        Ok(self
            .lock()
            .groups
            .iter()
            .filter(|n| n.name == name)
            .cloned()
            .collect())
    }
    async fn create_security_group(&self, spec: &SecurityGroupSpec) -> Result<SecurityGroup> {
        self.write(|s, id| {
            let g = SecurityGroup {
                id,
                name: spec.name.clone(),
                description: spec.description.clone(),
                tags: spec.tags.clone(),
                rules: Vec::new(),
            };
            s.groups.push(g.clone());
            Ok(g)
        })
    }
    async fn delete_security_group(&self, id: &str) -> Result<()> {
        self.write(|s, _| {
            let before = s.groups.len();
            s.groups.retain(|n| n.id != id);
            if s.groups.len() == before {
                Err(status(404, id))
            } else {
                Ok(())
            }
        })
    }
    async fn create_rule(&self, group_id: &str, rule: &RuleSpec) -> Result<SecurityGroupRule> {
        self.write(|s, id| {
            let g = s
                .groups
                .iter_mut()
                .find(|g| g.id == group_id)
                .ok_or_else(|| status(404, group_id))?;
            if g.rules.iter().any(|r| r.spec == *rule) {
                return Err(status(409, "duplicate rule"));
            }
            let r = SecurityGroupRule {
                id,
                security_group_id: group_id.into(),
                spec: rule.clone(),
            };
            g.rules.push(r.clone());
            Ok(r)
        })
    }
    async fn delete_rule(&self, id: &str) -> Result<()> {
        self.write(|s, _| {
            for g in &mut s.groups {
                g.rules.retain(|r| r.id != id);
            }
            Ok(())
        })
    }
    async fn ports_named(&self, name: &str) -> Result<Vec<Port>> {
        Ok(self
            .lock()
            .ports
            .iter()
            .filter(|n| n.name == name)
            .cloned()
            .collect())
    }
    async fn ports_on_network(&self, network_id: &str) -> Result<Vec<Port>> {
        Ok(self
            .lock()
            .ports
            .iter()
            .filter(|n| n.network_id == network_id)
            .cloned()
            .collect())
    }
    async fn port(&self, id: &str) -> Result<Port> {
        self.lock()
            .ports
            .iter()
            .find(|p| p.id == id)
            .cloned()
            .ok_or_else(|| status(404, id))
    }
    async fn create_port(&self, spec: &PortSpec) -> Result<Port> {
        self.write(|s, id| {
            let p = Port {
                mac_address: format!("fa:16:3e:00:00:{:02x}", s.next % 256),
                id,
                name: spec.name.clone(),
                description: spec.description.clone(),
                network_id: spec.network_id.clone(),
                fixed_ips: spec.fixed_ips.clone(),
                device_owner: spec.device_owner.clone(),
                device_id: spec.device_id.clone(),
                host_id: spec.host_id.clone(),
                security_groups: spec.security_groups.clone(),
                tags: spec.tags.clone(),
                status: "DOWN".into(),
                vif_type: "unbound".into(),
            };
            s.ports.push(p.clone());
            Ok(p)
        })
    }
    async fn update_port(&self, id: &str, u: &PortUpdate) -> Result<Port> {
        self.write(|s, _| {
            let p = s
                .ports
                .iter_mut()
                .find(|p| p.id == id)
                .ok_or_else(|| status(404, id))?;
            if let Some(h) = &u.host_id {
                p.host_id = h.clone();
            }
            if let Some(g) = &u.security_groups {
                p.security_groups = g.clone();
            }
            if let Some(o) = &u.device_owner {
                p.device_owner = o.clone();
            }
            Ok(p.clone())
        })
    }
    async fn delete_port(&self, id: &str) -> Result<()> {
        self.write(|s, _| {
            let before = s.ports.len();
            s.ports.retain(|n| n.id != id);
            if s.ports.len() == before {
                Err(status(404, id))
            } else {
                Ok(())
            }
        })
    }
    async fn set_tags(&self, collection: &str, id: &str, tags: &[String]) -> Result<()> {
        self.write(|s, _| {
            let slot = match collection {
                "networks" => s
                    .networks
                    .iter_mut()
                    .find(|x| x.id == id)
                    .map(|x| &mut x.tags),
                "subnets" => s
                    .subnets
                    .iter_mut()
                    .find(|x| x.id == id)
                    .map(|x| &mut x.tags),
                "security-groups" => s
                    .groups
                    .iter_mut()
                    .find(|x| x.id == id)
                    .map(|x| &mut x.tags),
                "ports" => s.ports.iter_mut().find(|x| x.id == id).map(|x| &mut x.tags),
                _ => None,
            };
            *slot.ok_or_else(|| status(404, id))? = tags.to_vec();
            Ok(())
        })
    }
    async fn headroom(&self) -> Result<Vec<Headroom>> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl Nova for FakeCloud {
    async fn flavor(&self, _id_or_name: &str) -> Result<Option<Flavor>> {
        Ok(None)
    }
    async fn keypair_exists(&self, _name: &str) -> Result<bool> {
        Ok(false)
    }
}

#[async_trait]
impl Glance for FakeCloud {
    async fn images_tagged(&self, _tag: &str) -> Result<Vec<Image>> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl Session for FakeCloud {
    async fn whoami(&self) -> Result<(String, String)> {
        Ok(("fake-project".into(), "fake-user".into()))
    }
    async fn has_service(&self, service_type: &str) -> Result<bool> {
        Ok(service_type == "network")
    }
}
