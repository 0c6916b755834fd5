//! `octa-agent --config-file /etc/octavia/amphora-agent.conf`: the amphora agent.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use octa_agent::config::{AgentConfig, HaproxyManager};
use octa_agent::haproxy::DirectHaproxy;
use octa_agent::keepalived::{DirectKeepalived, KEEPALIVED_CMD, Keepalived};
use octa_agent::keepalived_systemd::SystemdKeepalived;
use octa_agent::systemd::SystemdHaproxy;
use octa_agent::{api, heartbeat, host::SystemHost, server, tls};

/// octa's amphora agent, a drop-in for stock Octavia's.
#[derive(Debug, Parser)]
#[command(name = "octa-agent", version, about)]
struct Args {
    /// The stock amphora-agent.conf.
    #[arg(long, default_value = "/etc/octavia/amphora-agent.conf")]
    config_file: PathBuf,
    #[command(subcommand)]
    command: Option<Tool>,
}

/// Helpers the agent's own scripts run (the default is serving the API).
#[derive(Debug, clap::Subcommand)]
enum Tool {
    /// Exits with the number of haproxy stats sockets that do not answer `show stat`:
    /// the VRRP check keepalived runs (stock's `haproxy-vrrp-check`).
    HaproxyVrrpCheck {
        /// The stats sockets (`base_path/<lb_id>.sock`).
        sockets: Vec<PathBuf>,
    },
    /// Moves the recorded ports back into the amphora namespace and configures them
    /// (after a reboot; `amphora-netns.service` runs it).
    Replug,
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
    if let Some(Tool::HaproxyVrrpCheck { sockets }) = &args.command {
        std::process::exit(octa_agent::vrrp::haproxy_vrrp_check(sockets));
    }
    let config = AgentConfig::load(&args.config_file)?;
    if let Some(Tool::Replug) = &args.command {
        if let Some(ns) = &config.namespace {
            octa_agent::haproxy::ensure_namespace(ns).map_err(anyhow::Error::msg)?;
        }
        let (report, failures) = octa_agent::replug::replug(&config).await;
        for line in report {
            tracing::info!("{line}");
        }
        anyhow::ensure!(failures == 0, "{failures} port(s) could not be re-plugged");
        return Ok(());
    }
    // How amphora-netns.service re-plugs the ports after a reboot: this binary, this file.
    let replug = std::env::current_exe()
        .map(|exe| {
            format!(
                "{} --config-file {} replug",
                exe.display(),
                args.config_file.display()
            )
        })
        .ok();
    let cert = tls::SwappableCert::load(&config.server_cert)?;
    let tls_config = tls::server_config(&config.server_cert, &config.server_ca, cert.clone())?;
    let addr = config.bind_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("Cannot listen on {addr}"))?;
    tracing::info!("amphora agent {} listening on {addr}", config.amphora_id);
    if config.controllers.is_empty() {
        tracing::warn!(
            "controller_ip_port_list is empty: no heartbeats until PUT /1.0/config sets it"
        );
    }
    let (heartbeat_tx, heartbeat_rx) =
        tokio::sync::watch::channel(heartbeat::HeartbeatSettings::from(&config));
    let haproxy: Arc<dyn octa_agent::haproxy::Haproxy> = match config.haproxy_manager {
        HaproxyManager::Direct => Arc::new(DirectHaproxy {
            haproxy_cmd: config.haproxy_cmd.clone(),
            namespace: config.namespace.clone(),
        }),
        HaproxyManager::Systemd => Arc::new(SystemdHaproxy {
            replug: replug.clone(),
            ..SystemdHaproxy::new(config.haproxy_cmd.clone(), config.namespace.clone())
        }),
    };
    // keepalived is run the way haproxy is: both by the agent, or both by systemd.
    let keepalived: Arc<dyn Keepalived> = match config.haproxy_manager {
        HaproxyManager::Direct => Arc::new(DirectKeepalived {
            keepalived_cmd: PathBuf::from(KEEPALIVED_CMD),
            namespace: config.namespace.clone(),
            log_facility: config.log_facility,
        }),
        HaproxyManager::Systemd => Arc::new(SystemdKeepalived {
            replug,
            ..SystemdKeepalived::new(config.namespace.clone(), config.log_facility)
        }),
    };
    let source = heartbeat::LbSource {
        base_path: config.base_path.clone(),
        haproxy: haproxy.clone(),
    };
    let state = api::AppState {
        host: Box::new(SystemHost::default()),
        base_cert_dir: config.base_cert_dir.clone(),
        server_cert: config.server_cert.clone(),
        tls_cert: cert,
        config_file: args.config_file.clone(),
        heartbeat: heartbeat_tx,
        base_path: config.base_path.clone(),
        amphora_id: config.amphora_id.clone(),
        haproxy: haproxy.clone(),
        namespace: config.namespace.clone(),
        network_dir: config.network_dir.clone(),
        active_standby: config.active_standby,
        keepalived,
    };
    ensure_user_group_file(&config.base_path)?;
    raise_fd_limit();
    let app = api::router(Arc::new(state));
    tokio::join!(
        server::serve(listener, tls_config, app),
        heartbeat::run(heartbeat_rx, source)
    );
    Ok(())
}

/// The group haproxy runs as comes from this fragment (on an amphora image it ships with
/// the image); on a plain host the agent writes Debian's default once.
fn ensure_user_group_file(base_path: &std::path::Path) -> anyhow::Result<()> {
    let path = base_path.join("haproxy-default-user-group.conf");
    if !path.exists() {
        std::fs::create_dir_all(base_path)
            .with_context(|| format!("Cannot create {}", base_path.display()))?;
        std::fs::write(&path, "global\n    group nogroup\n")
            .with_context(|| format!("Cannot write {}", path.display()))?;
    }
    Ok(())
}

/// haproxy inherits the agent's open-file limit, and Octavia's templates size `maxconn`
/// for the 2600000 that stock's units set (`LimitNOFILE`): raise it as far as the kernel
/// allows (`fs.nr_open`), so directly run haproxy starts too.
fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1_048_576)
        .min(2_600_000);
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((1024, 1024));
    let target = ceiling.max(hard);
    if soft < target && setrlimit(Resource::RLIMIT_NOFILE, target, target).is_err() {
        // Not root (or a container forbids it): keep the hard limit as the soft one.
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
