//! Exit codes of `octa`, stable for automation (style.md §2.3).

/// A process exit code. Named constants only; combine by keeping the first failure.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCode(pub u8);

impl ExitCode {
    /// Success; a check found nothing to report.
    pub const SUCCESS: ExitCode = ExitCode(0);
    /// An unexpected or internal error.
    pub const FAILURE: ExitCode = ExitCode(1);
    /// A usage error (clap uses 2 as well).
    pub const USAGE: ExitCode = ExitCode(2);
    /// A check found blocking (critical) problems; nothing was changed.
    pub const CRITICAL: ExitCode = ExitCode(3);
    /// A step failed after changes; the state is saved and a re-run continues.
    pub const STEP_FAILED: ExitCode = ExitCode(4);
    /// A check found warnings only.
    pub const WARNINGS: ExitCode = ExitCode(10);
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.0)
    }
}
