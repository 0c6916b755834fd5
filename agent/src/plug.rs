//! Plugging networks into the amphora namespace (octavia-protocol.md §1.4 (14), (15),
//! (19)): `POST /1.0/plug/vip/{vip}`, `POST /1.0/plug/network` and
//! `GET /1.0/interface/{ip}`, with the stock agent's checks in its order and its bodies:
//!
//! 1. a body that is not a JSON-typed JSON object with the asserted keys: Werkzeug 400;
//! 2. a bad VIP, VRRP or fixed address: 400 `{"message": ...}`;
//! 3. the MAC already inside the namespace: 409 for a VIP, an update for a network;
//! 4. no link with the MAC in the agent's namespace: 404 `{"details": ...}`, which the
//!    controller retries while Nova finishes hot-plugging the port;
//! 5. otherwise the link is recorded (`plugged_interfaces`, an interface file), moved
//!    into the namespace under its stock name and configured: 202.
//!
//! Not done (yet): VIP-sourced policy routing (table 1) and gratuitous ARP after plugging.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use octa_proto::amphora::{
    DetailsOnly, HostRoute, InterfaceBody, Message, PlugNetwork, PlugVip, WerkzeugError,
};
use serde_json::json;

use crate::api::AppState;
use crate::netops::PlugPlan;
use crate::respond::{failure, json_response, message};

/// The VIP interface's name inside the namespace.
pub const VIP_INTERFACE: &str = "eth1";

/// `a.b.c.d/n` → its prefix length, refusing host bits as Python's `ip_network` does.
fn prefix_of(cidr: &str) -> Result<(IpAddr, u8), String> {
    let (net, len) = cidr
        .split_once('/')
        .ok_or_else(|| format!("'{cidr}' does not appear to be an IPv4 or IPv6 network"))?;
    let net: IpAddr = net
        .parse()
        .map_err(|_| format!("'{cidr}' does not appear to be an IPv4 or IPv6 network"))?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l| *l <= max)
        .ok_or_else(|| format!("'{cidr}' does not appear to be an IPv4 or IPv6 network"))?;
    Ok((net, len))
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("'{text}' does not appear to be an IPv4 or IPv6 address"))
}

fn routes(host_routes: &[HostRoute]) -> Result<Vec<(String, IpAddr)>, String> {
    host_routes
        .iter()
        .map(|r| Ok((r.destination.clone(), parse_ip(&r.nexthop)?)))
        .collect()
}

fn host_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn no_interface() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &DetailsOnly {
            details: "No suitable network interface found".into(),
        },
    )
}

/// The plan for the VIP port, or the body of the 400.
fn vip_plan(
    vip: &str,
    body: &PlugVip,
    current: String,
    ns: Option<String>,
) -> Result<PlugPlan, Message> {
    let invalid = |e: String| Message::new(format!("Invalid VIP: {e}"));
    let mut addresses = Vec::new();
    let mut vips = vec![parse_ip(vip).map_err(invalid)?];
    prefix_of(&body.subnet_cidr).map_err(invalid)?;
    for extra in &body.additional_vips {
        prefix_of(&extra.subnet_cidr).map_err(invalid)?;
        vips.push(parse_ip(&extra.ip_address).map_err(invalid)?);
    }
    let gateway = body
        .gateway
        .as_deref()
        .map(parse_ip)
        .transpose()
        .map_err(invalid)?;
    if let Some(vrrp) = &body.vrrp_ip {
        let bad = |e: String| Message::new(format!("Invalid VRRP Address: {e}"));
        let ip = parse_ip(vrrp).map_err(bad)?;
        addresses.push((ip, prefix_of(&body.subnet_cidr).map_err(bad)?.1));
    }
    addresses.extend(vips.iter().map(|ip| (*ip, host_prefix(*ip))));
    Ok(PlugPlan {
        current,
        namespace: ns,
        moving: true,
        name: VIP_INTERFACE.to_owned(),
        mtu: body.mtu,
        addresses,
        gateway,
        routes: routes(&body.host_routes).map_err(invalid)?,
    })
}

/// `POST /1.0/plug/vip/{vip}`.
pub async fn plug_vip(
    State(state): State<Arc<AppState>>,
    Path(vip): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return werkzeug_400("Invalid subnet information");
    }
    let body = match PlugVip::from_body(&body) {
        Ok(b) => b,
        Err(e) => return werkzeug_400(e.0),
    };
    // Validated before looking at links, so a bad request never touches the host.
    if let Err(refused) = vip_plan(&vip, &body, String::new(), None) {
        return message(StatusCode::BAD_REQUEST, &refused);
    }
    let mac = body.mac_address.to_lowercase();
    let ns = state.namespace.as_deref();
    if ns.is_some() && state.host.links(ns).iter().any(|l| l.mac == mac) {
        return message(
            StatusCode::CONFLICT,
            &Message::new("Interface already exists"),
        );
    }
    let Some(link) = state.host.links(None).into_iter().find(|l| l.mac == mac) else {
        return no_interface();
    };
    let plan = match vip_plan(&vip, &body, link.name, state.namespace.clone()) {
        Ok(plan) => plan,
        Err(refused) => return message(StatusCode::BAD_REQUEST, &refused),
    };
    if let Err(e) = record(&state, &plan, &mac, "vip").and_then(|()| state.host.plug(&plan)) {
        return failure(StatusCode::INTERNAL_SERVER_ERROR, "Error plugging VIP", &e);
    }
    let vips: Vec<String> = std::iter::once(vip)
        .chain(body.additional_vips.iter().map(|v| v.ip_address.clone()))
        .collect();
    message(
        StatusCode::ACCEPTED,
        &Message::with_details(
            "OK",
            format!(
                "VIPs plugged on interface {VIP_INTERFACE}: {}",
                vips.join(", ")
            ),
        ),
    )
}

/// `POST /1.0/plug/network`.
pub async fn plug_network(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return werkzeug_400("Invalid port information");
    }
    let body = match PlugNetwork::from_body(&body) {
        Ok(b) => b,
        Err(e) => return werkzeug_400(e.0),
    };
    let mut addresses = Vec::new();
    for fixed in body.fixed_ips.iter().flatten() {
        let Ok(ip) = fixed.ip_address.parse::<IpAddr>() else {
            return message(
                StatusCode::BAD_REQUEST,
                &Message::new("Invalid network port"),
            );
        };
        let prefix = fixed
            .subnet_cidr
            .as_deref()
            .and_then(|c| prefix_of(c).ok())
            .map_or(host_prefix(ip), |(_, p)| p);
        addresses.push((ip, prefix));
    }
    let mac = body.mac_address.to_lowercase();
    let ns = state.namespace.as_deref();
    let inside = if ns.is_some() {
        state.host.links(ns)
    } else {
        Vec::new()
    };
    let (current, name, moving) = match inside.iter().find(|l| l.mac == mac) {
        Some(l) => (l.name.clone(), l.name.clone(), false),
        None => {
            let Some(link) = state.host.links(None).into_iter().find(|l| l.mac == mac) else {
                return no_interface();
            };
            let free = (2..)
                .map(|n| format!("eth{n}"))
                .find(|n| !inside.iter().any(|l| &l.name == n))
                .unwrap_or_default();
            (link.name, free, true)
        }
    };
    let detail = if moving {
        format!("Plugged on interface {name}")
    } else {
        format!("Updated existing interface {name}")
    };
    let plan = PlugPlan {
        current,
        namespace: state.namespace.clone(),
        moving,
        name,
        mtu: body.mtu,
        addresses,
        gateway: None,
        routes: Vec::new(),
    };
    if let Err(e) = record(&state, &plan, &mac, "backend").and_then(|()| state.host.plug(&plan)) {
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error plugging network",
            &e,
        );
    }
    message(StatusCode::ACCEPTED, &Message::with_details("OK", detail))
}

/// `GET /1.0/interface/{ip}`: the interface carrying the address in the namespace.
pub async fn get_interface(State(state): State<Arc<AppState>>, Path(ip): Path<String>) -> Response {
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return message(StatusCode::BAD_REQUEST, &Message::new("Invalid IP address"));
    };
    let links = state.host.links(state.namespace.as_deref());
    match links.into_iter().find(|l| l.addresses.contains(&ip)) {
        Some(link) => json_response(
            StatusCode::OK,
            &InterfaceBody {
                message: "OK".into(),
                interface: link.name,
            },
        ),
        None => message(
            StatusCode::NOT_FOUND,
            &Message::new("Error interface not found for IP address"),
        ),
    }
}

/// Flask's `get_json()` reads only JSON-typed bodies; the stock agent turns anything
/// else into its 400.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

fn werkzeug_400(description: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &WerkzeugError::bad_request(description),
    )
}

/// Records the port as stock does, so a re-plug after a reboot knows it: `<mac> <name>`
/// in `base_path/plugged_interfaces` and `<name>.json` in the interface directory.
fn record(state: &AppState, plan: &PlugPlan, mac: &str, kind: &str) -> Result<(), String> {
    let file = state.base_path.join("plugged_interfaces");
    let existing = std::fs::read_to_string(&file).unwrap_or_default();
    let line = format!("{mac} {}", plan.name);
    if !existing.lines().any(|l| l == line) {
        let text = format!("{existing}{line}\n");
        std::fs::create_dir_all(&state.base_path)
            .and_then(|()| std::fs::write(&file, text))
            .map_err(|e| format!("{}: {e}", file.display()))?;
    }
    let iface = json!({
        "name": plan.name,
        "if_type": kind,
        "mtu": plan.mtu,
        "addresses": plan.addresses.iter().map(|(a, p)| json!({"address": a.to_string(), "prefixlen": p})).collect::<Vec<_>>(),
        "routes": plan.gateway.iter().map(|g| json!({"dst": "default", "gateway": g.to_string(), "onlink": true}))
            .chain(plan.routes.iter().map(|(d, v)| json!({"dst": d, "gateway": v.to_string()}))).collect::<Vec<_>>(),
        "rules": [],
        "scripts": {"up": [], "down": []},
        "is_sriov": false,
    });
    let path = state.network_dir.join(format!("{}.json", plan.name));
    std::fs::create_dir_all(&state.network_dir)
        .and_then(|()| std::fs::write(&path, iface.to_string()))
        .map_err(|e| format!("{}: {e}", path.display()))
}
