//! `octa-agent --config-file /etc/octavia/amphora-agent.conf`: the amphora agent.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use octa_agent::{api, config::AgentConfig, heartbeat, host::SystemHost, server, tls};

/// octa's amphora agent, a drop-in for stock Octavia's.
#[derive(Debug, Parser)]
#[command(name = "octa-agent", version, about)]
struct Args {
    /// The stock amphora-agent.conf.
    #[arg(long, default_value = "/etc/octavia/amphora-agent.conf")]
    config_file: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OCTA_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // Belt and braces: one crypto provider for the whole process.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args = Args::parse();
    let config = AgentConfig::load(&args.config_file)?;
    let cert = tls::SwappableCert::load(&config.server_cert)?;
    let tls_config = tls::server_config(&config.server_cert, &config.server_ca, cert)?;
    let addr = config.bind_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("Cannot listen on {addr}"))?;
    tracing::info!("amphora agent {} listening on {addr}", config.amphora_id);
    let app = api::router(Arc::new(api::AppState {
        host: Box::new(SystemHost),
    }));
    let beats = heartbeat::run(
        config.amphora_id.clone(),
        config.controllers.clone(),
        config.heartbeat_key.clone(),
        config.heartbeat_interval,
    );
    tokio::join!(server::serve(listener, tls_config, app), beats);
    Ok(())
}
