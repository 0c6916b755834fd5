//! The JSON-RPC connection to an OVSDB server.
//!
//! RFC 7047 sends JSON values back to back with no delimiter: the reader task parses
//! them from a growing buffer, answers the server's `echo` probes (or the server drops
//! idle clients), and hands each reply to the request waiting for its id. Every request
//! has a deadline: a server that never answers is reported, never waited for forever.
//! A connection the server closed is replaced, with backoff, by the next request.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Mutex, oneshot};
use tokio::time::{Instant, sleep, timeout};

use super::ops::Op;
use crate::error::{NetError, Result};

/// Where the OVSDB server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// `unix:PATH`
    Unix(String),
    /// `tcp:HOST:PORT`
    Tcp(String),
}

impl Remote {
    /// Parses `unix:PATH` or `tcp:HOST:PORT`.
    pub fn parse(remote: &str) -> Result<Self> {
        let bad = || NetError::BadRemote {
            remote: remote.to_owned(),
        };
        if let Some(path) = remote.strip_prefix("unix:") {
            return if path.is_empty() {
                Err(bad())
            } else {
                Ok(Remote::Unix(path.to_owned()))
            };
        }
        if let Some(addr) = remote.strip_prefix("tcp:") {
            let ok = addr
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
            return if ok {
                Ok(Remote::Tcp(addr.to_owned()))
            } else {
                Err(bad())
            };
        }
        Err(bad())
    }
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remote::Unix(p) => write!(f, "unix:{p}"),
            Remote::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

type Writer = Box<dyn AsyncWrite + Send + Unpin>;
/// Requests waiting for their reply; `None` once the connection has closed, so a later
/// request fails at once instead of waiting for its timeout.
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Value>>>>>;

/// One established connection: its write half, its reader task, and the requests
/// waiting for a reply on it.
struct Conn {
    writer: Arc<Mutex<Writer>>,
    pending: Pending,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Why a call on one connection failed.
enum CallError {
    /// The connection is (or went) down. `sent`: the request reached the socket, so the
    /// server may have executed it.
    Closed { sent: bool },
    /// No reply before the request timeout.
    Timeout,
}

impl Conn {
    async fn open(remote: &Remote) -> std::io::Result<Self> {
        let (read, write): (Box<dyn AsyncRead + Send + Unpin>, Writer) = match remote {
            Remote::Unix(path) => {
                let (r, w) = tokio::net::UnixStream::connect(path).await?.into_split();
                (Box::new(r), Box::new(w))
            }
            Remote::Tcp(addr) => {
                let (r, w) = tokio::net::TcpStream::connect(addr).await?.into_split();
                (Box::new(r), Box::new(w))
            }
        };
        let writer = Arc::new(Mutex::new(write));
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let reader = tokio::spawn(read_loop(read, writer.clone(), pending.clone()));
        Ok(Conn {
            writer,
            pending,
            reader,
        })
    }

    async fn is_closed(&self) -> bool {
        self.pending.lock().await.is_none()
    }

    async fn call(&self, id: u64, request: &str, wait: Duration) -> Result<Value, CallError> {
        let (tx, rx) = oneshot::channel();
        match self.pending.lock().await.as_mut() {
            Some(waiting) => waiting.insert(id, tx),
            None => return Err(CallError::Closed { sent: false }),
        };
        // A failed write_all leaves at most an incomplete JSON value on the socket, which
        // the server discards when the connection closes: the request was not executed.
        let sent = self.writer.lock().await.write_all(request.as_bytes()).await;
        if sent.is_err() {
            // The reader may not have seen the EOF yet: mark the connection dead now, so
            // the retry opens a new one instead of writing into this one again.
            *self.pending.lock().await = None;
            return Err(CallError::Closed { sent: false });
        }
        match timeout(wait, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(CallError::Closed { sent: true }),
            Err(_) => {
                self.forget(id).await;
                Err(CallError::Timeout)
            }
        }
    }

    async fn forget(&self, id: u64) {
        if let Some(waiting) = self.pending.lock().await.as_mut() {
            waiting.remove(&id);
        }
    }
}

/// A connection to one OVSDB server, database `Open_vSwitch`.
///
/// When the server goes away (restart, upgrade), the next request reconnects with
/// backoff. A request is sent again on the new connection only if the old one never
/// carried it, or if it cannot write: a transaction with a write that may already have
/// been committed is reported, never repeated blindly.
pub struct Ovsdb {
    remote: Remote,
    conn: Mutex<Option<Arc<Conn>>>,
    next_id: AtomicU64,
    writes: AtomicU64,
    connects: AtomicU64,
    deadline: Duration,
}

impl Ovsdb {
    /// Connects, retrying with exponential backoff (50 ms doubling to 1 s) until
    /// `deadline` has passed: ovsdb-server may be starting up. `deadline` also bounds
    /// every later request and reconnection.
    pub async fn connect(remote: &Remote, deadline: Duration) -> Result<Self> {
        let db = Ovsdb {
            remote: remote.clone(),
            conn: Mutex::new(None),
            next_id: AtomicU64::new(1),
            writes: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            deadline,
        };
        db.live_conn().await?;
        Ok(db)
    }

    /// The current connection, or a new one if there is none or it has closed.
    async fn live_conn(&self) -> Result<Arc<Conn>> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref()
            && !conn.is_closed().await
        {
            return Ok(conn.clone());
        }
        *slot = None;
        let end = Instant::now() + self.deadline;
        let mut backoff = Duration::from_millis(50);
        loop {
            match Conn::open(&self.remote).await {
                Ok(conn) => {
                    self.connects.fetch_add(1, Ordering::Relaxed);
                    let conn = Arc::new(conn);
                    *slot = Some(conn.clone());
                    return Ok(conn);
                }
                Err(source) if Instant::now() + backoff >= end => {
                    return Err(NetError::Connect {
                        remote: self.remote.to_string(),
                        source,
                    });
                }
                Err(e) => {
                    tracing::debug!("OVSDB {} not reachable yet ({e}); retrying", self.remote);
                    sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// The remote this connection talks to.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// How many transactions with a write this connection has sent: what a test uses to
    /// prove that a converged run writes nothing.
    pub fn write_transactions(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// How many times a connection was established (1 until the server went away).
    pub fn connections(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }

    /// Runs a transaction on `Open_vSwitch`; fails if any operation failed (the server
    /// then rolled the whole transaction back).
    pub async fn transact(&self, ops: &[Op]) -> Result<Vec<Value>> {
        let mut params = vec![json!("Open_vSwitch")];
        params.extend(ops.iter().map(Op::to_json));
        let writes = ops.iter().any(Op::writes);
        if writes {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        let reply = self
            .request("transact", Value::Array(params), !writes)
            .await?;
        let results = reply.as_array().cloned().unwrap_or_default();
        for (n, result) in results.iter().enumerate() {
            if let Some(err) = result.get("error").filter(|e| !e.is_null()) {
                let details = result.get("details").and_then(Value::as_str).unwrap_or("");
                let op = ops
                    .get(n)
                    .map(|o| o.to_json()["op"].to_string())
                    .unwrap_or_default();
                return Err(NetError::Transaction {
                    remote: self.remote.to_string(),
                    details: format!("operation {n} ({op}): {err} {details}")
                        .trim()
                        .to_owned(),
                });
            }
        }
        Ok(results)
    }

    /// The rows of one `select`.
    pub async fn select(&self, op: Op) -> Result<Vec<Value>> {
        let results = self.transact(&[op]).await?;
        Ok(rows(results.first()))
    }

    /// `echo`: a round trip that proves the server is there and answering.
    pub async fn echo(&self) -> Result<()> {
        self.request("echo", json!(["octa"]), true)
            .await
            .map(|_| ())
    }

    /// Sends one request; on a closed connection, reconnects and tries once more when
    /// that is safe (`idempotent`, or the request never left).
    async fn request(&self, method: &str, params: Value, idempotent: bool) -> Result<Value> {
        let mut retried = false;
        let reply = loop {
            let conn = self.live_conn().await?;
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let text = json!({"method": method, "params": &params, "id": id}).to_string();
            match conn.call(id, &text, self.deadline).await {
                Ok(reply) => break reply,
                Err(CallError::Closed { sent }) if !retried && (idempotent || !sent) => {
                    tracing::debug!("OVSDB {} closed the connection; reconnecting", self.remote);
                    retried = true;
                }
                Err(CallError::Closed { sent }) => {
                    let reason = if sent {
                        format!(
                            "the server closed the connection before answering {method} (it may or may not have been applied)"
                        )
                    } else {
                        "the server closed the connection".to_owned()
                    };
                    return Err(self.protocol(reason));
                }
                Err(CallError::Timeout) => {
                    return Err(NetError::Timeout {
                        what: format!("OVSDB {} to answer {method}", self.remote),
                        secs: self.deadline.as_secs(),
                    });
                }
            }
        };
        match reply.get("error").filter(|e| !e.is_null()) {
            Some(err) => Err(self.protocol(format!("{method} answered {err}"))),
            None => Ok(reply.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    fn protocol(&self, reason: String) -> NetError {
        NetError::Protocol {
            remote: self.remote.to_string(),
            reason,
        }
    }
}

/// The rows of a select result.
pub fn rows(result: Option<&Value>) -> Vec<Value> {
    result
        .and_then(|r| r.get("rows"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

async fn read_loop(
    mut read: Box<dyn AsyncRead + Send + Unpin>,
    writer: Arc<Mutex<Writer>>,
    pending: Pending,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match read.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        let mut consumed = 0;
        let mut stream = serde_json::Deserializer::from_slice(&buf).into_iter::<Value>();
        loop {
            match stream.next() {
                Some(Ok(message)) => {
                    consumed = stream.byte_offset();
                    dispatch(message, &writer, &pending).await;
                }
                Some(Err(e)) if e.is_eof() => break,
                Some(Err(e)) => {
                    tracing::warn!("OVSDB sent malformed JSON ({e}); closing");
                    *pending.lock().await = None;
                    return;
                }
                None => break,
            }
        }
        buf.drain(..consumed);
    }
    // Dropping the senders wakes every waiting request with "connection closed".
    *pending.lock().await = None;
}

async fn dispatch(message: Value, writer: &Arc<Mutex<Writer>>, pending: &Pending) {
    match message.get("method").and_then(Value::as_str) {
        // Inactivity probe: the server disconnects clients that do not answer.
        Some("echo") => {
            let reply = json!({"id": message["id"], "result": message["params"], "error": null});
            let _ = writer
                .lock()
                .await
                .write_all(reply.to_string().as_bytes())
                .await;
        }
        Some(_) => {} // notifications (update, locked, ...) are not used
        None => {
            if let Some(id) = message.get("id").and_then(Value::as_u64)
                && let Some(tx) = pending.lock().await.as_mut().and_then(|w| w.remove(&id))
            {
                let _ = tx.send(message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_parse_or_say_what_is_accepted() {
        assert_eq!(
            Remote::parse("unix:/run/db.sock").unwrap(),
            Remote::Unix("/run/db.sock".into())
        );
        assert_eq!(
            Remote::parse("tcp:127.0.0.1:6640").unwrap(),
            Remote::Tcp("127.0.0.1:6640".into())
        );
        for bad in ["", "unix:", "tcp:127.0.0.1", "ssl:x:1", "/run/db.sock"] {
            let err = Remote::parse(bad).unwrap_err();
            assert!(
                err.to_string()
                    .contains("expected unix:PATH or tcp:HOST:PORT"),
                "{err}"
            );
        }
    }
}
