//! Read-only view of the host's routing tables through rtnetlink: which prefixes are
//! already reachable through which interface, so an installer can refuse a management
//! CIDR that overlaps a route it does not own.

use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use rtnetlink::{Handle, RouteMessageBuilder};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{NetError, Result};

/// One unicast route: its destination prefix and the interface index it leaves through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRoute {
    pub prefix: IpNet,
    pub oif: Option<u32>,
}

/// Unicast routes of every table, IPv4 and IPv6, without default routes (a default route
/// overlaps everything and says nothing about a conflict).
pub async fn unicast_routes(handle: &Handle) -> Result<Vec<LocalRoute>> {
    let v4 = RouteMessageBuilder::<Ipv4Addr>::new().build();
    let v6 = RouteMessageBuilder::<Ipv6Addr>::new().build();
    let mut out = Vec::new();
    for query in [v4, v6] {
        let msgs: Vec<RouteMessage> = handle
            .route()
            .get(query)
            .execute()
            .try_collect()
            .await
            .map_err(|source| NetError::Netlink {
                op: "list routes",
                iface: "all interfaces".to_owned(),
                source,
            })?;
        out.extend(msgs.iter().filter_map(as_local_route));
    }
    Ok(out)
}

fn as_local_route(msg: &RouteMessage) -> Option<LocalRoute> {
    if msg.header.kind != RouteType::Unicast || msg.header.destination_prefix_length == 0 {
        return None;
    }
    let dest: IpAddr = msg.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(IpAddr::V4(*ip)),
        RouteAttribute::Destination(RouteAddress::Inet6(ip)) => Some(IpAddr::V6(*ip)),
        _ => None,
    })?;
    let oif = msg.attributes.iter().find_map(|a| match a {
        RouteAttribute::Oif(i) => Some(*i),
        _ => None,
    });
    let prefix = IpNet::new(dest, msg.header.destination_prefix_length).ok()?;
    Some(LocalRoute {
        prefix: prefix.trunc(),
        oif,
    })
}
