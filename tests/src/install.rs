//! Fixtures for `octa install` against the lab: a playbook per test (own names, CIDR,
//! interface, state and PKI directories), a Keystone user per test so that Neutron's
//! access log shows exactly the requests that test's octa made, and Neutron queries through
//! the stock `openstack` CLI (an independent client).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::workspace_bin;

/// The lab's `openstack` CLI as admin. The lab's Neutron keeps its database in SQLite,
/// which now and then answers a write "database is locked" (a rolled-back transaction,
/// HTTP 500) when another process wrote first; the stock CLI does not retry, so a 500 is
/// retried here, a few times, before the test fails. Anything else fails at once.
pub fn openstack(args: &[&str]) -> String {
    let mut attempt = 1u64;
    loop {
        let mut cmd = Command::new("openstack");
        cmd.args(args).env("OS_CLOUD", "lab");
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && stderr.contains("HttpException: 500") && attempt < 4 {
            std::thread::sleep(std::time::Duration::from_millis(300 * attempt));
            attempt += 1;
            continue;
        }
        assert!(
            out.status.success(),
            "{cmd:?} failed with {}:\n{}\n{stderr}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
        );
        return String::from_utf8_lossy(&out.stdout).into_owned();
    }
}

/// The objects of KIND (may be two words) named exactly NAME, as `openstack KIND list -f
/// json` rows (filtered here: `security group list` has no `--name`).
pub fn list_named(kind: &str, name: &str) -> Vec<Value> {
    let mut args: Vec<&str> = kind.split(' ').collect();
    args.extend(["list", "-f", "json"]);
    if kind != "security group" {
        args.extend(["--name", name]);
    }
    let all: Vec<Value> =
        serde_json::from_str(&openstack(&args)).unwrap_or_else(|e| panic!("{kind} list: {e}"));
    all.into_iter().filter(|o| o["Name"] == name).collect()
}

/// `openstack KIND show ID -f json`.
pub fn show(kind: &str, id: &str) -> Value {
    let mut args: Vec<&str> = kind.split(' ').collect();
    args.extend(["show", id, "-f", "json"]);
    serde_json::from_str(&openstack(&args)).unwrap_or_else(|e| panic!("{kind} show: {e}"))
}

/// Every Neutron object an install owns, as (`openstack` kind, `Lab::name` suffix), in an
/// order that deletes cleanly (port before subnet before network).
pub const OBJECTS: [(&str, &str); 5] = [
    ("port", "hm-port"),
    ("subnet", "sub"),
    ("network", "net"),
    ("security group", "amp-sg"),
    ("security group", "hm-sg"),
];

/// One test's install: names derived from `tag`, CIDR 172.31.`octet`.0/24.
pub struct Lab {
    pub tag: String,
    pub octet: u8,
    pub dir: tempfile::TempDir,
    pub user: Option<KeystoneUser>,
}

/// A Keystone user with the admin role on the admin project, deleted on drop.
pub struct KeystoneUser {
    pub name: String,
    pub id: String,
    password: String,
}

impl Drop for KeystoneUser {
    fn drop(&mut self) {
        let _ = Command::new("openstack")
            .args(["user", "delete", &self.id])
            .env("OS_CLOUD", "lab")
            .output();
    }
}

impl KeystoneUser {
    pub fn create(name: &str) -> KeystoneUser {
        let password = format!("pw-{}-{}", std::process::id(), name.len());
        let id = openstack(&[
            "user",
            "create",
            "--domain",
            "Default",
            "--password",
            &password,
            name,
            "-f",
            "value",
            "-c",
            "id",
        ])
        .trim()
        .to_owned();
        openstack(&["role", "add", "--user", &id, "--project", "admin", "admin"]);
        KeystoneUser {
            name: name.to_owned(),
            id,
            password,
        }
    }

    /// `OS_*` variables authenticating as this user.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("OS_AUTH_URL", crate::lab_var("OS_AUTH_URL")),
            ("OS_USERNAME", self.name.clone()),
            ("OS_PASSWORD", self.password.clone()),
            ("OS_PROJECT_NAME", "admin".into()),
            ("OS_USER_DOMAIN_NAME", "Default".into()),
            ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
            ("OS_REGION_NAME", "RegionOne".into()),
            ("OS_INTERFACE", "public".into()),
            ("OS_IDENTITY_API_VERSION", "3".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Neutron's access-log lines of this user's requests (method and path), in order.
    pub fn neutron_requests(&self) -> Vec<String> {
        let log = Path::new(&crate::lab_var("OCTA_LAB_DIR")).join("log/neutron-server.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains(&self.id) && l.contains("neutron.wsgi"))
            .filter_map(|l| l.split('"').nth(1).map(str::to_owned))
            .collect()
    }
}

impl Lab {
    pub fn new(tag: &str, octet: u8) -> Lab {
        Lab {
            tag: format!("{tag}{}", std::process::id() % 10000),
            octet,
            dir: tempfile::tempdir().expect("temp dir"),
            user: None,
        }
    }

    pub fn name(&self, what: &str) -> String {
        format!("octa-t-{}-{what}", self.tag)
    }
    pub fn iface(&self) -> String {
        format!("ohm{}", self.tag.chars().rev().take(8).collect::<String>())
    }
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    pub fn pki_dir(&self) -> PathBuf {
        self.dir.path().join("pki")
    }
    pub fn unit_dir(&self) -> PathBuf {
        self.dir.path().join("units")
    }

    /// A complete playbook for this test; `extra` is appended (top-level keys).
    pub fn playbook(&self, extra: &str) -> PathBuf {
        let cloud = if self.user.is_some() {
            ""
        } else {
            "cloud: { name: lab }\n"
        };
        let text = format!(
            "version: 1\n{cloud}state_dir: {state}\n\
mgmt_network:\n  name: {net}\n  subnet_name: {sub}\n  type: vxlan\n  cidr: 172.31.{o}.0/24\n\
interface: {{ name: {iface}, bridge: br-int, ovsdb: \"{ovsdb}\" }}\n\
security_groups: {{ amphora: {amp}, health_manager: {hm} }}\n\
pki: {{ dir: {pki}, key_type: ec-p384 }}\n\
health_manager: {{ port: 5555, port_name: {port}, firewall: false }}\n{extra}",
            state = self.state_dir().display(),
            net = self.name("net"),
            sub = self.name("sub"),
            o = self.octet,
            iface = self.iface(),
            ovsdb = crate::lab_var("OCTA_OVSDB_UNIX"),
            amp = self.name("amp-sg"),
            hm = self.name("hm-sg"),
            pki = self.pki_dir().display(),
            port = self.name("hm-port"),
        );
        let path = self.dir.path().join("playbook.yaml");
        std::fs::write(&path, text).expect("write playbook");
        path
    }

    /// Runs `octa ARGS` with this test's unit directory (and user, if any).
    pub fn octa(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(workspace_bin("octa"));
        cmd.args(args).env("OCTA_UNIT_DIR", self.unit_dir());
        if let Some(u) = &self.user {
            cmd.env_remove("OS_CLOUD")
                .env_remove("OS_CLIENT_CONFIG_FILE");
            cmd.envs(u.env());
        }
        cmd.envs(envs.iter().copied());
        cmd.output().expect("run octa")
    }

    /// `octa ARGS` that must succeed; its stdout.
    pub fn octa_ok(&self, args: &[&str]) -> String {
        let out = self.octa(args, &[]);
        assert!(
            out.status.success(),
            "octa {args:?} failed with {}:\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every file under the test directory with its size, mode, mtime and content hash.
    pub fn disk_snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out.sort();
        out
    }

    /// Best-effort cleanup of everything named like this test's objects.
    pub fn scrub_neutron(&self) {
        for (kind, what) in OBJECTS {
            for obj in list_named(kind, &self.name(what)) {
                let id = obj["ID"].as_str().unwrap_or_default().to_owned();
                let mut args: Vec<&str> = kind.split(' ').collect();
                args.extend(["delete", &id]);
                let _ = Command::new("openstack")
                    .args(&args)
                    .env("OS_CLOUD", "lab")
                    .output();
            }
        }
    }
}

/// A failed test must not leave its objects behind: they would block the next run (same
/// CIDR routed, same names) and eat the project's quota.
impl Drop for Lab {
    fn drop(&mut self) {
        if self.state_dir().join("state.json").exists() {
            let _ = self.octa(
                &[
                    "uninstall",
                    "--state-dir",
                    &self.state_dir().display().to_string(),
                    "--yes",
                ],
                &[],
            );
        }
        self.scrub_neutron();
        let db = format!("--db={}", crate::lab_var("OCTA_OVSDB_UNIX"));
        let _ = Command::new("ovs-vsctl")
            .args([&db, "--if-exists", "del-port", "br-int", &self.iface()])
            .output();
    }
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            walk(&p, out);
        } else {
            let content = std::fs::read(&p).unwrap_or_default();
            out.push(format!(
                "{} size={} mode={:o} mtime={}.{} sum={:x}",
                p.display(),
                m.len(),
                m.mode(),
                m.mtime(),
                m.mtime_nsec(),
                fnv1a(&content)
            ));
        }
    }
}

/// A cheap content fingerprint (FNV-1a), enough to see a rewrite with other bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}
