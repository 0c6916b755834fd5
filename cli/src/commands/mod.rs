//! One file per `octa` subcommand: its clap arguments and its `run`.

pub mod pki;
