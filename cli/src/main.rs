//! `octa`: the operator's tool. Parses the command line, runs one command, maps the
//! outcome to an exit code. No business logic lives here: commands call `octa-bootstrap`.

mod commands;
mod exit;
mod progress;
mod ui;

use clap::{Parser, Subcommand};

use crate::exit::ExitCode;

/// Install and run OpenStack Octavia load balancing.
#[derive(Debug, Parser)]
#[command(name = "octa", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Octavia's certificate authorities and certificates.
    Pki(commands::pki::PkiArgs),
    /// The health-manager interface on br-int.
    Net(commands::net::NetArgs),
    /// Bootstrap Octavia on this controller: guided, or `--playbook FILE --yes`.
    Install(commands::install::InstallArgs),
    /// What `octa install` would change, per step, without changing anything.
    Plan(commands::plan::PlanArgs),
    /// The recorded install and a fresh verification of every step.
    Status(commands::status::StatusArgs),
    /// Remove everything the install created (only octa's own), in reverse order.
    Uninstall(commands::uninstall::UninstallArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OCTA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let (mode, outcome) = match cli.command {
        Command::Pki(args) => (args.output_mode(), commands::pki::run(args)),
        Command::Net(args) => (args.output_mode(), commands::net::run(args)),
        Command::Install(args) => (args.output_mode(), commands::install::run(args)),
        Command::Plan(args) => (args.output_mode(), commands::plan::run(args)),
        Command::Status(args) => (args.output_mode(), commands::status::run(args)),
        Command::Uninstall(args) => (args.output_mode(), commands::uninstall::run(args)),
    };
    match outcome {
        Ok(code) => code.into(),
        Err(err) => {
            ui::report_error(mode, &err);
            // A playbook that does not load is a usage error: nothing was touched.
            let bad_input = err
                .downcast_ref::<octa_bootstrap::answers::PlaybookError>()
                .is_some();
            if bad_input {
                ExitCode::USAGE
            } else {
                ExitCode::FAILURE
            }
            .into()
        }
    }
}
