//! Connecting: cloud configuration from a clouds.yaml entry or from `OS_*` variables,
//! authentication through `openstack_sdk` (its on-disk token cache disabled, so nothing is
//! written under ~/.osc), then endpoint selection from the token's catalog by interface and
//! region. Neutron's catalog entry is usually unversioned (`http://host:9696`); the
//! version is resolved from the service's own version document (`GET /` lists `v2.0` as
//! CURRENT with its self link), so no endpoint override is ever asked of the operator.
//!
//! The SDK's clouds.yaml search reads the process environment and the standard paths
//! (`./clouds.yaml`, `~/.config/openstack`, `/etc/openstack`) itself; `OS_CLIENT_CONFIG_FILE`
//! from [`ConnectOptions::env`] is added explicitly.

use std::path::PathBuf;
use std::time::Duration;

use openstack_sdk::AsyncOpenStack;
use openstack_sdk::config::{Auth, CloudConfig, ConfigFile};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::ConnectOptions;
use crate::error::CloudError;
use crate::http::Http;

/// A connected cloud: the token, the versioned base URL of each service used, and who we are.
pub struct OpenStack {
    pub(crate) http: Http,
    pub(crate) network: String,
    pub(crate) compute: Option<String>,
    pub(crate) image: Option<String>,
    pub(crate) project_id: String,
    pub(crate) user: String,
    pub(crate) services: Vec<String>,
}

fn env<'a>(opts: &'a ConnectOptions, key: &str) -> Option<&'a str> {
    opts.env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn config_error(message: impl Into<String>) -> CloudError {
    CloudError::Config {
        message: message.into(),
    }
}

/// The cloud configuration the options name.
fn cloud_config(opts: &ConnectOptions) -> Result<CloudConfig, CloudError> {
    let mut cfg = match &opts.cloud {
        Some(name) => {
            let extra = env(opts, "OS_CLIENT_CONFIG_FILE").map(PathBuf::from);
            if let Some(f) = &extra
                && !f.is_file()
            {
                return Err(config_error(format!(
                    "OS_CLIENT_CONFIG_FILE={} does not exist",
                    f.display()
                )));
            }
            let files = ConfigFile::new_with_user_specified_configs(extra, None::<PathBuf>)
                .map_err(|e| config_error(format!("reading clouds.yaml: {e}")))?;
            let found = files
                .get_cloud_config(name)
                .map_err(|e| config_error(format!("reading cloud {name}: {e}")))?;
            found.ok_or_else(|| {
                let known = files.get_available_clouds();
                config_error(format!(
                    "no cloud named {name:?} in clouds.yaml (known: {}); searched ./clouds.yaml, ~/.config/openstack, /etc/openstack and OS_CLIENT_CONFIG_FILE",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ))
            })?
        }
        None => from_env(opts)?,
    };
    if let Some(r) = &opts.region {
        cfg.region_name = Some(r.clone());
    }
    if let Some(i) = &opts.interface {
        cfg.interface = Some(i.clone());
    }
    if let Some(c) = &opts.cacert {
        cfg.cacert = Some(c.display().to_string());
    }
    Ok(cfg)
}

/// `OS_*` variables as a cloud configuration (what `openstack` does with an RC file).
fn from_env(opts: &ConnectOptions) -> Result<CloudConfig, CloudError> {
    let get = |k: &str| env(opts, k).map(str::to_owned);
    let auth_url = get("OS_AUTH_URL").ok_or_else(|| {
        config_error("no cloud given and OS_AUTH_URL is not set: set cloud.name in the playbook, --os-cloud, or source an openrc file")
    })?;
    let auth = Auth {
        auth_url: Some(auth_url),
        username: get("OS_USERNAME"),
        user_id: get("OS_USER_ID"),
        password: get("OS_PASSWORD").map(SecretString::from),
        user_domain_name: get("OS_USER_DOMAIN_NAME"),
        user_domain_id: get("OS_USER_DOMAIN_ID"),
        project_name: get("OS_PROJECT_NAME").or_else(|| get("OS_TENANT_NAME")),
        project_id: get("OS_PROJECT_ID").or_else(|| get("OS_TENANT_ID")),
        project_domain_name: get("OS_PROJECT_DOMAIN_NAME"),
        project_domain_id: get("OS_PROJECT_DOMAIN_ID"),
        token: get("OS_TOKEN").map(SecretString::from),
        application_credential_id: get("OS_APPLICATION_CREDENTIAL_ID"),
        application_credential_name: get("OS_APPLICATION_CREDENTIAL_NAME"),
        application_credential_secret: get("OS_APPLICATION_CREDENTIAL_SECRET")
            .map(SecretString::from),
        ..Auth::default()
    };
    Ok(CloudConfig {
        auth: Some(auth),
        auth_type: get("OS_AUTH_TYPE"),
        interface: get("OS_INTERFACE").or_else(|| Some("public".into())),
        region_name: get("OS_REGION_NAME"),
        cacert: get("OS_CACERT"),
        ..CloudConfig::default()
    })
}

/// The catalog URL of `service_type` for `interface` (and `region`, when given).
fn catalog_url(
    catalog: &Value,
    service_type: &str,
    interface: &str,
    region: Option<&str>,
) -> Option<String> {
    let service = catalog
        .as_array()?
        .iter()
        .find(|s| s["type"] == service_type)?;
    service["endpoints"]
        .as_array()?
        .iter()
        .find(|e| {
            e["interface"] == interface
                && region.is_none_or(|r| e["region"] == r || e["region_id"] == r)
        })
        .and_then(|e| e["url"].as_str())
        .map(|u| u.trim_end_matches('/').to_owned())
}

impl OpenStack {
    /// Authenticates and resolves the endpoints octa uses.
    pub async fn connect(opts: &ConnectOptions) -> Result<OpenStack, CloudError> {
        let cfg = cloud_config(opts)?;
        let auth_url = cfg
            .auth
            .as_ref()
            .and_then(|a| a.auth_url.clone())
            .unwrap_or_else(|| "<no auth_url>".into());
        let interface = cfg.interface.clone().unwrap_or_else(|| "public".into());
        let region = cfg.region_name.clone();
        let cacert = cfg.cacert.clone().map(PathBuf::from);
        let sdk = AsyncOpenStack::builder(&cfg)
            .disable_auth_cache(true)
            .http_timeout(Duration::from_secs(60))
            .connect()
            .await;
        let sdk = match sdk {
            Ok(s) => s,
            Err(e) if !reachable(&auth_url).await => {
                return Err(CloudError::Transport {
                    method: "POST".into(),
                    url: auth_url,
                    source: Box::new(e),
                });
            }
            Err(e) => {
                return Err(CloudError::Auth {
                    auth_url,
                    source: Box::new(e),
                });
            }
        };
        let token = sdk.get_auth_token().ok_or_else(|| CloudError::Auth {
            auth_url: auth_url.clone(),
            source: "Keystone returned no token".into(),
        })?;
        let info = serde_json::to_value(sdk.get_auth_info()).unwrap_or(Value::Null);
        let catalog = serde_json::to_value(sdk.get_token_catalog()).unwrap_or(Value::Null);
        let project_id = info["token"]["project"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let user = info["token"]["user"]["name"]
            .as_str()
            .or_else(|| info["token"]["user"]["id"].as_str())
            .unwrap_or_default()
            .to_owned();
        let services = catalog
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["type"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let http = Http::new(token.expose_secret().to_owned(), cacert.as_deref())?;
        let find = |t: &str| catalog_url(&catalog, t, &interface, region.as_deref());
        let network_root = find("network").ok_or_else(|| CloudError::NoEndpoint {
            service: "network".into(),
            interface: interface.clone(),
            region: region.clone().unwrap_or_else(|| "any".into()),
        })?;
        let network = http.versioned(&network_root, "v2.0").await?;
        let image = match find("image") {
            Some(root) => Some(http.versioned(&root, "v2").await?),
            None => None,
        };
        Ok(OpenStack {
            http,
            network,
            compute: find("compute"),
            image,
            project_id,
            user,
            services,
        })
    }
}

impl OpenStack {
    /// The versioned Neutron base URL in use (e.g. `http://host:9696/v2.0`).
    pub fn network_url(&self) -> &str {
        &self.network
    }
}

/// Whether anything listens at the host and port of `url` (tells "Keystone is down",
/// worth retrying, from "Keystone refused us").
async fn reachable(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let (Some(host), Some(port)) = (u.host_str(), u.port_or_known_default()) else {
        return false;
    };
    let connect = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port));
    matches!(
        tokio::time::timeout(Duration::from_secs(5), connect).await,
        Ok(Ok(_))
    )
}

/// The token is only ever sent as a header; it never appears in Debug output.
impl std::fmt::Debug for OpenStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenStack")
            .field("network", &self.network)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}
