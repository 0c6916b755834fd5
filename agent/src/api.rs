//! The amphora API 1.0 routes this agent serves, with the stock agent's status codes and
//! bodies (octavia-protocol.md §1): version discovery on `/` and `//` (the stock
//! controller sends `GET //`), `/1.0/info`, `/1.0/details`, `/1.0/listeners`,
//! listener/pool certificate upload, fetch and delete, server-certificate rotation,
//! configuration update, the VRRP routes (`vrrp`) and the LVS `udp_listener` routes
//! (`lvs`, which also gets load balancer actions and deletes for ids that are LVS
//! listeners), and Werkzeug's JSON bodies for unknown routes (404) and wrong
//! methods (405), which the controller's retry logic and feature detection depend on.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use octa_proto::amphora::{
    API_VERSION, Cpu, Details, Disk, Info, ListenerEntry, Md5Body, Memory, Message,
    NetworkCounters, VersionBody,
};

use crate::config::AgentConfig;
use crate::files::{cert_path, md5_hex, safe_segment, stock_filename_ok, write_secret};
use crate::haproxy::{
    Haproxy, LbPaths, bind_addresses, frontends, known_lbs, peer_name, strip_group_lines,
};
use crate::heartbeat::HeartbeatSettings;
use crate::host::Host;
use crate::keepalived::Keepalived;
use crate::respond::{self, failure, json_response, message, ok, route_not_found};
use crate::tls::SwappableCert;

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
    /// `[haproxy_amphora] base_path`.
    pub base_path: PathBuf,
    /// This amphora's id (the haproxy peer name derives from it).
    pub amphora_id: String,
    /// How haproxy processes are run.
    pub haproxy: Arc<dyn Haproxy>,
    /// The amphora namespace (`amphora-haproxy`); `None`: the agent's own.
    pub namespace: Option<String>,
    /// `[amphora_agent] agent_server_network_dir`: interface files of plugged ports.
    pub network_dir: PathBuf,
    /// `[controller_worker] loadbalancer_topology = ACTIVE_STANDBY`: keepalived owns the
    /// VIP and sends its advertisements.
    pub active_standby: bool,
    /// How keepalived (VRRP and LVS listeners) is run.
    pub keepalived: Arc<dyn Keepalived>,
}

/// The router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(version))
        .route("//", get(version))
        .route("/1.0/info", get(info))
        .route("/1.0/details", get(details))
        .route("/1.0/listeners", get(listeners))
        .route("/1.0/listeners/{a}", axum::routing::delete(delete_lb))
        .route(
            "/1.0/listeners/{a}/udp_listener",
            get(crate::lvs::get_config),
        )
        .route(
            "/1.0/listeners/{a}/{b}/udp_listener",
            put(crate::lvs::upload),
        )
        .route("/1.0/vrrp/upload", put(crate::vrrp::upload))
        .route("/1.0/vrrp/{a}", put(crate::vrrp::action))
        // One parameter name per position: the router refuses two names at one spot.
        .route("/1.0/loadbalancer/{a}/{b}", put(lb_action))
        .route("/1.0/loadbalancer/{a}/haproxy", get(get_haproxy))
        .route("/1.0/loadbalancer/{a}/{b}/haproxy", put(put_haproxy))
        .route(
            "/1.0/loadbalancer/{a}/certificates/{c}",
            put(put_cert).get(get_cert).delete(delete_cert),
        )
        .route("/1.0/certificate", put(rotate_server_cert))
        .route("/1.0/config", put(update_config))
        .route("/1.0/plug/vip/{a}", post(crate::plug::plug_vip))
        .route("/1.0/plug/network", post(crate::plug::plug_network))
        .route("/1.0/interface/{a}", get(crate::plug::get_interface))
        .fallback(respond::not_found)
        .method_not_allowed_fallback(respond::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(respond::MAX_BODY))
        .layer(axum::middleware::map_response(respond::json_413))
        .with_state(state)
}

async fn version() -> Json<VersionBody> {
    Json(VersionBody {
        api_version: API_VERSION.to_owned(),
    })
}

fn versions(host: &dyn Host) -> Info {
    Info {
        hostname: host.hostname(),
        haproxy_version: host.package_version("haproxy"),
        api_version: API_VERSION.to_owned(),
        keepalived_version: host.package_version("keepalived"),
        ipvsadm_version: host.package_version("ipvsadm"),
    }
}

async fn info(State(state): State<Arc<AppState>>) -> Json<Info> {
    Json(versions(state.host.as_ref()))
}

async fn details(State(state): State<Arc<AppState>>) -> Json<Details> {
    let host = state.host.as_ref();
    let info = versions(host);
    let (used, available) = host.root_disk().unwrap_or_default();
    let lbs = known_lbs(&state.base_path);
    let mut listeners: Vec<String> = Vec::new();
    let mut haproxy_count = 0;
    for lb_id in &lbs {
        let lb = LbPaths::new(&state.base_path, lb_id);
        haproxy_count += u64::from(state.haproxy.running(&lb));
        let config = std::fs::read_to_string(&lb.config).unwrap_or_default();
        listeners.extend(frontends(&config).into_iter().map(|(id, _)| id));
    }
    listeners.extend(crate::lvs::listener_ids(&state.base_path));
    listeners.sort();
    listeners.dedup();
    // Byte counters of the eth* links inside the amphora namespace (none before a plug).
    let networks = match state.namespace.as_deref() {
        Some(ns) => host
            .links(Some(ns))
            .await
            .into_iter()
            .filter(|l| l.name.starts_with("eth"))
            .map(|l| {
                let counters = NetworkCounters {
                    network_tx: l.tx_bytes,
                    network_rx: l.rx_bytes,
                };
                (l.name, counters)
            })
            .collect(),
        None => Default::default(),
    };
    Json(Details {
        hostname: info.hostname,
        haproxy_version: info.haproxy_version,
        api_version: info.api_version,
        keepalived_version: info.keepalived_version,
        ipvsadm_version: info.ipvsadm_version,
        networks,
        active: true,
        haproxy_count,
        cpu: cpu(host),
        memory: memory(host),
        disk: Disk { used, available },
        load: host
            .proc_file("loadavg")
            .map(|l| l.split_whitespace().take(3).map(str::to_owned).collect())
            .unwrap_or_default(),
        topology: "SINGLE".into(),
        topology_status: "OK".into(),
        listeners,
        packages: Default::default(),
        lvs_listener_process_count: crate::lvs::process_count(&state.base_path),
    })
}

/// The first line of /proc/stat: `total` as an int, the rest as strings (as stock).
fn cpu(host: &dyn Host) -> Cpu {
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
    Cpu {
        total,
        user: field(0),
        system: field(2),
        soft_irq: field(6),
    }
}

/// /proc/meminfo in kB, with stock's key names (`swap_used` is really SwapCached).
fn memory(host: &dyn Host) -> Memory {
    let meminfo = host.proc_file("meminfo").unwrap_or_default();
    let kb = |key: &str| -> u64 {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        total: kb("MemTotal"),
        free: kb("MemFree"),
        buffers: kb("Buffers"),
        cached: kb("Cached"),
        swap_used: kb("SwapCached"),
        shared: kb("Shmem"),
        slab: kb("Slab"),
    }
}

async fn listeners(State(state): State<Arc<AppState>>) -> Json<Vec<ListenerEntry>> {
    let mut out = Vec::new();
    for lb_id in known_lbs(&state.base_path) {
        let lb = LbPaths::new(&state.base_path, &lb_id);
        let config = std::fs::read_to_string(&lb.config).unwrap_or_default();
        for (uuid, kind) in frontends(&config) {
            // Stock reports every configured frontend ACTIVE without asking haproxy (its
            // own docstring says so); listener health reaches the controller through the
            // heartbeats instead, which read the stats socket.
            out.push(ListenerEntry {
                status: "ACTIVE".to_owned(),
                uuid,
                kind,
            });
        }
    }
    out.extend(crate::lvs::entries(&state.base_path));
    Json(out)
}

fn lb_not_found(lb_id: &str) -> Response {
    failure(
        StatusCode::NOT_FOUND,
        "Loadbalancer Not Found",
        &format!("No loadbalancer with UUID: {lb_id}"),
    )
}

async fn put_haproxy(
    State(state): State<Arc<AppState>>,
    Path((amphora_id, lb_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if !safe_segment(&amphora_id) || !safe_segment(&lb_id) {
        return route_not_found();
    }
    let lb = LbPaths::new(&state.base_path, &lb_id);
    let config = strip_group_lines(&String::from_utf8_lossy(&body));
    let staged = lb.dir.join("haproxy.cfg.new");
    if let Err(e) =
        std::fs::create_dir_all(&lb.dir).and_then(|()| write_secret(&staged, config.as_bytes()))
    {
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unable to write the configuration",
            &e.to_string(),
        );
    }
    // The running configuration is replaced only by one haproxy accepts.
    if let Err(out) = state
        .haproxy
        .validate(&staged, &peer_name(&state.amphora_id))
    {
        let _ = std::fs::rename(&staged, lb.dir.join("haproxy.cfg.new-failed"));
        return failure(StatusCode::BAD_REQUEST, "Invalid request", &out);
    }
    if let Err(e) = std::fs::rename(&staged, &lb.config) {
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unable to install the configuration",
            &e.to_string(),
        );
    }
    if let Err(out) = state.haproxy.install(&lb, &peer_name(&state.amphora_id)) {
        // Stock's words, wrong as they are (octavia-protocol.md §1.4 (5) step 10).
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error enabling octavia-keepalived service",
            &out,
        );
    }
    ([(header::ETAG, md5_hex(&body))], ok(StatusCode::ACCEPTED)).into_response()
}

async fn get_haproxy(State(state): State<Arc<AppState>>, Path(lb_id): Path<String>) -> Response {
    if !safe_segment(&lb_id) {
        return route_not_found();
    }
    match std::fs::read(LbPaths::new(&state.base_path, &lb_id).config) {
        Ok(bytes) => {
            let etag = md5_hex(&bytes);
            (
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
                    (header::ETAG, etag),
                ],
                bytes,
            )
                .into_response()
        }
        Err(_) => lb_not_found(&lb_id),
    }
}

async fn lb_action(
    State(state): State<Arc<AppState>>,
    Path((lb_id, action)): Path<(String, String)>,
) -> Response {
    if !safe_segment(&lb_id) {
        return route_not_found();
    }
    let action = action.to_lowercase();
    if !["start", "stop", "reload"].contains(&action.as_str()) {
        return failure(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            &format!("Unknown action: {action}"),
        );
    }
    let lb = LbPaths::new(&state.base_path, &lb_id);
    // haproxy first, then an LVS listener, else haproxy's 404 (stock's dispatch).
    if !lb.exists() && crate::lvs::exists(&state.base_path, &lb_id) {
        return crate::lvs::action(state, lb_id, action).await;
    }
    if !lb.exists() {
        return lb_not_found(&lb_id);
    }
    if state.active_standby {
        let stopping = (action == "stop").then_some(lb_id.as_str());
        if let Err(e) = crate::vrrp::update_haproxy_check(&state.base_path, stopping) {
            tracing::warn!("VRRP check script not updated: {e}");
        }
    }
    let peer = peer_name(&state.amphora_id);
    let running = state.haproxy.running(&lb);
    // A reload of a stopped haproxy is a start, as for the stock agent.
    let effective = if action == "reload" && !running {
        "start"
    } else {
        action.as_str()
    };
    let done = match effective {
        "start" if running => Ok(()),
        "start" => state.haproxy.start(&lb, &peer),
        "reload" => {
            save_server_state(&lb);
            state.haproxy.reload(&lb, &peer)
        }
        _ => state.haproxy.stop(&lb),
    };
    if done.is_ok() && effective != "stop" {
        advertise_vips(&state, &lb).await;
    }
    match done {
        Err(out) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Error {effective}ing haproxy"),
            &out,
        ),
        Ok(()) if effective == "start" => message(
            StatusCode::ACCEPTED,
            &Message::with_details(
                "OK",
                format!("Configuration file is valid\nhaproxy daemon for {lb_id} started"),
            ),
        ),
        Ok(()) => message(
            StatusCode::ACCEPTED,
            &Message::with_details("OK", format!("Listener {lb_id} {action}ed")),
        ),
    }
}

/// Before a reload: the members' state into `<lb>/servers-state` for the new process; a
/// failure only costs the new process the old one's health-check results.
fn save_server_state(lb: &LbPaths) {
    let config = std::fs::read_to_string(&lb.config).unwrap_or_default();
    let Some(socket) = crate::stats::stats_socket(&config) else {
        return;
    };
    if let Err(e) = crate::stats::save_server_state(&socket, &lb.dir.join("servers-state")) {
        tracing::warn!("servers state of {} not saved: {e}", lb.id);
    }
}

/// After a start or reload, tells the VIP segment where the VIPs of the `bind` lines
/// live (gratuitous ARP / unsolicited NA), as stock does unless keepalived owns the VIPs
/// (ACTIVE_STANDBY). A failure only means this amphora does not hold the VIP: logged.
async fn advertise_vips(state: &AppState, lb: &LbPaths) {
    if state.active_standby {
        return;
    }
    let config = std::fs::read_to_string(&lb.config).unwrap_or_default();
    let vips = bind_addresses(&config);
    if vips.is_empty() {
        return;
    }
    let ns = state.namespace.as_deref();
    let links = state.host.links(ns).await;
    for vip in vips {
        let Some(link) = links
            .iter()
            .find(|l| l.addresses.iter().any(|a| a.addr() == vip))
        else {
            tracing::debug!("VIP {vip} of {} is on no interface: not announced", lb.id);
            continue;
        };
        match state.host.announce(ns, &link.name, &[vip]) {
            Ok(()) => tracing::info!("announced VIP {vip} on {}", link.name),
            Err(e) => tracing::debug!("VIP {vip} not announced: {e}"),
        }
    }
}

async fn delete_lb(State(state): State<Arc<AppState>>, Path(lb_id): Path<String>) -> Response {
    if !safe_segment(&lb_id) {
        return route_not_found();
    }
    let lb = LbPaths::new(&state.base_path, &lb_id);
    if !lb.exists() && crate::lvs::exists(&state.base_path, &lb_id) {
        return crate::lvs::delete(state, lb_id).await;
    }
    if !lb.exists() {
        return ok(StatusCode::OK);
    }
    if state.haproxy.running(&lb)
        && let Err(out) = state.haproxy.stop(&lb)
    {
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error stopping haproxy",
            &out,
        );
    }
    let config = std::fs::read_to_string(&lb.config).unwrap_or_default();
    if let Some(socket) =
        crate::stats::stats_socket(&config).filter(|s| s.starts_with(&state.base_path))
    {
        let _ = std::fs::remove_file(socket);
    }
    // check_script.sh exists only where VRRP was configured.
    if crate::vrrp::check_script_path(&state.base_path).exists()
        && let Err(e) = crate::vrrp::update_haproxy_check(&state.base_path, Some(&lb_id))
    {
        tracing::warn!("VRRP check script not updated: {e}");
    }
    let _ = std::fs::remove_dir_all(state.base_cert_dir.join(&lb_id));
    let uninstalled = state.haproxy.uninstall(&lb);
    let _ = std::fs::remove_dir_all(&lb.dir);
    match uninstalled {
        Ok(()) => ok(StatusCode::OK),
        Err(out) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error disabling haproxy service",
            &out,
        ),
    }
}

/// Path parameters that would leave their directory never match, as in the stock router.
fn checked(lb_id: &str, filename: &str) -> Option<Response> {
    if !safe_segment(lb_id) || !safe_segment(filename) {
        return Some(route_not_found());
    }
    if !stock_filename_ok(filename) {
        return Some(message(
            StatusCode::BAD_REQUEST,
            &Message::new("Filename has wrong format"),
        ));
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
            let body = json_response(
                StatusCode::OK,
                &Md5Body {
                    md5sum: md5.clone(),
                },
            );
            ([(header::ETAG, md5)], body).into_response()
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
