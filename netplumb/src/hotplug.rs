//! Hot-plugged ports of an amphora, through rtnetlink: every link of a namespace with its
//! MAC, addresses and byte counters; moving a link (found by MAC) into another namespace;
//! and converging one interface to an [`IfaceSpec`] - name, MTU, addresses, routes in any
//! table (the VIP's policy-routing table 1 included) and source rules - the way stock
//! Octavia's `amphora-interface up` applies an interface file.
//!
//! Routes and rules that already exist count as done (the kernel answers EEXIST), so a
//! re-plug converges instead of failing. Static addresses the spec does not name are
//! removed, except IPv6 link-local ones and those the spec says another tool owns
//! (keepalived's VIP under ACTIVE_STANDBY); dynamic ones (DHCP, SLAAC) stay, as stock.

use std::collections::HashMap;
use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use rtnetlink::packet_route::link::LinkAttribute;
use rtnetlink::packet_route::route::RouteScope;
use rtnetlink::packet_route::rule::RuleAction;
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};

use tokio::time::{Instant, sleep};

use crate::error::{NetError, Result, errno};
use crate::link::{addresses, format_mac, netlink, set_link};
use crate::netns::NETNS_DIR;

/// One link of a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSummary {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// MAC, lower-case colon hex (empty for links without one).
    pub mac: String,
    /// Its addresses with their prefixes.
    pub addresses: Vec<IpNet>,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Bytes received.
    pub rx_bytes: u64,
}

/// One route of an interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteSpec {
    /// Destination prefix (`0.0.0.0/0` for a default route).
    pub dst: IpNet,
    /// Next hop, if any.
    pub gateway: Option<IpAddr>,
    /// Preferred source address.
    pub prefsrc: Option<IpAddr>,
    /// Routing table (254 = main).
    pub table: u32,
    /// The next hop is on the link even outside its subnet.
    pub onlink: bool,
    /// Scope link (a directly reachable prefix) rather than universe.
    pub link_scope: bool,
}

/// A source-based policy rule: traffic from `src` is routed by `table`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleSpec {
    /// Source prefix.
    pub src: IpNet,
    /// Table to look up.
    pub table: u32,
}

/// The wanted state of one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfaceSpec {
    /// Its name (the link is renamed to it).
    pub name: String,
    /// MTU, if one is wanted.
    pub mtu: Option<u32>,
    /// Addresses to configure.
    pub addresses: Vec<IpNet>,
    /// Addresses another tool manages: never added, never removed.
    pub foreign_addresses: Vec<IpNet>,
    /// Routes.
    pub routes: Vec<RouteSpec>,
    /// Policy rules.
    pub rules: Vec<RuleSpec>,
}

/// The main routing table.
pub const MAIN_TABLE: u32 = 254;

/// Every link of the namespace `handle` was opened in.
pub async fn list_links(handle: &Handle) -> Result<Vec<LinkSummary>> {
    let links: Vec<_> = handle
        .link()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(netlink("list links", "all interfaces"))?;
    let mut addresses = all_addresses(handle).await?;
    Ok(links
        .into_iter()
        .map(|link| {
            let mut summary = LinkSummary {
                index: link.header.index,
                name: String::new(),
                mac: String::new(),
                addresses: addresses.remove(&link.header.index).unwrap_or_default(),
                tx_bytes: 0,
                rx_bytes: 0,
            };
            for attr in link.attributes {
                match attr {
                    LinkAttribute::IfName(name) => summary.name = name,
                    LinkAttribute::Address(mac) => summary.mac = format_mac(&mac),
                    LinkAttribute::Stats64(stats) => {
                        summary.tx_bytes = stats.tx_bytes;
                        summary.rx_bytes = stats.rx_bytes;
                    }
                    _ => {}
                }
            }
            summary
        })
        .collect())
}

/// The link with `mac` (lower-case colon hex), if the namespace has one.
pub async fn find_by_mac(handle: &Handle, mac: &str) -> Result<Option<LinkSummary>> {
    let mac = mac.to_ascii_lowercase();
    Ok(list_links(handle).await?.into_iter().find(|l| l.mac == mac))
}

async fn all_addresses(handle: &Handle) -> Result<HashMap<u32, Vec<IpNet>>> {
    let msgs: Vec<AddressMessage> = handle
        .address()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(netlink("list addresses", "all interfaces"))?;
    let mut out: HashMap<u32, Vec<IpNet>> = HashMap::new();
    for msg in msgs {
        if let Some(net) = crate::link::address_net(&msg) {
            out.entry(msg.header.index).or_default().push(net);
        }
    }
    Ok(out)
}

/// Takes link `index` down and moves it into the named namespace (`/run/netns/NAME`),
/// where it keeps its index only if that is free: look it up again there by MAC.
pub async fn move_to_netns(handle: &Handle, index: u32, name: &str, netns: &str) -> Result<()> {
    let path = format!("{NETNS_DIR}/{netns}");
    let target = File::open(&path).map_err(|source| NetError::Netns {
        name: netns.to_owned(),
        source,
    })?;
    // A link must be down to be renamed on the other side.
    let down = LinkUnspec::new_with_index(index).down().build();
    set_link(handle, down, "set down", name).await?;
    let moved = LinkUnspec::new_with_index(index)
        .setns_by_fd(target.as_raw_fd())
        .build();
    set_link(handle, moved, "move to namespace", name).await
}

/// Converges link `link` (of the namespace `handle` was opened in) to `spec`: renamed,
/// MTU, addresses, up, routes, rules. Returns what changed.
pub async fn configure(
    handle: &Handle,
    link: &LinkSummary,
    spec: &IfaceSpec,
) -> Result<Vec<String>> {
    let name = spec.name.as_str();
    let index = link.index;
    let mut changes = Vec::new();
    if link.name != spec.name {
        let down = LinkUnspec::new_with_index(index).down().build();
        set_link(handle, down, "set down", &link.name).await?;
        let rename = LinkUnspec::new_with_index(index).name(name).build();
        set_link(handle, rename, "rename", &link.name).await?;
        changes.push(format!("renamed {} to {name}", link.name));
    }
    if let Some(mtu) = spec.mtu {
        let msg = LinkUnspec::new_with_index(index).mtu(mtu).build();
        set_link(handle, msg, "set MTU", name).await?;
    }
    changes.extend(converge_addresses(handle, link, spec).await?);
    let up = LinkUnspec::new_with_index(index).up().build();
    set_link(handle, up, "set up", name).await?;
    // Routes with a VIP as source, and haproxy binding it, need the IPv6 addresses past
    // duplicate address detection, which starts only once the link is up.
    wait_tentative(handle, index, name, TENTATIVE_WAIT).await?;
    for route in &spec.routes {
        if add_route(handle, index, route)
            .await
            .map_err(netlink("add route", name))?
        {
            changes.push(format!("route {} table {}", route.dst, route.table));
        }
    }
    for rule in &spec.rules {
        if add_rule(handle, rule)
            .await
            .map_err(netlink("add rule", name))?
        {
            changes.push(format!("rule from {} table {}", rule.src, rule.table));
        }
    }
    Ok(changes)
}

async fn converge_addresses(
    handle: &Handle,
    link: &LinkSummary,
    spec: &IfaceSpec,
) -> Result<Vec<String>> {
    let name = spec.name.as_str();
    let mut changes = Vec::new();
    for (net, msg) in addresses(handle, link.index, name).await? {
        let link_local = matches!(net.addr(), IpAddr::V6(v6) if v6.is_unicast_link_local());
        if link_local
            || !is_permanent(&msg)
            || spec.addresses.contains(&net)
            || spec.foreign_addresses.contains(&net)
        {
            continue;
        }
        handle
            .address()
            .del(msg)
            .execute()
            .await
            .map_err(netlink("delete address", name))?;
        changes.push(format!("removed {net}"));
    }
    for want in &spec.addresses {
        let added = handle
            .address()
            .add(link.index, want.addr(), want.prefix_len())
            .execute()
            .await;
        match added {
            Ok(()) => changes.push(format!("address {want}")),
            Err(e) if errno(&e) == Some(nix::libc::EEXIST) => {}
            Err(e) => return Err(netlink("add address", name)(e)),
        }
    }
    Ok(changes)
}

/// A static address; DHCP leases and SLAAC addresses have lifetimes and are not ours to
/// remove (their clients renew or expire them).
fn is_permanent(msg: &AddressMessage) -> bool {
    msg.header.flags.contains(AddressHeaderFlags::Permanent)
        || msg
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Flags(f) if f.contains(AddressFlags::Permanent)))
}

/// How long duplicate address detection may take (one probe, one second, by default).
const TENTATIVE_WAIT: Duration = Duration::from_secs(5);

async fn wait_tentative(handle: &Handle, index: u32, name: &str, deadline: Duration) -> Result<()> {
    let end = Instant::now() + deadline;
    loop {
        let present = addresses(handle, index, name).await?;
        let tentative = present.iter().any(|(_, m)| {
            m.attributes.iter().any(
                |a| matches!(a, AddressAttribute::Flags(f) if f.contains(AddressFlags::Tentative)),
            )
        });
        if !tentative {
            return Ok(());
        }
        if Instant::now() >= end {
            // A link without carrier keeps its addresses tentative; the plug itself is
            // done, and they become usable with the carrier (stock warns and goes on too).
            tracing::warn!(
                "IPv6 addresses on {name} still tentative after {} s",
                deadline.as_secs()
            );
            return Ok(());
        }
        sleep(Duration::from_millis(50)).await;
    }
}

/// A route the builder refuses (a family mix-up) as a netlink error of its own.
fn invalid(e: impl std::fmt::Display) -> rtnetlink::Error {
    rtnetlink::Error::InvalidNla(e.to_string())
}

/// Adds the route; `false` if it was there already.
async fn add_route(
    handle: &Handle,
    index: u32,
    route: &RouteSpec,
) -> std::result::Result<bool, rtnetlink::Error> {
    let mut builder = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(route.dst.addr(), route.dst.prefix_len())
        .map_err(invalid)?
        .output_interface(index)
        .table_id(route.table);
    if let Some(gw) = route.gateway {
        builder = builder.gateway(gw).map_err(invalid)?;
    }
    if let Some(src) = route.prefsrc {
        builder = builder.pref_source(src).map_err(invalid)?;
    }
    if route.link_scope {
        builder = builder.scope(RouteScope::Link);
    }
    if route.onlink {
        builder = builder.onlink();
    }
    match handle.route().add(builder.build()).execute().await {
        Ok(()) => Ok(true),
        Err(e) if errno(&e) == Some(nix::libc::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Adds the rule; `false` if an identical one exists.
async fn add_rule(handle: &Handle, rule: &RuleSpec) -> std::result::Result<bool, rtnetlink::Error> {
    let request = handle
        .rule()
        .add()
        .table_id(rule.table)
        .action(RuleAction::ToTable);
    let added = match rule.src {
        IpNet::V4(net) => {
            request
                .v4()
                .source_prefix(net.addr(), net.prefix_len())
                .execute()
                .await
        }
        IpNet::V6(net) => {
            request
                .v6()
                .source_prefix(net.addr(), net.prefix_len())
                .execute()
                .await
        }
    };
    match added {
        Ok(()) => Ok(true),
        Err(e) if errno(&e) == Some(nix::libc::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}
