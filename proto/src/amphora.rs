//! The amphora API 1.0 bodies (octavia-protocol.md §1): what the controller sends to the
//! agent and what the agent answers, with the stock agent's key names.
//!
//! Two error shapes exist on the wire: webob's `{"message", "details"}` bodies, built by
//! the handlers ([`Message`], [`DetailsOnly`]), and Werkzeug's `{"error", "http_code"}`
//! bodies for HTTP exceptions, unknown routes and wrong methods ([`WerkzeugError`]).
//! The controller's retry logic depends on which one it gets: a 404 with `details` is
//! retried, a Werkzeug 404 is "route absent". Request bodies are read as leniently as the
//! stock agent reads them: unknown keys are ignored, only the keys it asserts are required.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The API version the agent serves (`/1.0/...`).
pub const API_VERSION: &str = "1.0";

/// Werkzeug's description of a 404.
pub const NOT_FOUND_DESCRIPTION: &str = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";
/// Werkzeug's description of a 405.
pub const METHOD_NOT_ALLOWED_DESCRIPTION: &str = "The method is not allowed for the requested URL.";
/// Werkzeug's description of a 413.
pub const TOO_LARGE_DESCRIPTION: &str = "The data value transmitted exceeds the capacity limit.";

/// `GET /` (and `GET //`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionBody {
    /// Always [`API_VERSION`].
    pub api_version: String,
}

/// `GET /1.0/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Host name.
    pub hostname: String,
    /// The raw haproxy package version (`2.6.12-1+deb12u4`); the controller reads
    /// `MAJOR.MINOR` from it. `null` when haproxy is not installed.
    pub haproxy_version: Option<String>,
    /// [`API_VERSION`].
    pub api_version: String,
    /// The keepalived package version (LVS extension).
    pub keepalived_version: Option<String>,
    /// The ipvsadm package version (LVS extension).
    pub ipvsadm_version: Option<String>,
}

/// One interface's byte counters in `GET /1.0/details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkCounters {
    /// Bytes sent.
    pub network_tx: u64,
    /// Bytes received.
    pub network_rx: u64,
}

/// `cpu` of `GET /1.0/details`: `total` an int, the rest raw strings, as stock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpu {
    /// Sum of the first /proc/stat line.
    pub total: u64,
    /// User time, as written in /proc/stat.
    pub user: String,
    /// System time.
    pub system: String,
    /// Soft IRQ time.
    pub soft_irq: String,
}

/// `memory` of `GET /1.0/details`, kB from /proc/meminfo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// MemTotal.
    pub total: u64,
    /// MemFree.
    pub free: u64,
    /// Buffers.
    pub buffers: u64,
    /// Cached.
    pub cached: u64,
    /// SwapCached (stock's name for it).
    pub swap_used: u64,
    /// Shmem.
    pub shared: u64,
    /// Slab.
    pub slab: u64,
}

/// `disk` of `GET /1.0/details`, bytes of `/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    /// Used bytes.
    pub used: u64,
    /// Bytes available to unprivileged users.
    pub available: u64,
}

/// `GET /1.0/details` (Zed's keys: no `cpu_count`, no `active_tuned_profiles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// As in [`Info`].
    pub hostname: String,
    /// As in [`Info`].
    pub haproxy_version: Option<String>,
    /// [`API_VERSION`].
    pub api_version: String,
    /// As in [`Info`].
    pub keepalived_version: Option<String>,
    /// As in [`Info`].
    pub ipvsadm_version: Option<String>,
    /// `eth*` links of the amphora namespace.
    pub networks: std::collections::BTreeMap<String, NetworkCounters>,
    /// Always true.
    pub active: bool,
    /// Load balancers whose haproxy runs.
    pub haproxy_count: u64,
    /// First line of /proc/stat.
    pub cpu: Cpu,
    /// /proc/meminfo.
    pub memory: Memory,
    /// The root filesystem.
    pub disk: Disk,
    /// /proc/loadavg, three strings.
    pub load: Vec<String>,
    /// Always `SINGLE` (hard-coded by stock).
    pub topology: String,
    /// Always `OK`.
    pub topology_status: String,
    /// Sorted listener ids.
    pub listeners: Vec<String>,
    /// Always empty.
    pub packages: Map<String, Value>,
    /// Running LVS listeners.
    pub lvs_listener_process_count: u64,
}

/// One entry of `GET /1.0/listeners`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerEntry {
    /// `ACTIVE` or `OFFLINE`.
    pub status: String,
    /// The listener id (haproxy frontend name).
    pub uuid: String,
    /// `HTTP`, `TCP`, `TERMINATED_HTTPS` or `UDP`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// webob's usual body: `{"message": ..., "details": ...}`, `details` optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Short text (`OK`, `Invalid request`...).
    pub message: String,
    /// Longer text; absent from some bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl Message {
    /// `{"message": "OK"}`.
    pub fn ok() -> Self {
        Self::new("OK")
    }

    /// A body without `details`.
    pub fn new(message: impl Into<String>) -> Self {
        Message {
            message: message.into(),
            details: None,
        }
    }

    /// A body with `details`.
    pub fn with_details(message: impl Into<String>, details: impl Into<String>) -> Self {
        Message {
            message: message.into(),
            details: Some(details.into()),
        }
    }
}

/// A body with `details` only: the plug routes' 404 when no interface carries the MAC,
/// which the controller retries (it looks for `details`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailsOnly {
    /// `No suitable network interface found`.
    pub details: String,
}

/// `GET /1.0/loadbalancer/{lb}/certificates/{file}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Md5Body {
    /// Hex MD5 of the stored file.
    pub md5sum: String,
}

/// `GET /1.0/interface/{ip}` on success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceBody {
    /// `OK`.
    pub message: String,
    /// The interface carrying the address, inside the amphora namespace.
    pub interface: String,
}

/// Werkzeug's JSON error (`make_json_error`): `{"error": "<code> <Name>: <description>",
/// "http_code": <code>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WerkzeugError {
    /// `404 Not Found: The requested URL...`.
    pub error: String,
    /// The status code again.
    pub http_code: u16,
}

impl WerkzeugError {
    /// The body for `code` (`404`), its reason phrase (`Not Found`) and description.
    pub fn new(code: u16, name: &str, description: &str) -> Self {
        WerkzeugError {
            error: format!("{code} {name}: {description}"),
            http_code: code,
        }
    }

    /// The 400 the stock agent raises for a plug body it cannot use.
    pub fn bad_request(description: &str) -> Self {
        Self::new(400, "Bad Request", description)
    }
}

/// A host route, `{destination, nexthop}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRoute {
    /// Destination CIDR.
    pub destination: String,
    /// Next hop address.
    pub nexthop: String,
}

/// An additional VIP of `POST /1.0/plug/vip`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdditionalVip {
    /// The address.
    pub ip_address: String,
    /// Its subnet.
    pub subnet_cidr: String,
    /// Its gateway.
    #[serde(default)]
    pub gateway: Option<String>,
    /// Its host routes.
    #[serde(default)]
    pub host_routes: Vec<HostRoute>,
}

/// `POST /1.0/plug/vip/{vip}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlugVip {
    /// The VIP subnet (required).
    pub subnet_cidr: String,
    /// The gateway (required key, may be null).
    pub gateway: Option<String>,
    /// MAC of the port to plug (required).
    pub mac_address: String,
    /// This amphora's own address on the VIP subnet.
    #[serde(default)]
    pub vrrp_ip: Option<String>,
    /// Link MTU.
    #[serde(default)]
    pub mtu: Option<u32>,
    /// Host routes of the subnet.
    #[serde(default)]
    pub host_routes: Vec<HostRoute>,
    /// Further VIPs on the same port.
    #[serde(default)]
    pub additional_vips: Vec<AdditionalVip>,
}

/// A fixed IP of `POST /1.0/plug/network`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIp {
    /// The address.
    pub ip_address: String,
    /// Its subnet.
    #[serde(default)]
    pub subnet_cidr: Option<String>,
    /// Host routes.
    #[serde(default)]
    pub host_routes: Vec<HostRoute>,
    /// Gateway.
    #[serde(default)]
    pub gateway: Option<String>,
}

/// `POST /1.0/plug/network`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlugNetwork {
    /// MAC of the port to plug (required).
    pub mac_address: String,
    /// Addresses to configure; none means DHCP.
    #[serde(default)]
    pub fixed_ips: Option<Vec<FixedIp>>,
    /// Link MTU.
    #[serde(default)]
    pub mtu: Option<u32>,
    /// Set when the port is the amphora's VRRP port (plug-vip body plus `vip`).
    #[serde(default)]
    pub vip_net_info: Option<Value>,
}

/// Why a request body was refused: the stock agent's Werkzeug 400 description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub &'static str);

impl PlugVip {
    /// Parses the body as the stock agent does: a JSON object holding `subnet_cidr`,
    /// `gateway` and `mac_address`, else `Invalid subnet information`.
    pub fn from_body(body: &[u8]) -> Result<Self, BodyError> {
        parse_object(
            body,
            &["subnet_cidr", "gateway", "mac_address"],
            "Invalid subnet information",
        )
    }
}

impl PlugNetwork {
    /// Parses the body as the stock agent does: a JSON object holding `mac_address`,
    /// else `Invalid port information`.
    pub fn from_body(body: &[u8]) -> Result<Self, BodyError> {
        parse_object(body, &["mac_address"], "Invalid port information")
    }
}

fn parse_object<T: serde::de::DeserializeOwned>(
    body: &[u8],
    required: &[&str],
    refusal: &'static str,
) -> Result<T, BodyError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| BodyError(refusal))?;
    let object = value.as_object().ok_or(BodyError(refusal))?;
    if !required.iter().all(|k| object.contains_key(*k)) {
        return Err(BodyError(refusal));
    }
    serde_json::from_value(value).map_err(|_| BodyError(refusal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_serialize_with_the_stock_key_names() {
        let entry = ListenerEntry {
            status: "ACTIVE".into(),
            uuid: "l1".into(),
            kind: "HTTP".into(),
        };
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"status":"ACTIVE","uuid":"l1","type":"HTTP"}"#
        );
        assert_eq!(
            serde_json::to_string(&Message::ok()).unwrap(),
            r#"{"message":"OK"}"#
        );
        assert_eq!(
            serde_json::to_string(&Message::with_details(
                "Invalid Request",
                "Unknown action: x"
            ))
            .unwrap(),
            r#"{"message":"Invalid Request","details":"Unknown action: x"}"#
        );
        let nf = WerkzeugError::new(404, "Not Found", NOT_FOUND_DESCRIPTION);
        assert_eq!(nf.http_code, 404);
        assert!(nf.error.starts_with("404 Not Found: The requested URL"));
    }

    #[test]
    fn plug_bodies_need_the_keys_stock_asserts_and_ignore_the_rest() {
        let ok = PlugVip::from_body(
            br#"{"subnet_cidr":"10.0.0.0/24","gateway":null,"mac_address":"fa:16:3e:00:00:01","extra":1}"#,
        )
        .unwrap();
        assert_eq!(ok.gateway, None);
        assert!(ok.host_routes.is_empty());
        for bad in [
            &b"not json"[..],
            b"[1]",
            br#"{"subnet_cidr":"10.0.0.0/24","mac_address":"x"}"#,
        ] {
            assert_eq!(
                PlugVip::from_body(bad),
                Err(BodyError("Invalid subnet information"))
            );
        }
        assert_eq!(
            PlugNetwork::from_body(br#"{"fixed_ips":[]}"#),
            Err(BodyError("Invalid port information"))
        );
        let net = PlugNetwork::from_body(
            br#"{"mac_address":"fa:16:3e:00:00:02","fixed_ips":[{"ip_address":"10.0.1.5","subnet_cidr":"10.0.1.0/24"}],"mtu":1450}"#,
        )
        .unwrap();
        assert_eq!(net.fixed_ips.unwrap()[0].ip_address, "10.0.1.5");
        assert_eq!(net.mtu, Some(1450));
    }
}
