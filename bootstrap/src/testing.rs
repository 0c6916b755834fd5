//! Test-only crash points (style.md §2.2 rule 8): with feature `test-hooks`, the process
//! exits at once, without unwinding, when `Ctx::checkpoint` names the point reached, the
//! way a kill -9 there would. Without the feature this compiles to nothing.

use crate::ctx::Ctx;

/// Exit status of a process stopped at a checkpoint.
pub const CHECKPOINT_EXIT: i32 = 86;

#[cfg(feature = "test-hooks")]
pub fn checkpoint(cx: &Ctx, name: &str) {
    if cx.checkpoint.as_deref() == Some(name) {
        eprintln!("octa: test checkpoint {name} reached; exiting");
        std::process::exit(CHECKPOINT_EXIT);
    }
}

#[cfg(not(feature = "test-hooks"))]
pub fn checkpoint(_cx: &Ctx, _name: &str) {}
