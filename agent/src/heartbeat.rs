//! The heartbeat sender: every `heartbeat_interval`, one datagram to one controller of
//! `controller_ip_port_list`, round-robin (the stock agent does not send to all), message
//! version 3, wrapped by `octa_proto::heartbeat`. Send errors are ignored, as stock does:
//! a controller that is down must not stop heartbeats to the others.

use std::net::SocketAddr;
use std::time::Duration;

use octa_proto::heartbeat::{self, Heartbeat};
use tokio::net::UdpSocket;

/// Sends heartbeats until the task is dropped.
pub async fn run(
    amphora_id: String,
    controllers: Vec<SocketAddr>,
    key: String,
    interval: Duration,
) {
    if controllers.is_empty() {
        tracing::warn!("controller_ip_port_list is empty: no heartbeats are sent");
        return;
    }
    let v4 = UdpSocket::bind("0.0.0.0:0").await.ok();
    let v6 = UdpSocket::bind("[::]:0").await.ok();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for (seq, target) in (0u64..).zip(controllers.iter().cycle()) {
        ticker.tick().await;
        let message = Heartbeat {
            id: amphora_id.clone(),
            seq,
            ver: heartbeat::VERSION,
            // No load balancer runs on this agent yet: no listener or pool to report.
            listeners: Default::default(),
            pools: Default::default(),
        };
        let datagram = heartbeat::wrap(&message, key.as_bytes());
        let socket = if target.is_ipv4() {
            v4.as_ref()
        } else {
            v6.as_ref()
        };
        if let Some(socket) = socket
            && let Err(e) = socket.send_to(&datagram, target).await
        {
            tracing::debug!("heartbeat to {target} failed: {e}");
        }
    }
}
