//! The contract every install step implements (plan / apply / verify / undo), what a plan
//! and a record are, and the error a step returns.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ctx::Ctx;

/// What `apply` would do, as `plan` saw it. Change lines are for people (plan output,
/// progress); they never carry secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Plan {
    /// Converged already.
    Noop {
        detail: String,
    },
    Create {
        changes: Vec<String>,
    },
    Update {
        changes: Vec<String>,
    },
    /// Take over an existing object the operator named with `--adopt`; never deleted later.
    Adopt {
        changes: Vec<String>,
    },
    /// Cannot proceed; nothing will be written.
    Blocked {
        reason: String,
        hint: String,
    },
}

impl Plan {
    pub fn noop(detail: impl Into<String>) -> Plan {
        Plan::Noop {
            detail: detail.into(),
        }
    }
    pub fn blocked(reason: impl Into<String>, hint: impl Into<String>) -> Plan {
        Plan::Blocked {
            reason: reason.into(),
            hint: hint.into(),
        }
    }
    pub fn is_noop(&self) -> bool {
        matches!(self, Plan::Noop { .. })
    }
    pub fn is_blocked(&self) -> bool {
        matches!(self, Plan::Blocked { .. })
    }
    /// One line for plan tables and progress.
    pub fn summary(&self) -> String {
        match self {
            Plan::Noop { detail } => format!("ok: {detail}"),
            Plan::Create { changes } => format!("create: {}", changes.join("; ")),
            Plan::Update { changes } => format!("update: {}", changes.join("; ")),
            Plan::Adopt { changes } => format!("adopt: {}", changes.join("; ")),
            Plan::Blocked { reason, hint } => format!("BLOCKED: {reason} (hint: {hint})"),
        }
    }
}

/// One object a step made (or adopted), as the state file remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRef {
    /// `network`, `subnet`, `security-group`, `port`, `ovs-port`, `nft-table`, `file`, `unit`.
    pub kind: String,
    pub id: String,
    pub name: String,
}

/// What one `apply` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default)]
    pub created: Vec<ResourceRef>,
    #[serde(default)]
    pub adopted: Vec<ResourceRef>,
}

impl Record {
    pub fn created(kind: &str, id: &str, name: &str) -> Record {
        Record {
            created: vec![ResourceRef {
                kind: kind.into(),
                id: id.into(),
                name: name.into(),
            }],
            adopted: Vec::new(),
        }
    }
}

/// Why a step failed. The cause is kept as the source, never repeated in the message.
#[derive(Debug, Error)]
pub enum StepError {
    #[error("{what}")]
    Cloud {
        what: String,
        #[source]
        source: Box<octa_cloud::CloudError>,
    },
    #[error("{what}")]
    Net {
        what: String,
        #[source]
        source: Box<octa_netplumb::NetError>,
    },
    #[error("{what}")]
    Pki {
        what: String,
        #[source]
        source: Box<octa_pki::PkiError>,
    },
    #[error("{path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A postcondition does not hold, or a plan-time refusal surfaced during apply.
    #[error("{reason}")]
    Check { reason: String, hint: String },
}

impl StepError {
    pub fn check(reason: impl Into<String>, hint: impl Into<String>) -> StepError {
        StepError::Check {
            reason: reason.into(),
            hint: hint.into(),
        }
    }
    pub fn hint(&self) -> Option<&str> {
        match self {
            StepError::Check { hint, .. } if !hint.is_empty() => Some(hint),
            _ => None,
        }
    }
    pub fn cloud(what: impl Into<String>) -> impl FnOnce(octa_cloud::CloudError) -> StepError {
        let what = what.into();
        move |source| StepError::Cloud {
            what,
            source: Box::new(source),
        }
    }
    pub fn net(what: impl Into<String>) -> impl FnOnce(octa_netplumb::NetError) -> StepError {
        let what = what.into();
        move |source| StepError::Net {
            what,
            source: Box::new(source),
        }
    }
    pub fn io(path: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> StepError {
        let path = path.to_string();
        move |source| StepError::Io { path, source }
    }
}

/// One idempotent slice of the install. Implementations live in `steps/`, one file each.
#[async_trait]
pub trait Step: Send + Sync {
    /// Stable kebab-case id, e.g. `mgmt-network`: state file key and checkpoint name.
    fn id(&self) -> &'static str;
    /// One line for plan output and progress.
    fn describe(&self, cx: &Ctx) -> String;
    /// Read-only: compare wanted with observed.
    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError>;
    /// Converge; safe to run again after a crash at any point.
    async fn apply(&self, cx: &Ctx, plan: &Plan) -> Result<Record, StepError>;
    /// The postcondition (also what `octa status` and doctor run).
    async fn verify(&self, cx: &Ctx) -> Result<(), StepError>;
    /// Removes only what is ours; what it removed, and every error (never stops half-way).
    async fn undo(&self, cx: &Ctx, record: &Record) -> (Vec<String>, Vec<StepError>);
}
