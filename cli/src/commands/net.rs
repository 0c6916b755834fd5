//! `octa net ...`: the health-manager interface on br-int (OVS internal port bound to a
//! Neutron port, its kernel side, its firewall table, and the boot unit that keeps it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use ipnet::IpNet;
use octa_bootstrap::netplumb::persist::{self, PlumbState, STATE_VERSION};
use octa_bootstrap::netplumb::plumb;

use crate::exit::ExitCode;
use crate::ui::{OutputMode, Ui};

/// Arguments of `octa net`.
#[derive(Debug, Args)]
pub struct NetArgs {
    #[command(subcommand)]
    command: NetCommand,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Where the interface's state file is kept (the boot unit reads it).
    #[arg(long, global = true, default_value = "/var/lib/octa/net")]
    state_dir: PathBuf,
    /// Where the systemd unit is written.
    #[arg(long, global = true, default_value = "/etc/systemd/system")]
    unit_dir: PathBuf,
    /// Seconds to wait for OVSDB, ovs-vswitchd and the kernel at each step.
    #[arg(long, global = true, default_value_t = 20)]
    timeout: u64,
}

#[derive(Debug, Subcommand)]
enum NetCommand {
    /// Create or repair the interface, its firewall table and its boot unit.
    Plumb(PlumbArgs),
    /// Remove the interface, its firewall table and its boot unit (only octa's own).
    Unplumb {
        /// Interface name.
        #[arg(long, default_value = "o-hm0")]
        name: String,
    },
    /// Show the OVSDB row, the kernel state and the firewall, with a verdict per property.
    Show {
        /// Interface name.
        #[arg(long, default_value = "o-hm0")]
        name: String,
    },
    /// Re-converge from a state file (what the boot unit runs).
    Converge {
        /// The state file.
        #[arg(long)]
        state: PathBuf,
    },
}

#[derive(Debug, Args)]
struct PlumbArgs {
    /// Integration bridge.
    #[arg(long, default_value = "br-int")]
    bridge: String,
    /// Interface name (at most 15 characters).
    #[arg(long, default_value = "o-hm0")]
    name: String,
    /// The Neutron port id (external_ids:iface-id).
    #[arg(long)]
    port_id: String,
    /// The Neutron port's MAC.
    #[arg(long)]
    mac: String,
    /// Static address with prefix; repeat for IPv4 and IPv6.
    #[arg(long = "address", required = true, value_parser = parse_cidr)]
    addresses: Vec<IpNet>,
    /// MTU (the management network's).
    #[arg(long)]
    mtu: Option<u32>,
    /// OVSDB remote.
    #[arg(
        long,
        env = "OCTA_OVSDB",
        default_value = "unix:/var/run/openvswitch/db.sock"
    )]
    ovsdb: String,
    /// Network namespace the bridge's ovs-vswitchd creates the interface in.
    #[arg(long)]
    netns: Option<String>,
    /// Heartbeat UDP port the firewall table accepts.
    #[arg(long, default_value_t = 5555)]
    firewall_port: u16,
    /// Do not manage an nftables table.
    #[arg(long, conflicts_with = "firewall_port")]
    no_firewall: bool,
    /// Ownership mark on everything created.
    #[arg(long, default_value = "octa")]
    owner: String,
    /// Do not write the state file and boot unit.
    #[arg(long)]
    no_persist: bool,
}

fn parse_cidr(s: &str) -> Result<IpNet, String> {
    s.parse().map_err(|_| format!("{s:?} is not a CIDR: expected an address with its prefix, such as 172.16.0.2/24 or fd00::2/64"))
}

impl NetArgs {
    /// How results and errors are printed.
    pub fn output_mode(&self) -> OutputMode {
        if self.json {
            OutputMode::Json
        } else {
            OutputMode::Human
        }
    }
}

/// Runs `octa net`.
pub fn run(args: NetArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: NetArgs) -> anyhow::Result<ExitCode> {
    let ui = Ui::new(args.output_mode());
    let deadline = Duration::from_secs(args.timeout);
    let state_file = |name: &str| args.state_dir.join(format!("{name}.json"));
    match &args.command {
        NetCommand::Plumb(p) => {
            let state = PlumbState {
                version: STATE_VERSION,
                ovsdb: p.ovsdb.clone(),
                bridge: p.bridge.clone(),
                name: p.name.clone(),
                iface_id: p.port_id.clone(),
                mac: p.mac.to_lowercase(),
                mtu: p.mtu,
                addresses: p.addresses.clone(),
                netns: p.netns.clone(),
                firewall_port: (!p.no_firewall).then_some(p.firewall_port),
                owner: p.owner.clone(),
            };
            plumb::validate(&state)?;
            converge(&ui, &state, deadline).await?;
            if !p.no_persist {
                persist_state(&ui, &args, &state, &state_file(&p.name))?;
            }
        }
        NetCommand::Converge { state } => {
            let loaded = persist::read_state(state)?;
            converge(&ui, &loaded, deadline).await?;
        }
        NetCommand::Unplumb { name } => return unplumb(&ui, &args, name, deadline).await,
        NetCommand::Show { name } => {
            let path = state_file(name);
            let state = persist::read_state(&path).with_context(|| {
                format!("No state for {name}: `octa net show` compares with what `octa net plumb` recorded in {}", path.display())
            })?;
            let report = plumb::show(&state, deadline).await?;
            for v in &report.verdicts {
                ui.line(format!(
                    "[{}] {}: {}",
                    if v.ok { "  ok" } else { "FAIL" },
                    v.property,
                    v.detail
                ));
            }
            ui.json(&report)?;
            if report.verdicts.iter().any(|v| !v.ok) {
                return Ok(ExitCode::CRITICAL);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn converge(ui: &Ui, state: &PlumbState, deadline: Duration) -> anyhow::Result<()> {
    let report = plumb::setup(state, deadline)
        .await
        .with_context(|| format!("Cannot plumb {} on {}", state.name, state.bridge))?;
    if report.unchanged() {
        ui.line(format!(
            "{}: already converged, nothing written",
            state.name
        ));
    } else {
        ui.line(format!("{}: OVS port {}", state.name, report.ovs));
        for change in &report.link {
            ui.line(format!("{}: {change}", state.name));
        }
        if report.firewall_written {
            ui.line(format!("{}: firewall table written", state.name));
        }
    }
    ui.json(&report)
}

fn persist_state(ui: &Ui, args: &NetArgs, state: &PlumbState, path: &Path) -> anyhow::Result<()> {
    if persist::write_state(path, state)? {
        ui.line(format!(
            "{}: state recorded in {}",
            state.name,
            path.display()
        ));
    }
    let octa =
        std::env::current_exe().context("Cannot locate the octa binary for the boot unit")?;
    let text = persist::unit_text(&octa, path, &state.name);
    let (unit, changed) = persist::install_unit(&args.unit_dir, &state.name, &text)?;
    if changed {
        let how = if persist::systemd_running() {
            "written and enabled"
        } else {
            "written (systemd is not running here: not enabled)"
        };
        ui.line(format!(
            "{}: boot unit {} {how}",
            state.name,
            unit.display()
        ));
    }
    Ok(())
}

async fn unplumb(
    ui: &Ui,
    args: &NetArgs,
    name: &str,
    deadline: Duration,
) -> anyhow::Result<ExitCode> {
    let path = args.state_dir.join(format!("{name}.json"));
    let state = persist::read_state(&path).with_context(|| {
        format!(
            "No state for {name} in {}: octa only removes what `octa net plumb` recorded",
            path.display()
        )
    })?;
    let (done, errors) = plumb::teardown(&state, deadline).await;
    for d in &done {
        ui.line(format!("{name}: {d}"));
    }
    let mut failed = false;
    for e in &errors {
        failed = true;
        ui.warn(format!("{name}: {e}"));
    }
    if !failed {
        if persist::remove_unit(&args.unit_dir, name)? {
            ui.line(format!("{name}: boot unit removed"));
        }
        std::fs::remove_file(&path).with_context(|| format!("Cannot remove {}", path.display()))?;
    }
    ui.json(&serde_json::json!({ "done": done, "errors": errors.iter().map(ToString::to_string).collect::<Vec<_>>() }))?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
