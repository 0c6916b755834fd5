//! LVS (UDP and SCTP) listeners, one keepalived each (octavia-protocol.md §1.4 (9),
//! (10) and the LVS branches of (3), (4), (7), (8)): `PUT
//! /1.0/listeners/{amphora}/{listener}/udp_listener` stores the controller's keepalived
//! configuration as `base_path/lvs/octavia-keepalivedlvs-<listener>.conf` (0644), `GET
//! /1.0/listeners/{listener}/udp_listener` returns it; a load balancer action or delete on
//! an id without `haproxy.cfg` but with such a file lands here (`api` dispatches).
//!
//! The configurations name `base_path/lvs/check/udp_check.sh` as the MISC_CHECK of UDP
//! members. Stock copies a script packaged with Octavia there and answers 409 when the
//! package lacks it; octa writes its own equivalent ([`UDP_CHECK`]), so that 409 never
//! happens here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use octa_proto::amphora::{ListenerEntry, Message};

use crate::api::AppState;
use crate::files::{safe_segment, write_with_mode};
use crate::haproxy::{alive, read_pid};
use crate::keepalived::KeepalivedPaths;
use crate::respond::{failure, message, ok, route_not_found};
use crate::vrrp;

/// The UDP member check keepalived runs as `udp_check.sh ADDRESS PORT`: a member is
/// down when a UDP probe draws an ICMP port unreachable within a second (`nc -u -z -v`:
/// Debian's OpenBSD netcat probes with `-z -u` only when verbose, else it exits 0
/// whatever the port says; nmap's ncat takes its timeout as `-i`, the others as `-w`).
pub const UDP_CHECK: &str = "#!/bin/sh\n\
# UDP member check for keepalived's MISC_CHECK (written by octa-agent): $1 address, $2 port.\n\
if nc --version 2>&1 | grep -q nmap; then timeout=-i1; else timeout=-w1; fi\n\
nc -u -z -v \"$timeout\" \"$1\" \"$2\" > /dev/null 2>&1\n";

/// `base_path/lvs`.
pub fn lvs_dir(base_path: &Path) -> PathBuf {
    base_path.join("lvs")
}

/// `base_path/lvs/check/udp_check.sh`.
pub fn udp_check_path(base_path: &Path) -> PathBuf {
    lvs_dir(base_path).join("check").join("udp_check.sh")
}

/// Whether `listener_id` is an LVS listener here (its configuration exists).
pub fn exists(base_path: &Path, listener_id: &str) -> bool {
    KeepalivedPaths::lvs(base_path, listener_id)
        .config
        .is_file()
}

/// The LVS listeners: ids of `octavia-keepalivedlvs-<id>.conf` files, sorted.
pub fn listener_ids(base_path: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(lvs_dir(base_path))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter_map(|name| {
                    let id = name
                        .strip_prefix("octavia-keepalivedlvs-")?
                        .strip_suffix(".conf")?;
                    // Stock cuts the id at its first dot; ids are UUIDs, without dots.
                    (!id.is_empty() && !id.contains('.')).then(|| id.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Whether the listener's keepalived runs.
pub fn running(base_path: &Path, listener_id: &str) -> bool {
    read_pid(&KeepalivedPaths::lvs(base_path, listener_id).pid).is_some_and(alive)
}

/// Stock's status of one LVS listener: `ACTIVE` when its keepalived runs with a
/// `virtual_server` in its configuration, `OFFLINE` when it runs without one (a disabled
/// listener) or has no pid file, `ERROR` when its pid file names a dead process.
pub fn status(base_path: &Path, listener_id: &str) -> &'static str {
    let ka = KeepalivedPaths::lvs(base_path, listener_id);
    if !ka.pid.exists() {
        return "OFFLINE";
    }
    if !read_pid(&ka.pid).is_some_and(alive) {
        return "ERROR";
    }
    let config = std::fs::read_to_string(&ka.config).unwrap_or_default();
    if config.contains("virtual_server") {
        "ACTIVE"
    } else {
        "OFFLINE"
    }
}

/// The LVS entries of `GET /1.0/listeners` (type `UDP`, SCTP included, as stock).
pub fn entries(base_path: &Path) -> Vec<ListenerEntry> {
    listener_ids(base_path)
        .into_iter()
        .map(|uuid| ListenerEntry {
            status: status(base_path, &uuid).to_owned(),
            uuid,
            kind: "UDP".to_owned(),
        })
        .collect()
}

/// `lvs_listener_process_count` of `GET /1.0/details`.
pub fn process_count(base_path: &Path) -> u64 {
    listener_ids(base_path)
        .iter()
        .filter(|id| running(base_path, id))
        .count() as u64
}

fn not_found(listener_id: &str) -> Response {
    failure(
        StatusCode::NOT_FOUND,
        "UDP Listener Not Found",
        &format!("No UDP listener with UUID: {listener_id}"),
    )
}

/// Writes the configuration and the scripts around it.
fn store(state: &AppState, ka: &KeepalivedPaths, body: &[u8]) -> std::io::Result<()> {
    let base = &state.base_path;
    std::fs::create_dir_all(lvs_dir(base))?;
    let check = udp_check_path(base);
    if !check.exists() {
        // Stock's mode for the copied script: execute for the owner (root) only.
        write_with_mode(&check, UDP_CHECK.as_bytes(), 0o100)?;
    }
    write_with_mode(&ka.config, body, 0o644)?;
    // Only Active/Standby amphorae watch their LVS keepalived processes for VRRP.
    if state.active_standby {
        let script = vrrp::lvs_check_script_path(base);
        if !script.exists() {
            std::fs::create_dir_all(vrrp::check_scripts_dir(base))?;
            write_with_mode(
                &script,
                vrrp::render_lvs_check_script(&lvs_dir(base)).as_bytes(),
                0o100,
            )?;
        }
        vrrp::update_haproxy_check(base, None)?;
    }
    Ok(())
}

/// `PUT /1.0/listeners/{amphora_id}/{listener_id}/udp_listener` (the amphora id is
/// unused, as by stock).
pub async fn upload(
    State(state): State<Arc<AppState>>,
    UrlPath((amphora_id, listener_id)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    if !safe_segment(&amphora_id) || !safe_segment(&listener_id) {
        return route_not_found();
    }
    let ka = KeepalivedPaths::lvs(&state.base_path, &listener_id);
    if let Err(e) = store(&state, &ka, &body) {
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unable to write the configuration",
            &e.to_string(),
        );
    }
    vrrp::install_and_answer(
        &state,
        ka,
        &body,
        "Error enabling octavia-keepalivedlvs service",
    )
    .await
}

/// `GET /1.0/listeners/{listener_id}/udp_listener`.
pub async fn get_config(
    State(state): State<Arc<AppState>>,
    UrlPath(listener_id): UrlPath<String>,
) -> Response {
    if !safe_segment(&listener_id) {
        return route_not_found();
    }
    match std::fs::read(KeepalivedPaths::lvs(&state.base_path, &listener_id).config) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], bytes).into_response(),
        Err(_) => not_found(&listener_id),
    }
}

/// `PUT /1.0/loadbalancer/{listener_id}/{action}` for an LVS listener; `action` is a
/// checked, lower-cased start, stop or reload.
pub async fn action(state: Arc<AppState>, listener_id: String, action: String) -> Response {
    if !exists(&state.base_path, &listener_id) {
        return not_found(&listener_id);
    }
    // A reload always restarts: a keepalived reload does not put real servers back in
    // their initial state (stock; its "start if not running" check never fires, as
    // the action is already "restart" then).
    let action = if action == "reload" {
        "restart".to_owned()
    } else {
        action
    };
    let keepalived = state.keepalived.clone();
    let ka = KeepalivedPaths::lvs(&state.base_path, &listener_id);
    let verb = action.clone();
    let done = tokio::task::spawn_blocking(move || match verb.as_str() {
        "start" => keepalived.start(&ka),
        "restart" => keepalived.restart(&ka),
        _ => keepalived.stop(&ka),
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match done {
        Ok(()) => message(
            StatusCode::ACCEPTED,
            &Message::with_details(
                "OK",
                format!("keepalivedlvs listener {listener_id} {action}ed"),
            ),
        ),
        Err(out) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Failed to {action} keepalivedlvs listener {listener_id}"),
            &out,
        ),
    }
}

/// `DELETE /1.0/listeners/{listener_id}` for an LVS listener: stop, pid files, unit,
/// configuration. An unknown one is fine (200), as for stock.
pub async fn delete(state: Arc<AppState>, listener_id: String) -> Response {
    if !exists(&state.base_path, &listener_id) {
        return ok(StatusCode::OK);
    }
    let keepalived = state.keepalived.clone();
    let ka = KeepalivedPaths::lvs(&state.base_path, &listener_id);
    let done = tokio::task::spawn_blocking(move || {
        if keepalived.running(&ka) {
            keepalived
                .stop(&ka)
                .map_err(|out| ("Error stopping keepalivedlvs".to_owned(), out))?;
        }
        // The VRRP check judges listeners by these files: none may outlive the process.
        // (Stock removes all three as soon as one exists, and fails on a missing one.)
        for pid in ka.pid_files() {
            let _ = std::fs::remove_file(pid);
        }
        // Stock only logs a failed disable.
        if let Err(out) = keepalived.uninstall(&ka) {
            tracing::warn!("disabling {}: {out}", ka.unit);
        }
        let _ = std::fs::remove_file(&ka.config);
        Ok(())
    })
    .await
    .unwrap_or_else(|e| Err(("Error stopping keepalivedlvs".to_owned(), e.to_string())));
    match done {
        Ok(()) => ok(StatusCode::OK),
        Err((text, out)) => failure(StatusCode::INTERNAL_SERVER_ERROR, &text, &out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_and_their_status_are_found_as_stock_finds_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path();
        assert!(listener_ids(base).is_empty());
        let lvs = lvs_dir(base);
        std::fs::create_dir_all(&lvs).expect("dir");
        for name in [
            "octavia-keepalivedlvs-b.conf",
            "octavia-keepalivedlvs-a.conf",
            "octavia-keepalivedlvs-a.pid",
            "other.conf",
            "octavia-keepalivedlvs-.conf",
        ] {
            std::fs::write(lvs.join(name), "").expect("write");
        }
        assert_eq!(listener_ids(base), ["a", "b"]);
        assert!(exists(base, "a") && !exists(base, "c"));
        // a: a pid file naming a dead process; b: no pid file.
        std::fs::write(lvs.join("octavia-keepalivedlvs-a.pid"), "999999999").expect("pid");
        assert_eq!(status(base, "a"), "ERROR");
        assert_eq!(status(base, "b"), "OFFLINE");
        // b runs (this process stands in): ACTIVE with a virtual server, else OFFLINE.
        std::fs::write(
            lvs.join("octavia-keepalivedlvs-b.pid"),
            std::process::id().to_string(),
        )
        .expect("pid");
        assert_eq!(status(base, "b"), "OFFLINE");
        std::fs::write(
            lvs.join("octavia-keepalivedlvs-b.conf"),
            "virtual_server group ipv4-group {\n}\n",
        )
        .expect("conf");
        assert_eq!(status(base, "b"), "ACTIVE");
        assert_eq!(process_count(base), 1);
        let entries = entries(base);
        assert_eq!(
            entries
                .iter()
                .map(|e| (e.uuid.as_str(), e.status.as_str(), e.kind.as_str()))
                .collect::<Vec<_>>(),
            [("a", "ERROR", "UDP"), ("b", "ACTIVE", "UDP")]
        );
    }

    #[test]
    fn the_udp_check_reports_a_refusing_port_as_down() {
        // The script needs nc, as on an amphora image (tests/run-all.sh installs it).
        let has_nc = std::process::Command::new("sh")
            .args(["-c", "command -v nc"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(has_nc, "nc is missing: apt-get install netcat-openbsd");
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("udp_check.sh");
        std::fs::write(&script, UDP_CHECK).expect("write");
        let open = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = open.local_addr().expect("addr").port().to_string();
        let run = |port: &str| {
            std::process::Command::new("sh")
                .arg(&script)
                .args(["127.0.0.1", port])
                .status()
                .expect("sh")
                .success()
        };
        assert!(run(&port), "a bound UDP port is up");
        drop(open);
        assert!(
            !run(&port),
            "a closed UDP port answers ICMP unreachable: down"
        );
    }
}
