//! Listener, pool and member status for heartbeats, read from each running load
//! balancer's haproxy stats socket (`show stat`), as the stock agent does:
//!
//! - a `FRONTEND` row is a listener (`pxname` = listener id): its `status` (`OPEN`, `FULL`)
//!   and counters, reported as deltas since the previous heartbeat (message version 3;
//!   `scur` stays absolute; a counter that went down was reset and is sent as is);
//! - a `BACKEND` row is a pool (`pxname` = `<pool_id>:<listener_id>`): `UP` or `DOWN`;
//! - the other rows of that backend are members (`svname` = member id) with haproxy's
//!   status string; `UP` with weight 0 is reported as `DRAIN`.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use octa_proto::heartbeat::{ListenerHealth, ListenerStats, PoolHealth};

/// Absolute counters of the previous heartbeat, per listener.
pub type Counters = HashMap<String, ListenerStats>;

/// The `stats socket` path of a haproxy configuration, if it declares one.
pub fn stats_socket(config: &str) -> Option<PathBuf> {
    config.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some("stats") && words.next() == Some("socket"))
            .then(|| words.next().map(PathBuf::from))?
    })
}

/// One command through a stats socket (haproxy answers and closes): its answer.
pub fn command(socket: &Path, command: &str, timeout: Duration) -> std::io::Result<String> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(format!("{command}\n").as_bytes())?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text)
}

/// Saves the servers' state (`show servers state`: health, weights, admin state) where
/// the controller's template has haproxy load it (`server-state-file`,
/// `load-server-state-from-file global`), so a reload does not forget which members are
/// down or drained. Stock does it before every reload of a running haproxy.
pub fn save_server_state(socket: &Path, file: &Path) -> std::io::Result<()> {
    let state = command(socket, "show servers state", Duration::from_secs(2))?;
    std::fs::write(file, state)
}

/// `show stat` through the socket, as rows keyed by the CSV header.
pub fn show_stat(socket: &Path) -> std::io::Result<Vec<HashMap<String, String>>> {
    let text = command(socket, "show stat", Duration::from_secs(2))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
                .collect()
        })
        .collect())
}

fn num(row: &HashMap<String, String>, key: &str) -> u64 {
    row.get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Listeners and pools of one load balancer's rows; updates `previous` with the new
/// absolute counters.
pub fn health(
    rows: &[HashMap<String, String>],
    previous: &mut Counters,
) -> (
    BTreeMap<String, ListenerHealth>,
    BTreeMap<String, PoolHealth>,
) {
    let (mut listeners, mut pools) = (BTreeMap::new(), BTreeMap::new());
    let field = |row: &HashMap<String, String>, k: &str| row.get(k).cloned().unwrap_or_default();
    for row in rows
        .iter()
        .filter(|r| !field(r, "pxname").contains("prometheus"))
    {
        let (px, sv) = (field(row, "pxname"), field(row, "svname"));
        match sv.as_str() {
            "FRONTEND" => {
                let now = ListenerStats {
                    tx: num(row, "bout"),
                    rx: num(row, "bin"),
                    conns: num(row, "scur"),
                    totconns: num(row, "stot"),
                    ereq: num(row, "ereq"),
                };
                let before = previous.insert(px.clone(), now.clone()).unwrap_or_default();
                let delta = |n: u64, b: u64| if n >= b { n - b } else { n };
                let stats = ListenerStats {
                    tx: delta(now.tx, before.tx),
                    rx: delta(now.rx, before.rx),
                    conns: now.conns,
                    totconns: delta(now.totconns, before.totconns),
                    ereq: delta(now.ereq, before.ereq),
                };
                listeners.insert(
                    px,
                    ListenerHealth {
                        status: field(row, "status"),
                        stats,
                    },
                );
            }
            "BACKEND" => {
                let status = if field(row, "status").starts_with("UP") {
                    "UP"
                } else {
                    "DOWN"
                };
                pools
                    .entry(px)
                    .or_insert_with(|| PoolHealth {
                        status: String::new(),
                        members: BTreeMap::new(),
                    })
                    .status = status.to_owned();
            }
            member => {
                let mut status = field(row, "status");
                if status == "UP" && num(row, "weight") == 0 {
                    status = "DRAIN".to_owned();
                }
                pools
                    .entry(px)
                    .or_insert_with(|| PoolHealth {
                        status: "DOWN".to_owned(),
                        members: BTreeMap::new(),
                    })
                    .members
                    .insert(member.to_owned(), status);
            }
        }
    }
    (listeners, pools)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(px: &str, sv: &str, status: &str, weight: &str, bin: &str) -> HashMap<String, String> {
        [
            ("pxname", px),
            ("svname", sv),
            ("status", status),
            ("weight", weight),
            ("bin", bin),
            ("bout", "5"),
            ("scur", "1"),
            ("stot", "3"),
            ("ereq", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn rows_become_listeners_pools_and_members_with_deltas() {
        let rows = vec![
            row("l1", "FRONTEND", "OPEN", "", "100"),
            row("p1:l1", "m1", "UP", "1", "0"),
            row("p1:l1", "m2", "UP", "0", "0"),
            row("p1:l1", "BACKEND", "UP", "1", "0"),
        ];
        let mut counters = Counters::new();
        let (listeners, pools) = health(&rows, &mut counters);
        assert_eq!(listeners["l1"].status, "OPEN");
        assert_eq!(listeners["l1"].stats.rx, 100);
        assert_eq!(pools["p1:l1"].status, "UP");
        assert_eq!(pools["p1:l1"].members["m2"], "DRAIN");
        let mut later = rows.clone();
        later[0].insert("bin".into(), "150".into());
        let (listeners, _) = health(&later, &mut counters);
        assert_eq!(
            listeners["l1"].stats.rx, 50,
            "a delta since the last heartbeat"
        );
        assert_eq!(listeners["l1"].stats.conns, 1, "scur stays absolute");
        assert_eq!(
            stats_socket("global\n    stats socket /var/lib/octavia/x.sock mode 0666 level user\n"),
            Some(PathBuf::from("/var/lib/octavia/x.sock"))
        );
    }
}
