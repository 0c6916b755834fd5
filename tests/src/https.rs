//! A minimal HTTPS/1.1 client over tokio-rustls for talking to amphora agents with an
//! exact TLS configuration (the controller's), and with `Connection: close` so every
//! request is one connection, as the stock controller's requests are.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Status and body of one exchange without a request body, or the error as text.
pub async fn request(
    config: Arc<rustls::ClientConfig>,
    port: u16,
    server_name: &str,
    method: &str,
    path: &str,
) -> Result<(u16, String), String> {
    let reply = exchange(config, port, server_name, method, path, b"").await?;
    Ok((reply.status, reply.body))
}

/// One response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request with `body`; the full reply, or the TLS/IO error as text.
pub async fn exchange(
    config: Arc<rustls::ClientConfig>,
    port: u16,
    server_name: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Reply, String> {
    exchange_typed(config, port, server_name, method, path, None, body).await
}

/// [`exchange`] with a `Content-Type` (the controller sends JSON bodies as
/// `application/json`).
pub async fn exchange_typed(
    config: Arc<rustls::ClientConfig>,
    port: u16,
    server_name: &str,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Reply, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
        .map_err(|e| e.to_string())?;
    let mut stream = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let typed = content_type
        .map(|t| format!("Content-Type: {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {server_name}\r\n{typed}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stream.write_all(body).await.map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    // Agents may close without close_notify; what was read by then is the answer.
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP status in {text:?}"))?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}
