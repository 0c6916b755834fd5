//! The install steps, one file each, in the order ARCHITECTURE.md §3 gives them (launch,
//! step 12, arrives with the control plane).

use std::future::Future;

use crate::ctx::Ctx;
use crate::step::{Record, Step, StepError};

pub mod assets;
pub mod config;
pub mod firewall;
pub mod hm_iface;
pub mod hm_port;
pub mod lookup;
pub mod network;
pub mod persistence;
pub mod pki;
pub mod preflight;
pub mod secgroup;
pub mod secrets;
pub mod subnet;

/// Every step, in apply order.
pub fn all() -> Vec<Box<dyn Step>> {
    vec![
        Box::new(preflight::Preflight),
        Box::new(pki::Pki),
        Box::new(secrets::Secrets),
        Box::new(network::MgmtNetwork),
        Box::new(subnet::MgmtSubnet),
        Box::new(secgroup::SecGroup::Amphora),
        Box::new(secgroup::SecGroup::HealthManager),
        Box::new(hm_port::HmPort),
        Box::new(hm_iface::HmIface),
        Box::new(firewall::HmFirewall),
        Box::new(persistence::Persistence),
        Box::new(assets::AmphoraAssets),
        Box::new(config::Config),
    ]
}

/// Deletes every object of `kind` that `record` created plus `found` (ours, found by name
/// and mark: covers a crash between create and the state write). Adopted objects are never
/// deleted; a missing object counts as removed. Never stops at the first error.
pub async fn undo_each<F, Fut>(
    cx: &Ctx,
    record: &Record,
    kind: &str,
    found: Vec<String>,
    delete: F,
) -> (Vec<String>, Vec<StepError>)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), octa_cloud::CloudError>>,
{
    let mut ids: Vec<(String, String)> = record
        .created
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect();
    for id in found {
        if !ids.iter().any(|(i, _)| *i == id) && !cx.is_adopted(&id) {
            ids.push((id, String::new()));
        }
    }
    let (mut done, mut errors) = (Vec::new(), Vec::new());
    for (id, name) in ids {
        if cx.is_adopted(&id) {
            continue;
        }
        match delete(id.clone()).await {
            Ok(()) => done.push(format!("deleted {kind} {name} {id}").replace("  ", " ")),
            Err(e) if e.is_not_found() => {}
            Err(e) => errors.push(StepError::Cloud {
                what: format!("deleting {kind} {id}"),
                source: Box::new(e),
            }),
        }
    }
    (done, errors)
}

/// Removes the files `record` created (kind `file`); missing ones count as removed.
pub fn remove_files(record: &Record) -> (Vec<String>, Vec<StepError>) {
    let (mut done, mut errors) = (Vec::new(), Vec::new());
    for r in record.created.iter().filter(|r| r.kind == "file") {
        match std::fs::remove_file(&r.id) {
            Ok(()) => done.push(format!("removed {}", r.id)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => errors.push(StepError::io(&r.id)(e)),
        }
    }
    (done, errors)
}
