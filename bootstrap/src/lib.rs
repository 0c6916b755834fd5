//! The install model, and the one door through which the `octa` CLI reaches the leaf
//! crates.
//!
//! Will own (issue "`octa install` ..."): `Answers` (filled by prompts, playbooks and
//! flags alike), the step engine (plan / apply / verify / undo), the state file, uninstall,
//! doctor checks and config rendering. It may depend on `netplumb`, `pki`, `cloud` and
//! `proto`, and nothing else of octa. Today it re-exports `pki` and `netplumb` for `octa pki` and `octa net`.

pub mod answers;

pub use octa_netplumb as netplumb;
pub use octa_pki as pki;
