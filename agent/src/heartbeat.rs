//! The heartbeat sender: every `heartbeat_interval`, one datagram to one controller of
//! `controller_ip_port_list`, round-robin (the stock agent does not send to all), message
//! version 3 with the status of every running load balancer (`stats`) and LVS listener
//! (`lvs_health`), wrapped by `octa_proto::heartbeat`. Send errors are ignored, as stock
//! does: a controller that is down must not stop heartbeats to the others.

use std::net::SocketAddr;
use std::time::Duration;

use octa_proto::heartbeat::{self, Heartbeat};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use octa_proto::heartbeat::{ListenerHealth, PoolHealth};
use tokio::net::UdpSocket;

use crate::config::AgentConfig;
use crate::haproxy::{Haproxy, LbPaths};
use crate::stats::{self, Counters};

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

/// Where the sender finds the running load balancers.
pub struct LbSource {
    /// `[haproxy_amphora] base_path`.
    pub base_path: PathBuf,
    /// How haproxy runs (to tell which load balancers are up).
    pub haproxy: Arc<dyn Haproxy>,
}

impl LbSource {
    /// Listeners and pools of every running load balancer, and of every running LVS
    /// listener (`lvs_health`). A socket that does not answer leaves its load balancer
    /// out (the health manager then sees a listener missing, as with the stock agent).
    fn collect(
        &self,
        counters: &mut Counters,
    ) -> (
        BTreeMap<String, ListenerHealth>,
        BTreeMap<String, PoolHealth>,
    ) {
        let (mut listeners, mut pools) = (BTreeMap::new(), BTreeMap::new());
        for entry in std::fs::read_dir(&self.base_path)
            .into_iter()
            .flatten()
            .flatten()
        {
            let Some(lb_id) = entry.file_name().into_string().ok() else {
                continue;
            };
            let lb = LbPaths::new(&self.base_path, &lb_id);
            if !lb.exists() || !self.haproxy.running(&lb) {
                continue;
            }
            let config = std::fs::read_to_string(&lb.config).unwrap_or_default();
            let Some(socket) = stats::stats_socket(&config) else {
                continue;
            };
            match stats::show_stat(&socket) {
                Ok(rows) => {
                    let (l, p) = stats::health(&rows, counters);
                    listeners.extend(l);
                    pools.extend(p);
                }
                Err(e) => tracing::warn!("stats socket {} of {lb_id}: {e}", socket.display()),
            }
        }
        crate::lvs_health::collect(&self.base_path, &mut listeners, &mut pools);
        (listeners, pools)
    }
}

/// Sends heartbeats until the task is dropped, reading the settings before each one.
pub async fn run(settings: tokio::sync::watch::Receiver<HeartbeatSettings>, source: LbSource) {
    let mut counters = Counters::new();
    let v4 = UdpSocket::bind("0.0.0.0:0").await.ok();
    let v6 = UdpSocket::bind("[::]:0").await.ok();
    let mut turn = 0usize;
    for seq in 0u64.. {
        let now = settings.borrow().clone();
        if let Some(target) = now.controllers.get(turn % now.controllers.len().max(1)) {
            turn = turn.wrapping_add(1);
            let (listeners, pools) = source.collect(&mut counters);
            let message = Heartbeat {
                id: now.amphora_id.clone(),
                seq,
                ver: heartbeat::VERSION,
                listeners,
                pools,
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
