//! The VRRP routes (octavia-protocol.md §1.4 (17), (18)): `PUT /1.0/vrrp/upload` stores
//! keepalived's Active/Standby configuration (`base_path/vrrp/octavia-keepalived.conf`,
//! 0644) and `PUT /1.0/vrrp/{start|stop|reload}` runs it through `Keepalived`; and the
//! VRRP check scripts the configuration's `vrrp_script` runs, which this module owns:
//! `base_path/vrrp/check_script.sh` runs every script in `base_path/vrrp/check_scripts/`,
//! where `haproxy_check_script.sh` asks each load balancer's haproxy stats socket
//! (`octa-agent haproxy-vrrp-check`, stock's `haproxy-vrrp-check` in Rust, so an image
//! needs no Python tool for it) and, for LVS listeners under
//! ACTIVE_STANDBY, `lvs_udp_check.sh` checks their keepalived processes. The scripts are
//! octa's own text, with the behaviour of stock's templates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use octa_proto::amphora::Message;

use crate::api::AppState;
use crate::files::{md5_hex, write_with_mode};
use crate::haproxy::known_lbs;
use crate::keepalived::KeepalivedPaths;
use crate::respond::{failure, message, ok};

/// `base_path/vrrp/check_scripts`: every script here must succeed for the VRRP
/// instance to stay healthy.
pub fn check_scripts_dir(base_path: &Path) -> PathBuf {
    base_path.join("vrrp").join("check_scripts")
}

/// `base_path/vrrp/check_script.sh`, the configuration's `vrrp_script`.
pub fn check_script_path(base_path: &Path) -> PathBuf {
    base_path.join("vrrp").join("check_script.sh")
}

/// `check_scripts/haproxy_check_script.sh`.
pub fn haproxy_check_script_path(base_path: &Path) -> PathBuf {
    check_scripts_dir(base_path).join("haproxy_check_script.sh")
}

/// `check_scripts/lvs_udp_check.sh`.
pub fn lvs_check_script_path(base_path: &Path) -> PathBuf {
    check_scripts_dir(base_path).join("lvs_udp_check.sh")
}

/// `check_script.sh`: runs each script in `dir` with bash, fails if any fails.
pub fn render_check_script(dir: &Path) -> String {
    format!(
        "#!/bin/bash\n# keepalived's vrrp_script (written by octa-agent): healthy while every\n\
         # check script in {dir} succeeds.\nshopt -s nullglob\nfailed=0\n\
         for check in {dir}/*; do\n  bash \"$check\" || failed=$((failed + 1))\ndone\n\
         exit $failed\n",
        dir = dir.display()
    )
}

/// `lvs_udp_check.sh`: fails if the keepalived named by any LVS listener's main pid
/// file in `lvs_dir` is gone (a pid file outlives a killed keepalived). The children's
/// `.vrrp.pid` and `.check.pid` are skipped. `kill -0` judges units too: their
/// `PIDFile` is this pid file.
pub fn render_lvs_check_script(lvs_dir: &Path) -> String {
    format!(
        "#!/bin/bash\n# LVS listeners' keepalived processes (written by octa-agent).\n\
         shopt -s nullglob\nfailed=0\nfor pidfile in {dir}/octavia-keepalivedlvs-*.pid; do\n\
         \x20 case \"$pidfile\" in *.vrrp.pid|*.check.pid) continue ;; esac\n\
         \x20 kill -0 \"$(cat \"$pidfile\")\" 2>/dev/null || failed=$((failed + 1))\ndone\n\
         exit $failed\n",
        dir = lvs_dir.display()
    )
}

/// What `haproxy_check_script.sh` holds, given the load balancers with a configuration,
/// the one being stopped or deleted, and how many LVS listeners there are; `None` when it
/// must be absent.
pub fn haproxy_check_text(
    base_path: &Path,
    lbs: &[String],
    stopping: Option<&str>,
    lvs_listeners: usize,
) -> Option<String> {
    if lbs.is_empty() {
        // No haproxy at all: keepalived must think haproxy is down, unless LVS
        // listeners carry the VIP (their own check covers them).
        return (lvs_listeners == 0).then(|| "exit 1".to_owned());
    }
    // The one being stopped still counted as "some load balancer" above; without it
    // the list may be empty, and `haproxy-vrrp-check` without sockets succeeds (stock).
    let sockets: Vec<String> = lbs
        .iter()
        .filter(|lb| Some(lb.as_str()) != stopping)
        .map(|lb| base_path.join(format!("{lb}.sock")).display().to_string())
        .collect();
    Some(format!("{} {}; exit $?", checker(), sockets.join(" ")))
}

/// The check command: this very binary's `haproxy-vrrp-check`.
pub fn checker() -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "octa-agent".to_owned());
    format!("{exe} haproxy-vrrp-check")
}

/// How long one stats socket may take to answer (stock's timeout).
const SOCKET_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether the haproxy behind `socket` answers `show stat`: a failover happens only when
/// a stats socket stops responding.
pub fn haproxy_answers(socket: &Path) -> bool {
    crate::stats::command(socket, "show stat -1 -1 -1", SOCKET_TIMEOUT)
        .is_ok_and(|answer| !answer.is_empty())
}

/// `octa-agent haproxy-vrrp-check SOCKET...`: the number of stats sockets that did not
/// answer, as the exit status (0: all did, or none were given).
pub fn haproxy_vrrp_check(sockets: &[PathBuf]) -> i32 {
    let silent = sockets.iter().filter(|s| !haproxy_answers(s)).count();
    i32::try_from(silent).unwrap_or(i32::MAX)
}

/// Rewrites `haproxy_check_script.sh` (stock's `vrrp_check_script_update`): on VRRP
/// upload, on every load balancer action under ACTIVE_STANDBY, on deletion.
pub fn update_haproxy_check(base_path: &Path, stopping: Option<&str>) -> std::io::Result<()> {
    std::fs::create_dir_all(check_scripts_dir(base_path))?;
    let lvs = crate::lvs::listener_ids(base_path).len();
    let path = haproxy_check_script_path(base_path);
    match haproxy_check_text(base_path, &known_lbs(base_path), stopping, lvs) {
        Some(text) => write_with_mode(&path, text.as_bytes(), 0o644),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}

fn write_failed(e: &std::io::Error) -> Response {
    failure(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Unable to write the configuration",
        &e.to_string(),
    )
}

/// `PUT /1.0/vrrp/upload`.
pub async fn upload(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let base = &state.base_path;
    let ka = KeepalivedPaths::vrrp(base);
    let written = std::fs::create_dir_all(check_scripts_dir(base))
        .and_then(|()| write_with_mode(&ka.config, &body, 0o644))
        .and_then(|()| {
            let script = check_script_path(base);
            if script.exists() {
                return Ok(());
            }
            write_with_mode(
                &script,
                render_check_script(&check_scripts_dir(base)).as_bytes(),
                0o755,
            )
        })
        .and_then(|()| update_haproxy_check(base, None));
    if let Err(e) = written {
        return write_failed(&e);
    }
    install_and_answer(
        &state,
        ka,
        &body,
        "Error enabling octavia-keepalived service",
    )
    .await
}

/// The end of both keepalived uploads (VRRP, LVS): the unit installed and enabled off
/// the async runtime, then stock's 200 with the body's ETag, or its 500 with `refusal`.
pub(crate) async fn install_and_answer(
    state: &AppState,
    ka: KeepalivedPaths,
    body: &[u8],
    refusal: &str,
) -> Response {
    let keepalived = state.keepalived.clone();
    let installed = tokio::task::spawn_blocking(move || keepalived.install(&ka))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    match installed {
        Ok(()) => ([(header::ETAG, md5_hex(body))], ok(StatusCode::OK)).into_response(),
        Err(out) => failure(StatusCode::INTERNAL_SERVER_ERROR, refusal, &out),
    }
}

/// `PUT /1.0/vrrp/{action}`.
pub async fn action(
    State(state): State<Arc<AppState>>,
    UrlPath(action): UrlPath<String>,
) -> Response {
    let action = action.to_lowercase();
    if !["start", "stop", "reload"].contains(&action.as_str()) {
        return failure(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            &format!("Unknown action: {action}"),
        );
    }
    let keepalived = state.keepalived.clone();
    let ka = KeepalivedPaths::vrrp(&state.base_path);
    // Starting a running keepalived reloads it, as stock does.
    let done = tokio::task::spawn_blocking(move || {
        let action = if action == "start" && keepalived.running(&ka) {
            "reload".to_owned()
        } else {
            action
        };
        let result = match action.as_str() {
            "start" => keepalived.start(&ka),
            "reload" => keepalived.reload(&ka),
            _ => keepalived.stop(&ka),
        };
        (action, result)
    })
    .await;
    match done {
        Ok((action, Ok(()))) => message(
            StatusCode::ACCEPTED,
            // "stoped" included: stock appends "ed" to the action.
            &Message::with_details("OK", format!("keepalived {action}ed")),
        ),
        Ok((action, Err(out))) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Failed to {action} octavia-keepalived service"),
            &out,
        ),
        Err(e) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Failed to manage octavia-keepalived service",
            &e.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_haproxy_check_follows_the_load_balancers_as_stock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path();
        let script = haproxy_check_script_path(base);
        // Nothing at all: haproxy counts as down.
        update_haproxy_check(base, None).expect("update");
        assert_eq!(std::fs::read_to_string(&script).expect("script"), "exit 1");
        // Only LVS listeners: no haproxy check.
        std::fs::create_dir_all(base.join("lvs")).expect("lvs dir");
        std::fs::write(base.join("lvs/octavia-keepalivedlvs-l1.conf"), "").expect("conf");
        update_haproxy_check(base, None).expect("update");
        assert!(!script.exists());
        // Two load balancers, one being stopped.
        for lb in ["lb1", "lb2"] {
            std::fs::create_dir_all(base.join(lb)).expect("lb dir");
            std::fs::write(base.join(lb).join("haproxy.cfg"), "").expect("cfg");
        }
        update_haproxy_check(base, Some("lb1")).expect("update");
        assert_eq!(
            std::fs::read_to_string(&script).expect("script"),
            format!("{} {}/lb2.sock; exit $?", checker(), base.display())
        );
        update_haproxy_check(base, None).expect("update");
        assert_eq!(
            std::fs::read_to_string(&script).expect("script"),
            format!(
                "{} {b}/lb1.sock {b}/lb2.sock; exit $?",
                checker(),
                b = base.display()
            )
        );
        // The only load balancer being stopped: an empty check list (succeeds), as stock.
        std::fs::remove_dir_all(base.join("lb2")).expect("rm");
        update_haproxy_check(base, Some("lb1")).expect("update");
        assert_eq!(
            std::fs::read_to_string(&script).expect("script"),
            format!("{} ; exit $?", checker())
        );
    }

    #[test]
    fn the_haproxy_check_needs_every_socket_to_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = dir.path().join("live.sock");
        let listener = std::os::unix::net::UnixListener::bind(&live).expect("bind");
        let server = std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            let (mut conn, _) = listener.accept().expect("accept");
            let mut line = String::new();
            std::io::BufReader::new(&conn)
                .read_line(&mut line)
                .expect("read");
            assert_eq!(line, "show stat -1 -1 -1\n");
            conn.write_all(b"# pxname,svname\n").expect("write");
        });
        assert_eq!(haproxy_vrrp_check(std::slice::from_ref(&live)), 0);
        server.join().expect("server");
        let dead = dir.path().join("dead.sock");
        assert_eq!(haproxy_vrrp_check(&[live, dead]), 2, "both now silent");
        assert_eq!(haproxy_vrrp_check(&[]), 0);
    }

    #[test]
    fn check_scripts_run_their_directory_and_the_lvs_pid_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let checks = dir.path().join("check_scripts");
        std::fs::create_dir_all(&checks).expect("dir");
        let main = dir.path().join("check_script.sh");
        std::fs::write(&main, render_check_script(&checks)).expect("write");
        let run = |script: &Path| {
            std::process::Command::new("bash")
                .arg(script)
                .output()
                .expect("bash")
                .status
                .success()
        };
        assert!(run(&main), "no check scripts: healthy");
        std::fs::write(checks.join("a.sh"), "exit 0").expect("write");
        assert!(run(&main));
        std::fs::write(checks.join("b.sh"), "exit 1").expect("write");
        assert!(!run(&main), "one failing check fails the whole");

        let lvs = dir.path().join("lvs");
        std::fs::create_dir_all(&lvs).expect("dir");
        let lvs_check = dir.path().join("lvs_udp_check.sh");
        std::fs::write(&lvs_check, render_lvs_check_script(&lvs)).expect("write");
        std::fs::write(
            lvs.join("octavia-keepalivedlvs-l1.pid"),
            std::process::id().to_string(),
        )
        .expect("pid");
        // A dead child's pid file is not the listener's keepalived.
        std::fs::write(lvs.join("octavia-keepalivedlvs-l1.vrrp.pid"), "999999999").expect("pid");
        assert!(run(&lvs_check));
        std::fs::write(lvs.join("octavia-keepalivedlvs-l2.pid"), "999999999").expect("pid");
        assert!(!run(&lvs_check), "a stale main pid file fails the check");
    }
}
