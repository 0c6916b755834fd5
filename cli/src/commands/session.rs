//! What `install`, `plan`, `status` and `uninstall` share: their common flags, where the
//! answers come from (playbook, guided prompts or the state file), and building the
//! step context (cloud connection, host name, deployment id) from them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use octa_bootstrap::answers::{self, Answers};
use octa_bootstrap::cloud::{ConnectOptions, OpenStack};
use octa_bootstrap::ctx::Ctx;
use octa_bootstrap::state::{self, State};

use crate::ui::OutputMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Human,
    Json,
}

/// Flags every install-model command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// The playbook (YAML) with the answers; see playbooks/README.md.
    #[arg(long, short = 'p')]
    pub playbook: Option<PathBuf>,
    /// The state directory of an earlier install (when no playbook is given).
    #[arg(long, default_value = "/var/lib/octa")]
    pub state_dir: PathBuf,
    /// clouds.yaml entry; overrides the playbook's `cloud.name`.
    #[arg(long, env = "OS_CLOUD")]
    pub os_cloud: Option<String>,
    /// `human` or `json`.
    #[arg(long, value_enum, default_value = "human")]
    pub output: Output,
    /// Seconds to wait for OVSDB, the kernel and Neutron at each step.
    #[arg(long, default_value_t = 20)]
    pub timeout: u64,
    /// Where the boot unit of the health-manager interface is written.
    #[arg(
        long,
        env = "OCTA_UNIT_DIR",
        default_value = "/etc/systemd/system",
        hide = true
    )]
    pub unit_dir: PathBuf,
}

impl Common {
    pub fn output_mode(&self) -> OutputMode {
        match self.output {
            Output::Human => OutputMode::Human,
            Output::Json => OutputMode::Json,
        }
    }
}

/// Answers plus where they came from (for messages naming file, line and key).
pub struct Sourced {
    pub answers: Answers,
    pub whereis: Box<dyn Fn(&str) -> String + Send + Sync>,
}

/// Loads and validates a playbook; every problem is reported before anything happens.
pub fn from_playbook(path: &Path) -> anyhow::Result<Sourced> {
    let book = answers::load(path)?;
    let answers = book.answers.clone();
    Ok(Sourced {
        answers,
        whereis: Box::new(move |key| book.whereis(key)),
    })
}

/// The answers recorded by the install in `state_dir`.
pub fn from_state(state_dir: &Path) -> anyhow::Result<(Sourced, State)> {
    let path = state_dir.join("state.json");
    let Some(st) = state::read(&path)? else {
        bail!(
            "no install found: {} does not exist (give --playbook FILE, or --state-dir of the install)",
            path.display()
        );
    };
    let Some(answers) = st.answers.clone() else {
        bail!(
            "{} records no answers; give --playbook FILE",
            path.display()
        );
    };
    let shown = path.display().to_string();
    Ok((
        Sourced {
            answers,
            whereis: Box::new(move |key| format!("{shown}: answers.{key}")),
        },
        st,
    ))
}

/// This machine's name, as Neutron's OVS agent reports it (`binding:host_id`).
pub fn host_name() -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string("/proc/sys/kernel/hostname").context("reading this host's name")?;
    Ok(text.trim().to_owned())
}

/// The state directory a command works on: the playbook's, or `--state-dir`.
pub fn state_dir(common: &Common) -> anyhow::Result<PathBuf> {
    Ok(match &common.playbook {
        Some(p) => from_playbook(p)?.answers.state_dir,
        None => common.state_dir.clone(),
    })
}

/// The `OS_*` variables, handed to the cloud crate (libraries never read the environment).
fn os_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("OS_"))
        .collect()
}

/// Connects to the cloud the answers (or `--os-cloud`) name.
pub async fn connect(common: &Common, answers: &Answers) -> anyhow::Result<Arc<OpenStack>> {
    let cloud = answers.cloud.as_ref();
    let opts = ConnectOptions {
        cloud: common
            .os_cloud
            .clone()
            .or_else(|| cloud.map(|c| c.name.clone())),
        region: cloud.and_then(|c| c.region.clone()),
        interface: cloud.and_then(|c| c.interface.clone()),
        cacert: cloud.and_then(|c| c.cacert.clone()),
        env: os_env(),
    };
    let os = OpenStack::connect(&opts)
        .await
        .context("connecting to the cloud")?;
    Ok(Arc::new(os))
}

/// Everything but the answers that the context needs.
pub struct CtxParts {
    pub deployment: String,
    pub adopt: bool,
    pub adopted: HashSet<String>,
    pub octavia_conf: Option<PathBuf>,
}

pub fn build_ctx(
    common: &Common,
    sourced: Sourced,
    os: Arc<OpenStack>,
    parts: CtxParts,
) -> anyhow::Result<Ctx> {
    let host = match &sourced.answers.host {
        Some(h) => h.clone(),
        None => host_name()?,
    };
    Ok(Ctx {
        answers: sourced.answers,
        deployment: parts.deployment,
        host,
        adopt: parts.adopt,
        adopted: Mutex::new(parts.adopted),
        neutron: os.clone(),
        nova: os.clone(),
        glance: os.clone(),
        session: os,
        octa_exe: std::env::current_exe().context("locating the octa binary")?,
        unit_dir: common.unit_dir.clone(),
        octavia_conf: parts.octavia_conf,
        timeout: Duration::from_secs(common.timeout),
        now: time::OffsetDateTime::now_utc(),
        checkpoint: std::env::var("OCTA_TEST_CHECKPOINT").ok(),
        whereis: sourced.whereis,
    })
}
