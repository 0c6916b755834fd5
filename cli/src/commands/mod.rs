//! One file per `octa` subcommand: its clap arguments and its `run`.

pub mod net;
pub mod pki;
