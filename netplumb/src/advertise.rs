//! Telling the segment that addresses now live behind an interface: a gratuitous ARP
//! request (RFC 5227 announcement) for each IPv4 address and an unsolicited neighbour
//! advertisement with the override flag (RFC 4861 §7.2.6) for each IPv6 address, as
//! raw Ethernet frames from inside the interface's namespace. Switches and neighbours
//! then forward to the new owner at once instead of after their caches expire - what a
//! VIP needs after it was plugged or its haproxy started on a new amphora.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pnet_datalink::Channel;

use crate::error::{NetError, Result};
use crate::netns::NetnsGuard;

const BROADCAST: [u8; 6] = [0xff; 6];
/// The all-nodes multicast group's MAC (33:33 + the low 32 bits of ff02::1).
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A gratuitous ARP request for `ip` from `mac`.
pub fn garp_frame(mac: [u8; 6], ip: Ipv4Addr) -> Vec<u8> {
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&BROADCAST);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&0x0806u16.to_be_bytes()); // ARP
    frame.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]); // Ethernet/IPv4, request
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ip.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&ip.octets()); // sender = target: gratuitous
    frame
}

/// An unsolicited neighbour advertisement (override set) for `ip` from `mac` to all nodes.
pub fn unsolicited_na_frame(mac: [u8; 6], ip: Ipv6Addr) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[136, 0, 0, 0]); // type NA, code 0, checksum later
    icmp.extend_from_slice(&0x2000_0000u32.to_be_bytes()); // O flag, not solicited
    icmp.extend_from_slice(&ip.octets());
    icmp.extend_from_slice(&[2, 1]); // option: target link-layer address, 8 bytes
    icmp.extend_from_slice(&mac);
    let checksum = icmpv6_checksum(ip, ALL_NODES, &icmp);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());

    let mut frame = Vec::with_capacity(14 + 40 + icmp.len());
    frame.extend_from_slice(&ALL_NODES_MAC);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&0x86ddu16.to_be_bytes()); // IPv6
    frame.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, no class or flow label
    frame.extend_from_slice(&u16::try_from(icmp.len()).unwrap_or(32).to_be_bytes());
    frame.extend_from_slice(&[58, 255]); // next header ICMPv6, hop limit 255 (RFC 4861)
    frame.extend_from_slice(&ip.octets());
    frame.extend_from_slice(&ALL_NODES.octets());
    frame.extend_from_slice(&icmp);
    frame
}

/// The ICMPv6 checksum: one's complement sum over the pseudo-header and the message.
fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(40 + message.len());
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&u32::try_from(message.len()).unwrap_or(0).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    pseudo.extend_from_slice(message);
    let mut sum: u32 = pseudo
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// Sends one announcement for each address out of interface `iface` in namespace
/// `netns` (`None`: the caller's own), `count` times each. Blocks the calling thread for
/// the few sends; the namespace is entered on a thread of its own.
pub fn announce(netns: Option<&str>, iface: &str, addresses: &[IpAddr], count: u32) -> Result<()> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| announce_here(netns, iface, addresses, count))
            .join()
            .unwrap_or_else(|_| {
                Err(NetError::Netns {
                    name: netns.unwrap_or("(own)").to_owned(),
                    source: std::io::Error::other("the announcing thread panicked"),
                })
            })
    })
}

fn announce_here(netns: Option<&str>, iface: &str, addresses: &[IpAddr], count: u32) -> Result<()> {
    let _guard = netns.map(NetnsGuard::enter).transpose()?;
    let io_err = |source: std::io::Error| NetError::File {
        path: format!("AF_PACKET socket on {iface}"),
        source,
    };
    let interface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == iface)
        .ok_or_else(|| NetError::Invalid {
            field: "interface",
            value: iface.to_owned(),
            expected: "an interface of the namespace",
        })?;
    let mac = interface
        .mac
        .map(|m| m.octets())
        .ok_or_else(|| NetError::Invalid {
            field: "interface",
            value: iface.to_owned(),
            expected: "an Ethernet interface with a MAC address",
        })?;
    let mut tx = match pnet_datalink::channel(&interface, pnet_datalink::Config::default()) {
        Ok(Channel::Ethernet(tx, _rx)) => tx,
        Ok(_) => return Err(io_err(std::io::Error::other("not an Ethernet channel"))),
        Err(e) => return Err(io_err(e)),
    };
    for _ in 0..count {
        for address in addresses {
            let frame = match address {
                IpAddr::V4(v4) => garp_frame(mac, *v4),
                IpAddr::V6(v6) => unsolicited_na_frame(mac, *v6),
            };
            if let Some(sent) = tx.send_to(&frame, None) {
                sent.map_err(io_err)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_is_a_request_whose_sender_is_its_target() {
        let mac = [0xfa, 0x16, 0x3e, 1, 2, 3];
        let frame = garp_frame(mac, Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(frame.len(), 42);
        assert_eq!(&frame[12..14], &[0x08, 0x06]);
        assert_eq!(&frame[20..22], &[0, 1], "opcode request");
        assert_eq!(&frame[22..28], &mac);
        assert_eq!(&frame[28..32], &[10, 0, 0, 5]);
        assert_eq!(&frame[38..42], &[10, 0, 0, 5]);
    }

    #[test]
    fn na_checksum_verifies() {
        let ip: Ipv6Addr = "2001:db8::5".parse().expect("literal");
        let frame = unsolicited_na_frame([0xfa, 0x16, 0x3e, 1, 2, 3], ip);
        let icmp = &frame[54..];
        assert_eq!(icmp.len(), 32);
        // Summing the message with its checksum in place gives 0xffff: checksum 0.
        assert_eq!(icmpv6_checksum(ip, ALL_NODES, icmp), 0);
        assert_eq!(icmp[0], 136);
        assert_eq!(icmp[4], 0x20, "override flag set, solicited clear");
    }
}
