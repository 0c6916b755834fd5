//! The amphora API 1.0 routes this agent serves, with the stock agent's status codes and
//! bodies (octavia-protocol.md §1): version discovery on `/` and `//` (the stock
//! controller sends `GET //`), `/1.0/info`, `/1.0/details`, `/1.0/listeners`,
//! listener/pool certificate upload, fetch and delete, server-certificate rotation,
//! configuration update, and Werkzeug's JSON bodies for unknown routes (404) and wrong
//! methods (405), which the controller's retry logic and feature detection depend on.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::config::AgentConfig;
use crate::files::{cert_path, md5_hex, safe_segment, stock_filename_ok, write_secret};
use crate::heartbeat::HeartbeatSettings;
use crate::host::Host;
use crate::tls::SwappableCert;

/// API version served.
pub const API_VERSION: &str = "1.0";

/// What handlers share.
pub struct AppState {
    /// The host facts.
    pub host: Box<dyn Host>,
    /// `[haproxy_amphora] base_cert_dir`.
    pub base_cert_dir: PathBuf,
    /// `[amphora_agent] agent_server_cert`, rewritten by `PUT /1.0/certificate`.
    pub server_cert: PathBuf,
    /// The certificate TLS serves, swapped after `PUT /1.0/certificate`.
    pub tls_cert: Arc<SwappableCert>,
    /// The agent's `--config-file`, rewritten by `PUT /1.0/config`.
    pub config_file: PathBuf,
    /// The heartbeat sender's live settings (mutable options of `PUT /1.0/config`).
    pub heartbeat: tokio::sync::watch::Sender<HeartbeatSettings>,
}

/// The router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(version))
        .route("//", get(version))
        .route("/1.0/info", get(info))
        .route("/1.0/details", get(details))
        .route("/1.0/listeners", get(listeners))
        .route(
            "/1.0/loadbalancer/{lb_id}/certificates/{filename}",
            put(put_cert).get(get_cert).delete(delete_cert),
        )
        .route("/1.0/certificate", put(rotate_server_cert))
        .route("/1.0/config", put(update_config))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn version() -> Json<Value> {
    Json(json!({ "api_version": API_VERSION }))
}

fn versions(host: &dyn Host) -> Value {
    json!({
        "hostname": host.hostname(),
        "haproxy_version": host.package_version("haproxy"),
        "api_version": API_VERSION,
        "keepalived_version": host.package_version("keepalived"),
        "ipvsadm_version": host.package_version("ipvsadm"),
    })
}

async fn info(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(versions(state.host.as_ref()))
}

async fn details(State(state): State<Arc<AppState>>) -> Json<Value> {
    let host = state.host.as_ref();
    let mut body = versions(host);
    let (used, available) = host.root_disk().unwrap_or_default();
    let extra = json!({
        // eth* byte counters inside the amphora-haproxy namespace: no network is plugged
        // by this agent yet, so there is none to report.
        "networks": {},
        "active": true,
        "haproxy_count": 0,
        "cpu": cpu(host),
        "memory": memory(host),
        "disk": {"used": used, "available": available},
        "load": host.proc_file("loadavg").map(|l| l.split_whitespace().take(3).map(str::to_owned).collect::<Vec<_>>()).unwrap_or_default(),
        "topology": "SINGLE",
        "topology_status": "OK",
        "listeners": [],
        "packages": {},
        "lvs_listener_process_count": 0,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    Json(body)
}

/// The first line of /proc/stat: `total` as an int, the rest as strings (as stock).
fn cpu(host: &dyn Host) -> Value {
    let stat = host.proc_file("stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .collect();
    let total: u64 = fields.iter().filter_map(|f| f.parse::<u64>().ok()).sum();
    let field = |i: usize| fields.get(i).copied().unwrap_or("0").to_owned();
    json!({"total": total, "user": field(0), "system": field(2), "soft_irq": field(6)})
}

/// /proc/meminfo in kB, with stock's key names (`swap_used` is really SwapCached).
fn memory(host: &dyn Host) -> Value {
    let meminfo = host.proc_file("meminfo").unwrap_or_default();
    let kb = |key: &str| -> u64 {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    json!({
        "total": kb("MemTotal"), "free": kb("MemFree"), "buffers": kb("Buffers"), "cached": kb("Cached"),
        "swap_used": kb("SwapCached"), "shared": kb("Shmem"), "slab": kb("Slab"),
    })
}

async fn listeners() -> Json<Value> {
    // No load balancer is configured on this agent yet (uploads are not served).
    Json(json!([]))
}

fn ok(code: StatusCode) -> Response {
    (code, Json(json!({"message": "OK"}))).into_response()
}

fn failure(code: StatusCode, message: &str, details: &str) -> Response {
    (code, Json(json!({"message": message, "details": details}))).into_response()
}

/// Path parameters that would leave their directory never match, as in the stock router.
fn checked(lb_id: &str, filename: &str) -> Option<Response> {
    if !safe_segment(lb_id) || !safe_segment(filename) {
        return Some(werkzeug_error(
            StatusCode::NOT_FOUND,
            "Not Found",
            NOT_FOUND,
        ));
    }
    if !stock_filename_ok(filename) {
        return Some(
            (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "Filename has wrong format"})),
            )
                .into_response(),
        );
    }
    None
}

async fn put_cert(
    State(state): State<Arc<AppState>>,
    Path((lb_id, filename)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(refused) = checked(&lb_id, &filename) {
        return refused;
    }
    let path = cert_path(&state.base_cert_dir, &lb_id, &filename);
    match write_secret(&path, &body) {
        Ok(()) => ([(header::ETAG, md5_hex(&body))], ok(StatusCode::OK)).into_response(),
        Err(e) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unable to write the certificate",
            &e.to_string(),
        ),
    }
}

async fn get_cert(
    State(state): State<Arc<AppState>>,
    Path((lb_id, filename)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = checked(&lb_id, &filename) {
        return refused;
    }
    match std::fs::read(cert_path(&state.base_cert_dir, &lb_id, &filename)) {
        Ok(bytes) => {
            let md5 = md5_hex(&bytes);
            ([(header::ETAG, md5.clone())], Json(json!({"md5sum": md5}))).into_response()
        }
        Err(_) => failure(
            StatusCode::NOT_FOUND,
            "Certificate Not Found",
            &format!("No certificate with filename: {filename}"),
        ),
    }
}

async fn delete_cert(
    State(state): State<Arc<AppState>>,
    Path((lb_id, filename)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = checked(&lb_id, &filename) {
        return refused;
    }
    // Absent is success, as for the stock agent (the controller ignores 404 here anyway).
    let _ = std::fs::remove_file(cert_path(&state.base_cert_dir, &lb_id, &filename));
    ok(StatusCode::OK)
}

async fn rotate_server_cert(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    if let Err(e) = write_secret(&state.server_cert, &body) {
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unable to write the server certificate",
            &e.to_string(),
        );
    }
    // Stock answers 202 whatever it got; a PEM that rustls cannot use is not swapped in,
    // so the agent keeps answering with the certificate it has instead of locking the
    // controller out.
    if let Err(e) = state.tls_cert.reload(&state.server_cert) {
        tracing::warn!("new server certificate not served: {e}");
    }
    ok(StatusCode::ACCEPTED)
}

async fn update_config(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let refused = |details: &str| {
        failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unable to update amphora-agent configuration.",
            details,
        )
    };
    let text = String::from_utf8_lossy(&body);
    // Checked before writing: a bad file is refused and the running one stays.
    let parsed = match AgentConfig::parse(&state.config_file, &text) {
        Ok(parsed) => parsed,
        Err(e) => return refused(&e.to_string()),
    };
    if let Err(e) = write_secret(&state.config_file, &body) {
        return refused(&e.to_string());
    }
    // The mutable options apply at once (Zed's separate sender process never learns them).
    state
        .heartbeat
        .send_modify(|hb| *hb = HeartbeatSettings::from(&parsed));
    ok(StatusCode::ACCEPTED)
}

const NOT_FOUND: &str = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";

async fn not_found() -> Response {
    werkzeug_error(
        StatusCode::NOT_FOUND,
        "Not Found",
        "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
    )
}

async fn method_not_allowed() -> Response {
    werkzeug_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        "The method is not allowed for the requested URL.",
    )
}

/// The stock agent's `make_json_error` body.
fn werkzeug_error(code: StatusCode, name: &str, description: &str) -> Response {
    let body = json!({"error": format!("{} {name}: {description}", code.as_u16()), "http_code": code.as_u16()});
    (code, Json(body)).into_response()
}
