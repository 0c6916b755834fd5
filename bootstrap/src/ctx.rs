//! `Ctx`: everything a step may use: the answers, who owns what (the deployment id), the
//! cloud behind its traits, and the host facts the CLI resolved. Library code reads no
//! environment variables and no wall clock; they arrive here.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use octa_cloud::{Glance, Neutron, Nova, Session};
use time::OffsetDateTime;

use crate::answers::Answers;

pub struct Ctx {
    pub answers: Answers,
    /// Ownership id in every tag and external_ids mark this install writes.
    pub deployment: String,
    /// `binding:host_id` of the health-manager port.
    pub host: String,
    /// `--adopt`: take over same-named objects that carry no mark of ours.
    pub adopt: bool,
    /// Ids of objects an earlier run adopted (from the state file).
    pub adopted: Mutex<HashSet<String>>,
    pub neutron: Arc<dyn Neutron>,
    pub nova: Arc<dyn Nova>,
    pub glance: Arc<dyn Glance>,
    pub session: Arc<dyn Session>,
    /// The running `octa` binary, for the boot unit's ExecStart.
    pub octa_exe: PathBuf,
    /// Where the boot unit goes (`/etc/systemd/system`).
    pub unit_dir: PathBuf,
    /// Also write the stock `octavia.conf` options here.
    pub octavia_conf: Option<PathBuf>,
    /// Deadline of each OVSDB/netlink wait and of the port becoming ACTIVE.
    pub timeout: Duration,
    /// The moment this run started (certificate validity, state timestamps).
    pub now: OffsetDateTime,
    /// Where an answer came from, for messages: key path -> `file:line: key`.
    pub whereis: Box<dyn Fn(&str) -> String + Send + Sync>,
    /// Test-only crash point (`OCTA_TEST_CHECKPOINT`), honoured with feature `test-hooks`.
    pub checkpoint: Option<String>,
}

impl Ctx {
    /// Neutron tag that marks an object as this deployment's.
    pub fn tag(&self) -> String {
        crate::owner::tag(&self.deployment)
    }
    /// Description written at creation (atomic with it, unlike tags on Zed).
    pub fn description(&self, purpose: &str) -> String {
        crate::owner::description(&self.deployment, purpose)
    }
    pub fn state_file(&self) -> PathBuf {
        self.answers.state_dir.join("state.json")
    }
}

impl Ctx {
    pub fn is_adopted(&self, id: &str) -> bool {
        self.adopted.lock().map(|s| s.contains(id)).unwrap_or(false)
    }
    pub fn mark_adopted(&self, id: &str) {
        if let Ok(mut s) = self.adopted.lock() {
            s.insert(id.to_owned());
        }
    }
}
