//! The heartbeat sender: every `heartbeat_interval`, one datagram to one controller of
//! `controller_ip_port_list`, round-robin (the stock agent does not send to all), message
//! version 3, wrapped by `octa_proto::heartbeat`. Send errors are ignored, as stock does:
//! a controller that is down must not stop heartbeats to the others.

use std::net::SocketAddr;
use std::time::Duration;

use octa_proto::heartbeat::{self, Heartbeat};
use tokio::net::UdpSocket;

use crate::config::AgentConfig;

/// The sender's settings; `PUT /1.0/config` replaces them while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatSettings {
    /// Amphora id.
    pub amphora_id: String,
    /// Controllers, in turn.
    pub controllers: Vec<SocketAddr>,
    /// HMAC key.
    pub key: String,
    /// Pause between heartbeats.
    pub interval: Duration,
}

impl From<&AgentConfig> for HeartbeatSettings {
    fn from(c: &AgentConfig) -> Self {
        HeartbeatSettings {
            amphora_id: c.amphora_id.clone(),
            controllers: c.controllers.clone(),
            key: c.heartbeat_key.clone(),
            interval: c.heartbeat_interval,
        }
    }
}

/// Sends heartbeats until the task is dropped, reading the settings before each one.
pub async fn run(settings: tokio::sync::watch::Receiver<HeartbeatSettings>) {
    let v4 = UdpSocket::bind("0.0.0.0:0").await.ok();
    let v6 = UdpSocket::bind("[::]:0").await.ok();
    let mut turn = 0usize;
    for seq in 0u64.. {
        let now = settings.borrow().clone();
        if let Some(target) = now.controllers.get(turn % now.controllers.len().max(1)) {
            turn = turn.wrapping_add(1);
            let message = Heartbeat {
                id: now.amphora_id.clone(),
                seq,
                ver: heartbeat::VERSION,
                // No load balancer runs on this agent yet: no listener or pool to report.
                listeners: Default::default(),
                pools: Default::default(),
            };
            let datagram = heartbeat::wrap(&message, now.key.as_bytes());
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
        tokio::time::sleep(now.interval).await;
    }
}
