//! The kernel side of an interface, converged through rtnetlink: MAC (set before the
//! link goes up, so IPv6 link-local addresses derive from the right one), MTU, static
//! addresses, link up. Stale addresses inside a wanted address's subnet are removed;
//! routes are never added, and IPv6 router advertisements are ignored on the interface
//! (`accept_ra=0`), so it can never grow a default route.

use std::net::IpAddr;
use std::time::Duration;

use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::Handle;
use rtnetlink::LinkUnspec;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use tokio::time::{Instant, sleep};

use crate::error::{NetError, Result, errno};
use crate::netns::NetnsGuard;

/// The desired kernel state of an interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkSpec {
    /// Interface name.
    pub name: String,
    /// MAC address.
    pub mac: [u8; 6],
    /// MTU, if one is wanted.
    pub mtu: Option<u32>,
    /// Static addresses with their prefix.
    pub addresses: Vec<IpNet>,
}

/// The kernel state of an interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkObserved {
    /// Interface index.
    pub index: u32,
    /// MAC address, `aa:bb:...`.
    pub mac: Option<String>,
    /// MTU.
    pub mtu: Option<u32>,
    /// Administratively up.
    pub up: bool,
    /// Addresses (link-local ones included).
    pub addresses: Vec<IpNet>,
}

/// Formats a MAC as lower-case colon hex.
pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff` (or `-` separators), naming what is accepted.
pub fn parse_mac(text: &str) -> Result<[u8; 6]> {
    let bad = || NetError::Invalid {
        field: "MAC",
        value: text.to_owned(),
        expected: "six hex octets such as fa:16:3e:12:34:56",
    };
    let parts: Vec<&str> = text.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (slot, part) in mac.iter_mut().zip(parts) {
        if part.len() != 2 {
            return Err(bad());
        }
        *slot = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 == 1 || mac == [0; 6] {
        return Err(bad()); // multicast or all-zero: not an interface address
    }
    Ok(mac)
}

/// Wraps a netlink error with the operation and the interface it was about.
pub(crate) fn netlink(op: &'static str, iface: &str) -> impl FnOnce(rtnetlink::Error) -> NetError {
    let iface = iface.to_owned();
    move |source| NetError::Netlink { op, iface, source }
}

/// Sends one link change (`LinkUnspec::...build()`); `op` and `name` go into its error.
pub(crate) async fn set_link(
    handle: &Handle,
    msg: LinkMessage,
    op: &'static str,
    name: &str,
) -> Result<()> {
    handle
        .link()
        .set(msg)
        .execute()
        .await
        .map_err(netlink(op, name))
}

async fn get_link(handle: &Handle, name: &str) -> Result<Option<LinkMessage>> {
    let mut links = handle.link().get().match_name(name.to_owned()).execute();
    match links.try_next().await {
        Ok(link) => Ok(link),
        Err(e) if errno(&e) == Some(nix::libc::ENODEV) => Ok(None),
        Err(e) => Err(netlink("get link", name)(e)),
    }
}

/// The kernel state of `name`, if the interface exists.
pub async fn observe_link(handle: &Handle, name: &str) -> Result<Option<LinkObserved>> {
    let Some(link) = get_link(handle, name).await? else {
        return Ok(None);
    };
    let mut seen = LinkObserved {
        index: link.header.index,
        mac: None,
        mtu: None,
        up: link.header.flags.contains(LinkFlags::Up),
        addresses: Vec::new(),
    };
    for attr in &link.attributes {
        match attr {
            LinkAttribute::Address(mac) => seen.mac = Some(format_mac(mac)),
            LinkAttribute::Mtu(mtu) => seen.mtu = Some(*mtu),
            _ => {}
        }
    }
    seen.addresses = addresses(handle, seen.index, name)
        .await?
        .into_iter()
        .map(|(net, _)| net)
        .collect();
    Ok(Some(seen))
}

/// The addresses of link `index` with their messages (for deleting or reading flags).
pub(crate) async fn addresses(
    handle: &Handle,
    index: u32,
    name: &str,
) -> Result<Vec<(IpNet, AddressMessage)>> {
    let msgs: Vec<AddressMessage> = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .map_err(netlink("list addresses", name))?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| address_net(&m).map(|net| (net, m)))
        .collect())
}

/// The address of an address message, with its prefix.
pub(crate) fn address_net(msg: &AddressMessage) -> Option<IpNet> {
    IpNet::new(address_of(msg)?, msg.header.prefix_len).ok()
}

fn address_of(msg: &AddressMessage) -> Option<IpAddr> {
    let local = msg.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    local.or_else(|| {
        msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })
}

/// Waits until the kernel has the netdev `name` (ovs-vswitchd creates it asynchronously).
pub async fn wait_for_link(handle: &Handle, name: &str, deadline: Duration) -> Result<()> {
    let end = Instant::now() + deadline;
    let mut pause = Duration::from_millis(2);
    while get_link(handle, name).await?.is_none() {
        if Instant::now() >= end {
            return Err(NetError::Timeout {
                what: format!(
                    "the kernel interface {name} to appear (is ovs-vswitchd running in this namespace?)"
                ),
                secs: deadline.as_secs(),
            });
        }
        sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    Ok(())
}

/// Converges the interface to `spec`; returns what was changed (empty: nothing written).
/// `handle` must be a netlink connection opened in namespace `netns` (`None`: the
/// caller's own), as [`crate::netns::with_netlink`] gives; the sysctl is written there too.
pub async fn ensure_link(
    handle: &Handle,
    spec: &LinkSpec,
    netns: Option<&str>,
) -> Result<Vec<String>> {
    let name = spec.name.as_str();
    let seen = observe_link(handle, name)
        .await?
        .ok_or_else(|| NetError::Timeout {
            what: format!("the kernel interface {name}"),
            secs: 0,
        })?;
    let mut changes = Vec::new();
    let mac = format_mac(&spec.mac);
    if seen.mac.as_deref() != Some(mac.as_str()) {
        let msg = LinkUnspec::new_with_index(seen.index)
            .address(spec.mac.to_vec())
            .build();
        set_link(handle, msg, "set MAC", name).await?;
        changes.push(format!("MAC {mac}"));
    }
    if let Some(mtu) = spec.mtu.filter(|m| seen.mtu != Some(*m)) {
        let msg = LinkUnspec::new_with_index(seen.index).mtu(mtu).build();
        set_link(handle, msg, "set MTU", name).await?;
        changes.push(format!("MTU {mtu}"));
    }
    if ignore_router_advertisements(netns, name)? {
        changes.push("accept_ra 0".to_owned());
    }
    changes.extend(converge_addresses(handle, seen.index, spec).await?);
    if !seen.up {
        let msg = LinkUnspec::new_with_index(seen.index).up().build();
        set_link(handle, msg, "set up", name).await?;
        changes.push("up".to_owned());
    }
    Ok(changes)
}

async fn converge_addresses(handle: &Handle, index: u32, spec: &LinkSpec) -> Result<Vec<String>> {
    let name = spec.name.as_str();
    let present = addresses(handle, index, name).await?;
    let mut changes = Vec::new();
    for (net, msg) in &present {
        // Stale: inside a wanted subnet but not exactly the wanted address and prefix.
        let stale = !spec.addresses.contains(net)
            && spec
                .addresses
                .iter()
                .any(|want| want.trunc().contains(&net.addr()));
        if stale {
            handle
                .address()
                .del(msg.clone())
                .execute()
                .await
                .map_err(netlink("delete address", name))?;
            changes.push(format!("removed {net}"));
        }
    }
    for want in &spec.addresses {
        if !present.iter().any(|(net, _)| net == want) {
            handle
                .address()
                .add(index, want.addr(), want.prefix_len())
                .execute()
                .await
                .map_err(netlink("add address", name))?;
            changes.push(format!("added {want}"));
        }
    }
    Ok(changes)
}

/// Sets `net.ipv6.conf.<name>.accept_ra` to 0 (read, compare, write); true if written.
/// /proc/sys/net shows the namespace of the thread that opens it, and netlink cannot set
/// IPv6 device options, so this enters `netns` for the two file accesses (no await).
fn ignore_router_advertisements(netns: Option<&str>, name: &str) -> Result<bool> {
    let _guard = netns.map(NetnsGuard::enter).transpose()?;
    let path = format!("/proc/sys/net/ipv6/conf/{name}/accept_ra");
    let Ok(current) = std::fs::read_to_string(&path) else {
        return Ok(false); // IPv6 disabled on this host: nothing to ignore
    };
    if current.trim() == "0" {
        return Ok(false);
    }
    std::fs::write(&path, "0").map_err(|source| NetError::File { path, source })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_and_print() {
        assert_eq!(
            format_mac(&parse_mac("FA:16:3e:00:0a:ff").unwrap()),
            "fa:16:3e:00:0a:ff"
        );
        for bad in [
            "",
            "fa:16:3e:00:0a",
            "fa:16:3e:00:0a:ff:00",
            "zz:16:3e:00:0a:ff",
            "01:00:5e:00:00:01",
            "00:00:00:00:00:00",
            "fa:16:3e:0:a:ff",
        ] {
            let err = parse_mac(bad).unwrap_err();
            assert!(err.to_string().contains("six hex octets"), "{bad}: {err}");
        }
    }
}
