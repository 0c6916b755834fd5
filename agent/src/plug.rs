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
//! Interfaces get the stock layout (`ifaces`): addresses, routes, VIP policy routing in
//! table 1 outside ACTIVE_STANDBY, and the interface file stock's `amphora-interface`
//! re-plugs from after a reboot; the kernel side goes through `netplumb` (`netops`).
//! When the MAC is not found, the PCI bus is rescanned (as stock) so a port Nova is
//! still hot-plugging shows up for the controller's retry.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use ipnet::IpNet;
use octa_proto::amphora::{
    DetailsOnly, FixedIp, HostRoute, InterfaceBody, Message, PlugNetwork, PlugVip, WerkzeugError,
};

use crate::api::AppState;
use crate::ifaces::{self, Fixed, Vip};
use crate::netops::PlugPlan;
use crate::respond::{failure, json_response, message};

/// The VIP interface's name inside the namespace.
pub const VIP_INTERFACE: &str = "eth1";

fn not_a_network(cidr: &str) -> String {
    format!("'{cidr}' does not appear to be an IPv4 or IPv6 network")
}

/// `a.b.c.d/n` → its prefix length, refusing host bits as Python's `ip_network` does.
fn prefix_of(cidr: &str) -> Result<(IpAddr, u8), String> {
    let net: IpNet = cidr.parse().map_err(|_| not_a_network(cidr))?;
    if net.trunc() != net {
        return Err(format!("{cidr} has host bits set"));
    }
    Ok((net.addr(), net.prefix_len()))
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("'{text}' does not appear to be an IPv4 or IPv6 address"))
}

fn routes(host_routes: &[HostRoute]) -> Result<Vec<(IpNet, IpAddr)>, String> {
    host_routes
        .iter()
        .map(|r| {
            let dst: IpNet = r
                .destination
                .parse()
                .map_err(|_| not_a_network(&r.destination))?;
            Ok((dst.trunc(), parse_ip(&r.nexthop)?))
        })
        .collect()
}

fn gateway(text: Option<&str>) -> Result<Option<IpAddr>, String> {
    text.filter(|g| !g.is_empty()).map(parse_ip).transpose()
}

fn no_interface() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &DetailsOnly {
            details: "No suitable network interface found".into(),
        },
    )
}

/// The VIPs of a plug-VIP body (or a `vip_net_info`), checked as stock's `render_vips`.
fn vips(vip: &str, body: &PlugVip) -> Result<Vec<Vip>, Message> {
    let invalid = |e: String| Message::new(format!("Invalid VIP: {e}"));
    let mut out = vec![Vip {
        ip: parse_ip(vip).map_err(invalid)?,
        prefixlen: prefix_of(&body.subnet_cidr).map_err(invalid)?.1,
        gateway: gateway(body.gateway.as_deref()).map_err(invalid)?,
        host_routes: routes(&body.host_routes).map_err(invalid)?,
    }];
    for extra in &body.additional_vips {
        out.push(Vip {
            ip: parse_ip(&extra.ip_address).map_err(invalid)?,
            prefixlen: prefix_of(&extra.subnet_cidr).map_err(invalid)?.1,
            gateway: gateway(extra.gateway.as_deref()).map_err(invalid)?,
            host_routes: routes(&extra.host_routes).map_err(invalid)?,
        });
    }
    Ok(out)
}

/// This amphora's own address on the VIP subnet, with the subnet's prefix.
fn vrrp_address(body: &PlugVip) -> Result<Option<IpNet>, Message> {
    let bad = |e: String| Message::new(format!("Invalid VRRP Address: {e}"));
    let Some(vrrp) = body.vrrp_ip.as_deref() else {
        return Ok(None);
    };
    let ip = parse_ip(vrrp).map_err(bad)?;
    let prefix = prefix_of(&body.subnet_cidr).map_err(bad)?.1;
    IpNet::new(ip, prefix)
        .map(Some)
        .map_err(|e| bad(e.to_string()))
}

fn families(addresses: impl Iterator<Item = IpAddr>) -> Vec<u8> {
    let mut out: Vec<u8> = addresses.map(|a| if a.is_ipv4() { 4 } else { 6 }).collect();
    out.sort_unstable();
    out.dedup();
    out
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
    let vips = match vips(&vip, &body) {
        Ok(v) => v,
        Err(refused) => return message(StatusCode::BAD_REQUEST, &refused),
    };
    let vrrp = match vrrp_address(&body) {
        Ok(v) => v,
        Err(refused) => return message(StatusCode::BAD_REQUEST, &refused),
    };
    let mac = body.mac_address.to_lowercase();
    let ns = state.namespace.as_deref();
    if ns.is_some() && state.host.links(ns).await.iter().any(|l| l.mac == mac) {
        return message(
            StatusCode::CONFLICT,
            &Message::new("Interface already exists"),
        );
    }
    if !state.host.links(None).await.iter().any(|l| l.mac == mac) {
        state.host.rescan_pci();
        return no_interface();
    }
    let iface = ifaces::vip_iface(
        VIP_INTERFACE,
        body.mtu,
        &vips,
        vrrp,
        &[],
        state.active_standby,
    );
    let fams = families(vips.iter().map(|v| v.ip));
    let plan = PlugPlan {
        mac: mac.clone(),
        namespace: state.namespace.clone(),
        moving: ns.is_some(),
        iface,
    };
    if let Err(e) = record(&state, &plan, &fams) {
        return failure(StatusCode::INTERNAL_SERVER_ERROR, "Error plugging VIP", &e);
    }
    if let Err(e) = state.host.plug(&plan).await {
        return failure(StatusCode::INTERNAL_SERVER_ERROR, "Error plugging VIP", &e);
    }
    let listed: Vec<String> = vips.iter().map(|v| v.ip.to_string()).collect();
    message(
        StatusCode::ACCEPTED,
        &Message::with_details(
            "OK",
            format!(
                "VIPs plugged on interface {VIP_INTERFACE}: {}",
                listed.join(", ")
            ),
        ),
    )
}

/// The fixed IPs of a plug-network body; `None`: one is not an address (stock's 400).
fn fixed_ips(list: &[FixedIp]) -> Option<Vec<Fixed>> {
    list.iter()
        .map(|f| {
            let ip: IpAddr = f.ip_address.parse().ok()?;
            let prefix = f
                .subnet_cidr
                .as_deref()
                .and_then(|c| prefix_of(c).ok())
                .map_or(if ip.is_ipv4() { 32 } else { 128 }, |(_, p)| p);
            Some(Fixed {
                address: IpNet::new(ip, prefix).ok()?,
                gateway: gateway(f.gateway.as_deref()).ok()?,
                host_routes: routes(&f.host_routes).ok()?,
            })
        })
        .collect()
}

/// A `vip_net_info` (the plug-VIP body plus `vip`) as the VIP interface it describes.
fn vip_net_info(info: &serde_json::Value) -> Result<(Vec<Vip>, Option<IpNet>), Message> {
    let body: PlugVip = serde_json::from_value(info.clone())
        .map_err(|e| Message::new(format!("Invalid VIP: {e}")))?;
    let vip = info["vip"]
        .as_str()
        .ok_or_else(|| Message::new("Invalid VIP: no vip"))?;
    Ok((vips(vip, &body)?, vrrp_address(&body)?))
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
    let Some(fixed) = fixed_ips(body.fixed_ips.as_deref().unwrap_or_default()) else {
        return message(
            StatusCode::BAD_REQUEST,
            &Message::new("Invalid network port"),
        );
    };
    let vip_info = match body.vip_net_info.as_ref().map(vip_net_info).transpose() {
        Ok(v) => v,
        Err(refused) => return message(StatusCode::BAD_REQUEST, &refused),
    };
    let mac = body.mac_address.to_lowercase();
    let ns = state.namespace.as_deref();
    let inside = if ns.is_some() {
        state.host.links(ns).await
    } else {
        Vec::new()
    };
    let (name, moving) = match inside.iter().find(|l| l.mac == mac) {
        Some(l) => (l.name.clone(), false),
        None => {
            if !state.host.links(None).await.iter().any(|l| l.mac == mac) {
                state.host.rescan_pci();
                return no_interface();
            }
            // The first free ethN, N >= 2 (eth1 is the VIP's), as stock since 2023.
            let free = (2..)
                .map(|n| format!("eth{n}"))
                .find(|n| !inside.iter().any(|l| &l.name == n))
                .unwrap_or_default();
            (free, ns.is_some())
        }
    };
    let detail = if moving {
        format!("Plugged on interface {name}")
    } else {
        format!("Updated existing interface {name}")
    };
    let (iface, fams) = match &vip_info {
        Some((vips, vrrp)) => (
            ifaces::vip_iface(&name, body.mtu, vips, *vrrp, &fixed, state.active_standby),
            families(
                vips.iter()
                    .map(|v| v.ip)
                    .chain(fixed.iter().map(|f| f.address.addr())),
            ),
        ),
        None if fixed.is_empty() => (ifaces::port_iface(&name, body.mtu, &fixed), vec![4, 6]),
        None => (
            ifaces::port_iface(&name, body.mtu, &fixed),
            families(fixed.iter().map(|f| f.address.addr())),
        ),
    };
    let plan = PlugPlan {
        mac,
        namespace: state.namespace.clone(),
        moving,
        iface,
    };
    let plugged = match record(&state, &plan, &fams) {
        Ok(()) => state.host.plug(&plan).await,
        Err(e) => Err(e),
    };
    if let Err(e) = plugged {
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
    let links = state.host.links(state.namespace.as_deref()).await;
    match links
        .into_iter()
        .find(|l| l.addresses.iter().any(|a| a.addr() == ip))
    {
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
/// in `base_path/plugged_interfaces` and `<name>.json` (stock's interface file, mode
/// 0644) in the interface directory.
fn record(state: &AppState, plan: &PlugPlan, families: &[u8]) -> Result<(), String> {
    let file = state.base_path.join("plugged_interfaces");
    let existing = std::fs::read_to_string(&file).unwrap_or_default();
    let line = format!("{} {}", plan.mac, plan.iface.name);
    if !existing.lines().any(|l| l == line) {
        let text = format!("{existing}{line}\n");
        std::fs::create_dir_all(&state.base_path)
            .and_then(|()| std::fs::write(&file, text))
            .map_err(|e| format!("{}: {e}", file.display()))?;
    }
    let iface = ifaces::interface_file(&plan.iface, families);
    let path = state.network_dir.join(format!("{}.json", plan.iface.name));
    std::fs::create_dir_all(&state.network_dir)
        .and_then(|()| std::fs::write(&path, iface.to_string()))
        .map_err(|e| format!("{}: {e}", path.display()))
}
