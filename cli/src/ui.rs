//! All terminal output of `octa`: human text or JSON on stdout, errors on stderr.
//!
//! Libraries never print; commands hand their results to `Ui`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use serde::Serialize;

/// How results are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Sentences and tables for a person.
    Human,
    /// One JSON document on stdout, for automation.
    Json,
}

/// The output side of the process context.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    mode: OutputMode,
}

impl Ui {
    /// A `Ui` printing in `mode`.
    pub fn new(mode: OutputMode) -> Self {
        Ui { mode }
    }

    /// One line of human output (suppressed in JSON mode).
    pub fn line(&self, text: impl AsRef<str>) {
        if self.mode == OutputMode::Human {
            println!("{}", text.as_ref());
        }
    }

    /// The JSON result document (only in JSON mode).
    pub fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        if self.mode == OutputMode::Json {
            println!("{}", serde_json::to_string_pretty(value)?);
        }
        Ok(())
    }

    /// An error with its hint and exit code, printed once: human text on stderr, or the
    /// style.md §2.3 JSON object on stdout.
    pub fn error(
        &self,
        err: &dyn std::error::Error,
        hint: Option<&str>,
        code: crate::exit::ExitCode,
    ) {
        let mut chain = vec![err.to_string()];
        let mut cur = err.source();
        while let Some(s) = cur {
            chain.push(s.to_string());
            cur = s.source();
        }
        match self.mode {
            OutputMode::Json => {
                let doc = serde_json::json!({
                    "error": chain.first(), "chain": chain, "hint": hint, "exit_code": code.0,
                });
                println!("{doc}");
            }
            OutputMode::Human => {
                eprintln!("error: {}", chain.join(": "));
                if let Some(h) = hint.filter(|h| !h.is_empty()) {
                    eprintln!("hint: {h}");
                }
            }
        }
    }

    /// A warning for the operator, on stderr in both modes.
    pub fn warn(&self, text: impl AsRef<str>) {
        eprintln!("warning: {}", text.as_ref());
    }
}

/// Prints an error and its causes once: one line `error: what: why: deeper cause` for a
/// person (errors name their file, so one line is enough to act on), one object with
/// the chain as a list in JSON mode.
pub fn report_error(mode: OutputMode, err: &anyhow::Error) {
    let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
    match mode {
        OutputMode::Json => {
            let doc = serde_json::json!({ "error": chain.first(), "chain": chain });
            println!("{doc}");
        }
        OutputMode::Human => eprintln!("error: {}", chain.join(": ")),
    }
}
