//! The install model, and the one door through which the `octa` CLI reaches the leaf
//! crates: `Answers` (filled by prompts, playbooks and flags alike), the step engine
//! (plan / apply / verify / undo), the state file, the steps of ARCHITECTURE.md §3, and
//! config rendering. It may depend on `netplumb`, `pki`, `cloud` and `proto`, and nothing
//! else of octa.

pub mod answers;
pub mod ctx;
pub mod engine;
pub mod owner;
pub mod render;
pub mod state;
pub mod step;
pub mod steps;
pub mod testing;

pub use octa_cloud as cloud;
pub use octa_netplumb as netplumb;
pub use octa_pki as pki;

/// `e` and its sources on one line, `a: b: c`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.join(": ")
}
