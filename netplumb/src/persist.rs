//! What makes the interface survive a reboot: a small state file describing it, and a
//! systemd unit that re-converges it at boot, after Open vSwitch, by running
//! `octa net converge --state FILE`.
//!
//! State file layout (JSON, written atomically, 0600):
//! `{"version":1,"ovsdb":"unix:...","bridge":"br-int","name":"o-hm0","iface_id":"...",
//!   "mac":"fa:16:3e:..","mtu":1450,"addresses":["172.16.0.2/24"],"netns":null,
//!   "firewall_port":5555,"owner":"octa"}`

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};

/// The state file's schema version.
pub const STATE_VERSION: u32 = 1;

/// Everything needed to re-plumb the interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlumbState {
    /// Schema version ([`STATE_VERSION`]).
    pub version: u32,
    /// OVSDB remote.
    pub ovsdb: String,
    /// Bridge.
    pub bridge: String,
    /// Interface name.
    pub name: String,
    /// Neutron port id.
    pub iface_id: String,
    /// MAC, `aa:bb:..`.
    pub mac: String,
    /// MTU.
    pub mtu: Option<u32>,
    /// Static addresses.
    pub addresses: Vec<IpNet>,
    /// Network namespace of the interface (`None`: the host's).
    pub netns: Option<String>,
    /// Heartbeat port of the firewall table (`None`: no table).
    pub firewall_port: Option<u16>,
    /// Owner mark.
    pub owner: String,
}

fn file_err(path: &Path) -> impl FnOnce(std::io::Error) -> NetError + '_ {
    move |source| NetError::File {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `bytes` to `path` atomically with `mode` (temp sibling, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(file_err(dir))?;
    }
    let tmp = path.with_extension(format!("octa-tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(file_err(path))
}

/// Writes the state file (0600); false when it already held exactly this.
pub fn write_state(path: &Path, state: &PlumbState) -> Result<bool> {
    let text = serde_json::to_string_pretty(state).map_err(|e| NetError::File {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    })? + "\n";
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    write_atomic(path, text.as_bytes(), 0o600)?;
    Ok(true)
}

/// Reads a state file, naming the file and the problem.
pub fn read_state(path: &Path) -> Result<PlumbState> {
    let text = fs::read_to_string(path).map_err(file_err(path))?;
    let state: PlumbState = serde_json::from_str(&text).map_err(|e| NetError::File {
        path: path.display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    if state.version != STATE_VERSION {
        return Err(NetError::Invalid {
            field: "state file version",
            value: state.version.to_string(),
            expected: "1",
        });
    }
    Ok(state)
}

/// The systemd unit's name for interface `name`.
pub fn unit_name(name: &str) -> String {
    format!("octa-net-{name}.service")
}

/// The unit that re-converges the interface at boot.
pub fn unit_text(octa: &Path, state: &Path, name: &str) -> String {
    format!(
        "# Written by octa; `octa net unplumb --name {name}` removes it.\n\
         [Unit]\n\
         Description=octa: converge the health-manager interface {name}\n\
         After=network-pre.target openvswitch-switch.service ovs-vswitchd.service\n\
         Wants=openvswitch-switch.service\n\
         Before=network-online.target\n\n\
         [Service]\n\
         Type=oneshot\n\
         RemainAfterExit=yes\n\
         ExecStart={octa} net converge --state {state}\n\
         Restart=on-failure\n\
         RestartSec=5\n\n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        octa = octa.display(),
        state = state.display(),
    )
}

/// Writes the unit into `unit_dir` and enables it where systemd runs. Returns the unit
/// path and whether anything changed.
pub fn install_unit(unit_dir: &Path, name: &str, text: &str) -> Result<(PathBuf, bool)> {
    let path = unit_dir.join(unit_name(name));
    if fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok((path, false));
    }
    write_atomic(&path, text.as_bytes(), 0o644)?;
    if systemd_running() {
        systemctl(&["daemon-reload"])?;
        systemctl(&["enable", &unit_name(name)])?;
    }
    Ok((path, true))
}

/// Disables and removes the unit; absent is success.
pub fn remove_unit(unit_dir: &Path, name: &str) -> Result<bool> {
    let path = unit_dir.join(unit_name(name));
    if !path.exists() {
        return Ok(false);
    }
    if systemd_running() {
        systemctl(&["disable", &unit_name(name)])?;
    }
    fs::remove_file(&path).map_err(file_err(&path))?;
    Ok(true)
}

/// Whether systemd is the init system here (sd_booted's test).
pub fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

fn systemctl(args: &[&str]) -> Result<()> {
    let out = Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|e| NetError::Command {
            command: format!("systemctl {}", args.join(" ")),
            stderr: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetError::Command {
            command: format!("systemctl {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}
