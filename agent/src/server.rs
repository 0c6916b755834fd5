//! Accepts TCP connections, completes mutual TLS, and serves the API over HTTP/1.1 on
//! each (hyper-util), one task per connection. A failed handshake (no client
//! certificate, another CA) only ends that connection.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Serves `app` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, tls: rustls::ServerConfig, app: Router) {
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move { handle(acceptor, tcp, peer, app).await });
    }
}

async fn handle(acceptor: TlsAcceptor, tcp: tokio::net::TcpStream, peer: SocketAddr, app: Router) {
    let tls = match acceptor.accept(tcp).await {
        Ok(tls) => tls,
        Err(e) => {
            tracing::info!("TLS handshake with {peer} refused: {e}");
            return;
        }
    };
    let service = TowerToHyperService::new(app);
    if let Err(e) = Builder::new(TokioExecutor::new())
        .http1_only()
        .serve_connection(TokioIo::new(tls), service)
        .await
    {
        tracing::debug!("connection from {peer} ended: {e}");
    }
}
