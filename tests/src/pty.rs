//! A process on a real pseudo-terminal, driven like a person at a keyboard: wait for text
//! to appear, then type. Used to test the guided mode of `octa install` end to end.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{OpenptyResult, Winsize, openpty};

pub struct Pty {
    child: Child,
    writer: std::fs::File,
    screen: Arc<Mutex<String>>,
    /// How much of `screen` earlier `expect`s consumed.
    seen: usize,
}

/// Removes ANSI escape sequences (colours, cursor moves) from terminal output.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() || d == '~' {
                        break;
                    }
                }
            }
            continue;
        }
        if c != '\r' {
            out.push(c);
        }
    }
    out
}

impl Pty {
    /// Starts `cmd` with stdin, stdout and stderr on a new terminal of 120x40.
    pub fn spawn(mut cmd: Command) -> Pty {
        let size = Winsize {
            ws_row: 40,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let OpenptyResult { master, slave } = openpty(Some(&size), None).expect("openpty");
        let child = cmd
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().expect("dup pty")))
            .stdout(Stdio::from(slave.try_clone().expect("dup pty")))
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("spawn on the pty");
        let master = std::fs::File::from(master);
        let writer = master.try_clone().expect("dup master");
        let screen = Arc::new(Mutex::new(String::new()));
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut reader = master;
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = strip_ansi(&String::from_utf8_lossy(&buf[..n]));
                sink.lock().expect("screen lock").push_str(&text);
            }
        });
        Pty {
            child,
            writer,
            screen,
            seen: 0,
        }
    }

    /// Everything shown so far (escape sequences removed).
    pub fn screen(&self) -> String {
        self.screen.lock().expect("screen lock").clone()
    }

    /// Waits until `text` appears after what earlier calls consumed; panics with the screen
    /// after `timeout`.
    pub fn expect(&mut self, text: &str, timeout: Duration) {
        let end = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if let Some(i) = screen[self.seen.min(screen.len())..].find(text) {
                self.seen += i + text.len();
                return;
            }
            assert!(
                Instant::now() < end,
                "{text:?} did not appear within {timeout:?}; the terminal shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `keys` (use "\r" for Enter).
    pub fn send(&mut self, keys: &str) {
        self.writer
            .write_all(keys.as_bytes())
            .expect("type on the pty");
        self.writer.flush().expect("flush the pty");
    }

    /// Waits for the process to end; its exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                return status.code();
            }
            if Instant::now() >= end {
                let _ = self.child.kill();
                panic!(
                    "the process did not end within {timeout:?}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
