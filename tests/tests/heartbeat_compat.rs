//! octa's heartbeat codec against stock Octavia (lab tier): octa decodes what the lab's
//! stock amphora agent sends, and python3-octavia's own `unwrap_envelope` decodes what
//! octa wraps, each refusing a wrong key.

// Test helpers outside #[test] fns unwrap too: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use std::net::UdpSocket;
use std::time::Duration;

use octa_proto::heartbeat::{self, EnvelopeError, Heartbeat};
use octa_tests::{lab_var, stock_unwrap_envelope};

#[test]
fn octa_decodes_the_stock_agents_heartbeats() {
    let key = lab_var("OCTA_HEARTBEAT_KEY");
    let amphora = lab_var("OCTA_AMPHORA_ID");
    let addr = lab_var("OCTA_HM_ADDR");
    // The lab's stock agent sends every 2 s to this address (inside the lab namespace).
    let socket = UdpSocket::bind(&addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    socket
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut buf = vec![0u8; heartbeat::MAX_DATAGRAM];
    let (n, _) = socket
        .recv_from(&mut buf)
        .expect("a heartbeat from the lab's stock agent within 15 s");
    let datagram = &buf[..n];
    let message = heartbeat::unwrap(datagram, key.as_bytes()).unwrap();
    assert_eq!(message.id, amphora);
    assert_eq!(message.ver, 3);
    assert_eq!(
        heartbeat::unwrap(datagram, b"not the key"),
        Err(EnvelopeError::BadHmac)
    );
}

#[test]
fn stock_octavia_decodes_octas_heartbeats() {
    lab_var("OCTA_LAB_DIR");
    let message = Heartbeat {
        id: "5b1e9c7a-0d3f-4a2b-9c8d-7e6f5a4b3c2d".into(),
        seq: 42,
        ver: heartbeat::VERSION,
        listeners: Default::default(),
        pools: Default::default(),
    };
    let datagram = heartbeat::wrap(&message, b"the-key");
    let out = stock_unwrap_envelope(&datagram, "the-key");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoded: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decoded["id"], "5b1e9c7a-0d3f-4a2b-9c8d-7e6f5a4b3c2d");
    assert_eq!(decoded["seq"], 42);
    assert_eq!(decoded["ver"], 3);
    let refused = stock_unwrap_envelope(&datagram, "another-key");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("InvalidHMACException"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
