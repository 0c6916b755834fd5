//! `Neutron` for a real cloud: REST v2.0 bodies to and from the model. Tags cannot be
//! given in a create request on Zed ("Attribute 'tags' not allowed in POST"), so creates
//! are followed by `PUT .../tags`; callers mark ownership in the description too.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::api::{Neutron, Result};
use crate::connect::OpenStack;
use crate::error::CloudError;
use crate::model::{
    FixedIp, Headroom, Network, NetworkSpec, Port, PortSpec, PortUpdate, RuleSpec, SecurityGroup,
    SecurityGroupRule, SecurityGroupSpec, Subnet, SubnetSpec,
};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn decode<T>(what: &str, parsed: Option<T>) -> Result<T> {
    parsed.ok_or_else(|| CloudError::Decode {
        what: what.to_owned(),
        message: "a field is missing or malformed".to_owned(),
    })
}

pub(crate) fn network(v: &Value) -> Option<Network> {
    Some(Network {
        id: v["id"].as_str()?.to_owned(),
        name: s(&v["name"]),
        description: s(&v["description"]),
        network_type: v["provider:network_type"].as_str().map(str::to_owned),
        segmentation_id: v["provider:segmentation_id"]
            .as_u64()
            .and_then(|x| u32::try_from(x).ok()),
        mtu: v["mtu"].as_u64().and_then(|x| u32::try_from(x).ok()),
        tags: strings(&v["tags"]),
        status: s(&v["status"]),
        subnets: strings(&v["subnets"]),
    })
}

pub(crate) fn subnet(v: &Value) -> Option<Subnet> {
    Some(Subnet {
        id: v["id"].as_str()?.to_owned(),
        name: s(&v["name"]),
        description: s(&v["description"]),
        network_id: s(&v["network_id"]),
        cidr: v["cidr"].as_str()?.parse().ok()?,
        gateway_ip: v["gateway_ip"].as_str().and_then(|g| g.parse().ok()),
        allocation_pools: v["allocation_pools"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        Some((
                            p["start"].as_str()?.parse().ok()?,
                            p["end"].as_str()?.parse().ok()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        enable_dhcp: v["enable_dhcp"].as_bool().unwrap_or(false),
        tags: strings(&v["tags"]),
    })
}

pub(crate) fn rule(v: &Value) -> Option<SecurityGroupRule> {
    let port = |k: &str| v[k].as_u64().and_then(|p| u16::try_from(p).ok());
    Some(SecurityGroupRule {
        id: v["id"].as_str()?.to_owned(),
        security_group_id: s(&v["security_group_id"]),
        spec: RuleSpec {
            direction: s(&v["direction"]),
            ethertype: s(&v["ethertype"]),
            protocol: v["protocol"].as_str().map(str::to_owned),
            port_range_min: port("port_range_min"),
            port_range_max: port("port_range_max"),
            remote_ip_prefix: v["remote_ip_prefix"].as_str().and_then(|p| p.parse().ok()),
        },
    })
}

pub(crate) fn security_group(v: &Value) -> Option<SecurityGroup> {
    Some(SecurityGroup {
        id: v["id"].as_str()?.to_owned(),
        name: s(&v["name"]),
        description: s(&v["description"]),
        tags: strings(&v["tags"]),
        rules: v["security_group_rules"]
            .as_array()
            .map(|a| a.iter().filter_map(rule).collect())
            .unwrap_or_default(),
    })
}

pub(crate) fn port(v: &Value) -> Option<Port> {
    Some(Port {
        id: v["id"].as_str()?.to_owned(),
        name: s(&v["name"]),
        description: s(&v["description"]),
        network_id: s(&v["network_id"]),
        mac_address: s(&v["mac_address"]),
        fixed_ips: v["fixed_ips"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| {
                        Some(FixedIp {
                            subnet_id: s(&f["subnet_id"]),
                            ip_address: f["ip_address"].as_str()?.parse().ok()?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        device_owner: s(&v["device_owner"]),
        device_id: s(&v["device_id"]),
        host_id: s(&v["binding:host_id"]),
        security_groups: strings(&v["security_groups"]),
        tags: strings(&v["tags"]),
        status: s(&v["status"]),
        vif_type: s(&v["binding:vif_type"]),
    })
}

fn many<T>(v: &Value, key: &str, f: fn(&Value) -> Option<T>) -> Result<Vec<T>> {
    let items = decode(key, v[key].as_array())?;
    Ok(items.iter().filter_map(f).collect())
}

/// Query-string encoding of a name (names may hold spaces and `&`).
fn q(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect()
}

impl OpenStack {
    fn n(&self, path: &str) -> String {
        format!("{}/{path}", self.network)
    }

    async fn tag_and_reload(&self, collection: &str, id: &str, tags: &[String]) -> Result<()> {
        if !tags.is_empty() {
            self.set_tags(collection, id, tags).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Neutron for OpenStack {
    async fn networks_named(&self, name: &str) -> Result<Vec<Network>> {
        let v = self
            .http
            .get(&self.n(&format!("networks?name={}", q(name))))
            .await?;
        many(&v, "networks", network)
    }

    async fn network(&self, id: &str) -> Result<Network> {
        let v = self.http.get(&self.n(&format!("networks/{id}"))).await?;
        decode("network", network(&v["network"]))
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<Network> {
        let mut body = json!({"name": spec.name, "description": spec.description});
        if let Some(t) = &spec.network_type {
            body["provider:network_type"] = json!(t);
        }
        if let Some(id) = spec.segmentation_id {
            body["provider:segmentation_id"] = json!(id);
        }
        if let Some(p) = &spec.physical_network {
            body["provider:physical_network"] = json!(p);
        }
        if let Some(m) = spec.mtu {
            body["mtu"] = json!(m);
        }
        let v = self
            .http
            .post(&self.n("networks"), &json!({"network": body}))
            .await?;
        let mut net = decode("network", network(&v["network"]))?;
        self.tag_and_reload("networks", &net.id, &spec.tags).await?;
        net.tags = spec.tags.clone();
        Ok(net)
    }

    async fn delete_network(&self, id: &str) -> Result<()> {
        self.http.delete(&self.n(&format!("networks/{id}"))).await
    }

    async fn subnets_named(&self, name: &str) -> Result<Vec<Subnet>> {
        let v = self
            .http
            .get(&self.n(&format!("subnets?name={}", q(name))))
            .await?;
        many(&v, "subnets", subnet)
    }

    async fn all_subnets(&self) -> Result<Vec<Subnet>> {
        let v = self.http.get(&self.n("subnets")).await?;
        many(&v, "subnets", subnet)
    }

    async fn create_subnet(&self, spec: &SubnetSpec) -> Result<Subnet> {
        let version = if spec.cidr.addr().is_ipv4() { 4 } else { 6 };
        let pools: Vec<Value> = spec
            .allocation_pools
            .iter()
            .map(|(a, b)| json!({"start": a.to_string(), "end": b.to_string()}))
            .collect();
        let body = json!({"subnet": {
            "name": spec.name,
            "description": spec.description,
            "network_id": spec.network_id,
            "cidr": spec.cidr.to_string(),
            "ip_version": version,
            "gateway_ip": spec.gateway_ip.map(|g| g.to_string()),
            "allocation_pools": pools,
            "enable_dhcp": spec.enable_dhcp,
        }});
        let v = self.http.post(&self.n("subnets"), &body).await?;
        let mut sub = decode("subnet", subnet(&v["subnet"]))?;
        self.tag_and_reload("subnets", &sub.id, &spec.tags).await?;
        sub.tags = spec.tags.clone();
        Ok(sub)
    }

    async fn delete_subnet(&self, id: &str) -> Result<()> {
        self.http.delete(&self.n(&format!("subnets/{id}"))).await
    }

    async fn security_groups_named(&self, name: &str) -> Result<Vec<SecurityGroup>> {
        let v = self
            .http
            .get(&self.n(&format!("security-groups?name={}", q(name))))
            .await?;
        many(&v, "security_groups", security_group)
    }

    async fn create_security_group(&self, spec: &SecurityGroupSpec) -> Result<SecurityGroup> {
        let body = json!({"security_group": {"name": spec.name, "description": spec.description}});
        let v = self.http.post(&self.n("security-groups"), &body).await?;
        let mut g = decode("security group", security_group(&v["security_group"]))?;
        self.tag_and_reload("security-groups", &g.id, &spec.tags)
            .await?;
        g.tags = spec.tags.clone();
        Ok(g)
    }

    async fn delete_security_group(&self, id: &str) -> Result<()> {
        self.http
            .delete(&self.n(&format!("security-groups/{id}")))
            .await
    }

    async fn create_rule(&self, group_id: &str, r: &RuleSpec) -> Result<SecurityGroupRule> {
        let body = json!({"security_group_rule": {
            "security_group_id": group_id,
            "direction": r.direction,
            "ethertype": r.ethertype,
            "protocol": r.protocol,
            "port_range_min": r.port_range_min,
            "port_range_max": r.port_range_max,
            "remote_ip_prefix": r.remote_ip_prefix.map(|p| p.to_string()),
        }});
        let v = self
            .http
            .post(&self.n("security-group-rules"), &body)
            .await?;
        decode("security group rule", rule(&v["security_group_rule"]))
    }

    async fn delete_rule(&self, id: &str) -> Result<()> {
        self.http
            .delete(&self.n(&format!("security-group-rules/{id}")))
            .await
    }

    async fn ports_named(&self, name: &str) -> Result<Vec<Port>> {
        let v = self
            .http
            .get(&self.n(&format!("ports?name={}", q(name))))
            .await?;
        many(&v, "ports", port)
    }

    async fn ports_on_network(&self, network_id: &str) -> Result<Vec<Port>> {
        let v = self
            .http
            .get(&self.n(&format!("ports?network_id={}", q(network_id))))
            .await?;
        many(&v, "ports", port)
    }

    async fn port(&self, id: &str) -> Result<Port> {
        let v = self.http.get(&self.n(&format!("ports/{id}"))).await?;
        decode("port", port(&v["port"]))
    }

    async fn create_port(&self, spec: &PortSpec) -> Result<Port> {
        let ips: Vec<Value> = spec
            .fixed_ips
            .iter()
            .map(|f| json!({"subnet_id": f.subnet_id, "ip_address": f.ip_address.to_string()}))
            .collect();
        let body = json!({"port": {
            "name": spec.name,
            "description": spec.description,
            "network_id": spec.network_id,
            "fixed_ips": ips,
            "device_owner": spec.device_owner,
            "device_id": spec.device_id,
            "binding:host_id": spec.host_id,
            "security_groups": spec.security_groups,
        }});
        let v = self.http.post(&self.n("ports"), &body).await?;
        let mut p = decode("port", port(&v["port"]))?;
        self.tag_and_reload("ports", &p.id, &spec.tags).await?;
        p.tags = spec.tags.clone();
        Ok(p)
    }

    async fn update_port(&self, id: &str, u: &PortUpdate) -> Result<Port> {
        let mut body = json!({});
        if let Some(h) = &u.host_id {
            body["binding:host_id"] = json!(h);
        }
        if let Some(g) = &u.security_groups {
            body["security_groups"] = json!(g);
        }
        if let Some(o) = &u.device_owner {
            body["device_owner"] = json!(o);
        }
        let v = self
            .http
            .put(&self.n(&format!("ports/{id}")), &json!({"port": body}))
            .await?;
        decode("port", port(&v["port"]))
    }

    async fn delete_port(&self, id: &str) -> Result<()> {
        self.http.delete(&self.n(&format!("ports/{id}"))).await
    }

    async fn set_tags(&self, collection: &str, id: &str, tags: &[String]) -> Result<()> {
        self.http
            .put(
                &self.n(&format!("{collection}/{id}/tags")),
                &json!({"tags": tags}),
            )
            .await
            .map(|_| ())
    }

    async fn headroom(&self) -> Result<Vec<Headroom>> {
        let v = self
            .http
            .get(&self.n(&format!("quotas/{}/details", self.project_id)))
            .await?;
        let quota = decode("quota", v["quota"].as_object())?;
        Ok(quota
            .iter()
            .map(|(resource, d)| Headroom {
                resource: resource.clone(),
                limit: d["limit"].as_i64().filter(|l| *l >= 0),
                used: d["used"].as_i64().unwrap_or(0) + d["reserved"].as_i64().unwrap_or(0),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn neutron_bodies_map_to_the_model() {
        let p = port(&json!({
            "id": "p1", "name": "hm", "description": "d", "network_id": "n1",
            "mac_address": "fa:16:3e:00:00:01",
            "fixed_ips": [{"subnet_id": "s1", "ip_address": "172.31.0.2"}],
            "device_owner": "Octavia:health-mgr", "device_id": "x",
            "binding:host_id": "ctl1", "binding:vif_type": "ovs",
            "security_groups": ["g1"], "tags": ["octa:d"], "status": "ACTIVE"
        }))
        .unwrap();
        assert_eq!(p.host_id, "ctl1");
        assert_eq!(p.fixed_ips[0].ip_address.to_string(), "172.31.0.2");
        let sn = subnet(&json!({"id": "s", "cidr": "172.31.0.0/24", "gateway_ip": null,
            "allocation_pools": [{"start": "172.31.0.10", "end": "172.31.0.254"}], "enable_dhcp": true}))
        .unwrap();
        assert!(sn.gateway_ip.is_none());
        assert_eq!(sn.allocation_pools.len(), 1);
        let r = rule(
            &json!({"id": "r", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": 9443, "port_range_max": 9443, "remote_ip_prefix": "172.31.0.2/32"}),
        )
        .unwrap();
        assert_eq!(r.spec.port_range_min, Some(9443));
        assert!(network(&json!({"name": "no id"})).is_none());
    }

    #[test]
    fn names_are_query_encoded() {
        assert_eq!(q("lb mgmt&x"), "lb+mgmt%26x");
    }
}
