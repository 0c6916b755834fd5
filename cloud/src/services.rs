//! `Nova`, `Glance` and `Session` for a real cloud: flavor and keypair lookups, amphora
//! images by tag, and what the token says about the caller and the catalog.

use async_trait::async_trait;
use serde_json::Value;

use crate::api::{Glance, Nova, Result, Session};
use crate::connect::OpenStack;
use crate::error::CloudError;
use crate::model::{Flavor, Image};

fn no_service(service: &str) -> CloudError {
    CloudError::NoEndpoint {
        service: service.into(),
        interface: "any".into(),
        region: "any".into(),
    }
}

pub(crate) fn flavor(v: &Value) -> Option<Flavor> {
    Some(Flavor {
        id: v["id"].as_str()?.to_owned(),
        name: v["name"].as_str().unwrap_or_default().to_owned(),
        vcpus: v["vcpus"]
            .as_u64()
            .and_then(|x| u32::try_from(x).ok())
            .unwrap_or(0),
        ram_mib: v["ram"].as_u64().unwrap_or(0),
        disk_gib: v["disk"].as_u64().unwrap_or(0),
    })
}

pub(crate) fn image(v: &Value) -> Option<Image> {
    let strings = |k: &str| {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(Image {
        id: v["id"].as_str()?.to_owned(),
        name: v["name"].as_str().unwrap_or_default().to_owned(),
        status: v["status"].as_str().unwrap_or_default().to_owned(),
        tags: strings("tags"),
        owner: v["owner"].as_str().unwrap_or_default().to_owned(),
    })
}

#[async_trait]
impl Nova for OpenStack {
    async fn flavor(&self, id_or_name: &str) -> Result<Option<Flavor>> {
        let base = self
            .compute
            .as_deref()
            .ok_or_else(|| no_service("compute"))?;
        match self.http.get(&format!("{base}/flavors/{id_or_name}")).await {
            Ok(v) => return Ok(flavor(&v["flavor"])),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let all = self
            .http
            .get(&format!("{base}/flavors/detail?is_public=None"))
            .await?;
        Ok(all["flavors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(flavor)
            .find(|f| f.name == id_or_name))
    }

    async fn keypair_exists(&self, name: &str) -> Result<bool> {
        let base = self
            .compute
            .as_deref()
            .ok_or_else(|| no_service("compute"))?;
        match self.http.get(&format!("{base}/os-keypairs/{name}")).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Glance for OpenStack {
    async fn images_tagged(&self, tag: &str) -> Result<Vec<Image>> {
        let base = self.image.as_deref().ok_or_else(|| no_service("image"))?;
        let tag: String = url::form_urlencoded::byte_serialize(tag.as_bytes()).collect();
        let v = self.http.get(&format!("{base}/images?tag={tag}")).await?;
        Ok(v["images"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(image)
            .collect())
    }
}

#[async_trait]
impl Session for OpenStack {
    async fn whoami(&self) -> Result<(String, String)> {
        // The token was checked at connect; a cheap authenticated read proves it still works.
        self.http
            .get(&format!("{}/networks?limit=1&fields=id", self.network))
            .await?;
        Ok((self.project_id.clone(), self.user.clone()))
    }

    async fn has_service(&self, service_type: &str) -> Result<bool> {
        Ok(self.services.iter().any(|s| s == service_type))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn nova_and_glance_bodies_map_to_the_model() {
        let f = flavor(&json!({"id": "f1", "name": "amphora", "vcpus": 1, "ram": 1024, "disk": 2}))
            .unwrap();
        assert_eq!((f.vcpus, f.ram_mib, f.disk_gib), (1, 1024, 2));
        let i = image(&json!({"id": "i1", "name": "amp", "status": "active", "tags": ["amphora"], "owner": "p"})).unwrap();
        assert_eq!(i.tags, ["amphora"]);
    }
}
