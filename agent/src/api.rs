//! The amphora API 1.0 routes this agent serves, with the stock agent's status codes and
//! bodies (octavia-protocol.md §1): version discovery on `/` and `//` (the stock
//! controller sends `GET //`), `/1.0/info`, `/1.0/details`, `/1.0/listeners`, and
//! Werkzeug's JSON bodies for unknown routes (404) and wrong methods (405), which the
//! controller's retry logic and feature detection depend on.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::host::Host;

/// API version served.
pub const API_VERSION: &str = "1.0";

/// What handlers share.
pub struct AppState {
    /// The host facts.
    pub host: Box<dyn Host>,
}

/// The router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(version))
        .route("//", get(version))
        .route("/1.0/info", get(info))
        .route("/1.0/details", get(details))
        .route("/1.0/listeners", get(listeners))
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
