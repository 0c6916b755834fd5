//! One file per `octa` subcommand: its clap arguments and its `run`; `session`, `show` and
//! `guided` are shared by the install-model commands.

pub mod guided;
pub mod install;
pub mod net;
pub mod pki;
pub mod plan;
pub mod session;
pub mod show;
pub mod status;
pub mod uninstall;

use octa_bootstrap::engine::EngineError;

use crate::exit::ExitCode;
use crate::ui::Ui;

/// Runs a command's async body on a single-threaded runtime (netlink work gets its own
/// thread inside netplumb; everything else here is I/O-bound).
pub fn block_on<F: std::future::Future>(body: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(body))
}

/// Prints an engine error once (with its hint) and gives its exit code.
pub fn report(ui: &Ui, err: &EngineError) -> ExitCode {
    let code = ExitCode(u8::try_from(err.exit_code()).unwrap_or(1));
    let hint = err.hint();
    ui.error(err, hint.as_deref(), code);
    code
}
