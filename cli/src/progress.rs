//! Progress of a running install or uninstall: an indicatif spinner line per step at a
//! terminal, plain lines otherwise, nothing in JSON mode.
#![allow(clippy::print_stdout)]

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use octa_bootstrap::engine::Observer;

use crate::ui::OutputMode;

pub struct StepProgress {
    mode: OutputMode,
    tty: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl StepProgress {
    pub fn new(mode: OutputMode) -> Self {
        StepProgress {
            mode,
            tty: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    pub fn clear(&self) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(bar) = b.take()
        {
            bar.finish_and_clear();
        }
    }
}

impl Observer for StepProgress {
    fn started(&self, id: &str, describe: &str) {
        if self.mode == OutputMode::Json || !self.tty {
            return;
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("{id:<15} {describe}"));
        bar.enable_steady_tick(Duration::from_millis(100));
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar);
        }
    }

    fn finished(&self, id: &str, outcome: &str) {
        if self.mode == OutputMode::Json {
            return;
        }
        let line = format!("  {outcome:<8} {id}");
        match self.bar.lock().ok().and_then(|mut b| b.take()) {
            Some(bar) => bar.finish_with_message(line),
            None => println!("{line}"),
        }
    }
}
