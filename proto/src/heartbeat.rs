//! The amphora heartbeat: message version 3 and its envelope (octavia-protocol.md §2).
//!
//! Envelope: `zlib(json, level 9) || hex(HMAC-SHA256(key, compressed))`, 64 lower-case
//! hex characters appended with no separator. Receivers also accept the legacy form
//! with the 32 raw digest bytes (pre-2018 amphorae), and compare in constant time.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use aws_lc_rs::{constant_time, hmac};
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use serde::{Deserialize, Serialize};

/// Message format version octa sends.
pub const VERSION: u32 = 3;
/// Largest datagram a health manager reads (64 KiB); also the decompression bound.
pub const MAX_DATAGRAM: usize = 64 * 1024;
const HEX_LEN: usize = 64;
const RAW_LEN: usize = 32;

/// Why a datagram was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Shorter than a digest.
    #[error("Heartbeat of {0} bytes is too short to carry an HMAC")]
    TooShort(usize),
    /// Neither the hex nor the raw digest matches: wrong key or tampered.
    #[error("Heartbeat HMAC does not match (wrong heartbeat_key, or a tampered datagram)")]
    BadHmac,
    /// The payload is not zlib, or inflates past the bound.
    #[error("Heartbeat payload is not valid zlib data within {MAX_DATAGRAM} bytes")]
    BadCompression,
    /// The JSON does not parse as a heartbeat.
    #[error("Heartbeat JSON is not a heartbeat message: {0}")]
    BadJson(String),
}

/// Per-listener statistics (deltas since the previous heartbeat, except `conns`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerStats {
    /// Bytes sent.
    pub tx: u64,
    /// Bytes received.
    pub rx: u64,
    /// Current sessions (absolute).
    pub conns: u64,
    /// New sessions.
    pub totconns: u64,
    /// Request errors.
    pub ereq: u64,
}

/// One listener's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerHealth {
    /// HAProxy frontend status: `OPEN`, `FULL` or `STOP`.
    pub status: String,
    /// Statistics.
    pub stats: ListenerStats,
}

/// One pool's entry, keyed `<pool_id>:<listener_id>` (HAProxy) or `<pool_id>` (LVS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolHealth {
    /// `UP` or `DOWN`.
    pub status: String,
    /// Member id to HAProxy server status (`UP`, `DOWN`, `DRAIN`, `MAINT`, `no check`...).
    pub members: BTreeMap<String, String>,
}

/// A heartbeat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Amphora id.
    pub id: String,
    /// Sequence number, from 0 at sender start.
    pub seq: u64,
    /// Format version; absent in pre-Rocky senders.
    #[serde(default)]
    pub ver: u32,
    /// Listener id to health.
    #[serde(default)]
    pub listeners: BTreeMap<String, ListenerHealth>,
    /// Pool key to health.
    #[serde(default)]
    pub pools: BTreeMap<String, PoolHealth>,
}

fn tag(key: &[u8], data: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
}

/// Wraps a message: compressed JSON followed by the hex HMAC.
pub fn wrap(message: &Heartbeat, key: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(message).expect("invariant: a heartbeat always serializes");
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    encoder
        .write_all(&json)
        .expect("invariant: writing to a Vec cannot fail");
    let mut datagram = encoder
        .finish()
        .expect("invariant: writing to a Vec cannot fail");
    let digest = hex::encode(tag(key, &datagram).as_ref());
    datagram.extend_from_slice(digest.as_bytes());
    datagram
}

/// Verifies and opens a datagram; hex digest first, then the legacy raw digest.
pub fn unwrap(datagram: &[u8], key: &[u8]) -> Result<Heartbeat, EnvelopeError> {
    let payload = verified_payload(datagram, key)?;
    let mut json = Vec::new();
    ZlibDecoder::new(payload)
        .take(MAX_DATAGRAM as u64 * 16)
        .read_to_end(&mut json)
        .map_err(|_| EnvelopeError::BadCompression)?;
    serde_json::from_slice(&json).map_err(|e| EnvelopeError::BadJson(e.to_string()))
}

fn verified_payload<'a>(datagram: &'a [u8], key: &[u8]) -> Result<&'a [u8], EnvelopeError> {
    if datagram.len() < RAW_LEN {
        return Err(EnvelopeError::TooShort(datagram.len()));
    }
    if datagram.len() > HEX_LEN {
        let (payload, mac) = datagram.split_at(datagram.len() - HEX_LEN);
        let expected = hex::encode(tag(key, payload).as_ref());
        if constant_time::verify_slices_are_equal(expected.as_bytes(), mac).is_ok() {
            return Ok(payload);
        }
    }
    let (payload, mac) = datagram.split_at(datagram.len() - RAW_LEN);
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), payload, mac)
        .map(|()| payload)
        .map_err(|_| EnvelopeError::BadHmac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Heartbeat {
        let mut listeners = BTreeMap::new();
        listeners.insert(
            "l1".to_owned(),
            ListenerHealth {
                status: "OPEN".into(),
                stats: ListenerStats {
                    tx: 10,
                    rx: 20,
                    conns: 1,
                    totconns: 2,
                    ereq: 0,
                },
            },
        );
        let mut members = BTreeMap::new();
        members.insert("m1".to_owned(), "UP".to_owned());
        let mut pools = BTreeMap::new();
        pools.insert(
            "p1:l1".to_owned(),
            PoolHealth {
                status: "UP".into(),
                members,
            },
        );
        Heartbeat {
            id: "amp-1".into(),
            seq: 7,
            ver: VERSION,
            listeners,
            pools,
        }
    }

    #[test]
    fn round_trip_and_the_hex_digest_layout() {
        let d = wrap(&sample(), b"key");
        let (payload, mac) = d.split_at(d.len() - 64);
        assert!(
            mac.iter()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        );
        assert_eq!(payload[0], 0x78, "zlib header");
        assert_eq!(unwrap(&d, b"key").unwrap(), sample());
    }

    #[test]
    fn wrong_key_tampering_and_short_datagrams_are_refused() {
        let d = wrap(&sample(), b"key");
        assert_eq!(unwrap(&d, b"other"), Err(EnvelopeError::BadHmac));
        let mut bad = d.clone();
        bad[3] ^= 1;
        assert_eq!(unwrap(&bad, b"key"), Err(EnvelopeError::BadHmac));
        assert_eq!(unwrap(&d[..10], b"key"), Err(EnvelopeError::TooShort(10)));
    }

    #[test]
    fn the_legacy_raw_digest_is_accepted() {
        let d = wrap(&sample(), b"key");
        let payload = &d[..d.len() - 64];
        let mut legacy = payload.to_vec();
        legacy.extend_from_slice(tag(b"key", payload).as_ref());
        assert_eq!(unwrap(&legacy, b"key").unwrap(), sample());
    }
}
