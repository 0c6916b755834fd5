//! Step `preflight`: what must hold before anything is written: root, the cloud reachable
//! and the token valid, Neutron in the catalog, OVSDB reachable with the bridge present,
//! the management CIDR overlapping no route of this host (other than our own interface's),
//! and quota headroom for what the install still has to create. It writes nothing.

use async_trait::async_trait;
use ipnet::IpNet;
use octa_netplumb::netns::with_netlink;
use octa_netplumb::ovsdb::{Ovsdb, Remote};
use octa_netplumb::{link, ovs, routes};

use super::lookup;
use crate::ctx::Ctx;
use crate::owner::Found;
use crate::step::{Plan, Record, Step, StepError};

pub struct Preflight;

/// Each problem as (reason, hint).
async fn problems(cx: &Ctx) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !nix::unistd::geteuid().is_root() {
        out.push((
            "octa install must run as root (it plumbs an interface and writes nftables)".into(),
            "run it with sudo".into(),
        ));
    }
    if let Err(e) = cx.session.whoami().await {
        out.push((
            format!(
                "the cloud cannot be reached or refused the credentials: {}",
                crate::error_chain(&e)
            ),
            "check clouds.yaml / OS_* (try `openstack token issue`)".into(),
        ));
        return out;
    }
    out.extend(ovsdb_problems(cx).await);
    out.extend(route_problems(cx).await);
    out.extend(quota_problems(cx).await);
    out
}

async fn ovsdb_problems(cx: &Ctx) -> Vec<(String, String)> {
    let i = &cx.answers.interface;
    let hint = || {
        format!(
            "{}: is ovsdb-server running? (`ovs-vsctl --db={} show`)",
            (cx.whereis)("interface.ovsdb"),
            i.ovsdb
        )
    };
    let remote = match Remote::parse(&i.ovsdb) {
        Ok(r) => r,
        Err(e) => return vec![(crate::error_chain(&e), hint())],
    };
    let db = match Ovsdb::connect(&remote, cx.timeout).await {
        Ok(db) => db,
        Err(e) => {
            return vec![(
                format!("OVSDB {}: {}", i.ovsdb, crate::error_chain(&e)),
                hint(),
            )];
        }
    };
    match ovs::bridge_exists(&db, &i.bridge).await {
        Ok(true) => vec![],
        Ok(false) => vec![(
            format!(
                "{}: bridge {} does not exist in OVSDB {}",
                (cx.whereis)("interface.bridge"),
                i.bridge,
                i.ovsdb
            ),
            "start neutron-openvswitch-agent (it creates br-int) or fix interface.bridge".into(),
        )],
        Err(e) => vec![(
            format!("OVSDB {}: {}", i.ovsdb, crate::error_chain(&e)),
            hint(),
        )],
    }
}

async fn route_problems(cx: &Ctx) -> Vec<(String, String)> {
    let cidr = cx.answers.mgmt_network.cidr;
    let ours = cx.answers.interface.name.clone();
    let found = with_netlink(None, move |h| async move {
        let own = link::observe_link(&h, &ours).await?.map(|l| l.index);
        let all = routes::unicast_routes(&h).await?;
        Ok(all
            .into_iter()
            .filter(|r| own.is_none() || r.oif != own)
            .map(|r| r.prefix)
            .collect::<Vec<IpNet>>())
    })
    .await;
    match found {
        Ok(prefixes) => prefixes
            .into_iter()
            .filter(|p| p.contains(&cidr.network()) || cidr.contains(&p.network()))
            .map(|p| {
                (
                    format!("{}: {cidr} overlaps the local route {p}", (cx.whereis)("mgmt_network.cidr")),
                    "choose a management CIDR this host does not already route (e.g. from 172.16.0.0/12)".into(),
                )
            })
            .collect(),
        Err(e) => vec![(format!("cannot read the routing table: {}", crate::error_chain(&e)), String::new())],
    }
}

async fn quota_problems(cx: &Ctx) -> Vec<(String, String)> {
    let mut need: Vec<(&str, i64)> = Vec::new();
    if matches!(lookup::network(cx).await, Ok(Found::Missing)) {
        need.push(("network", 1));
    }
    if matches!(lookup::subnet(cx).await, Ok(Found::Missing)) {
        need.push(("subnet", 1));
    }
    if matches!(lookup::hm_port(cx).await, Ok(Found::Missing)) {
        need.push(("port", 1));
    }
    let mut groups = 0;
    for name in [
        &cx.answers.security_groups.amphora,
        &cx.answers.security_groups.health_manager,
    ] {
        if matches!(lookup::security_group(cx, name).await, Ok(Found::Missing)) {
            groups += 1;
        }
    }
    if groups > 0 {
        need.push(("security_group", groups));
    }
    if need.is_empty() {
        return vec![];
    }
    let headroom = match cx.neutron.headroom().await {
        Ok(h) => h,
        // Quota details are an extension; without it Neutron enforces at create time.
        Err(_) => return vec![],
    };
    need.into_iter()
        .filter_map(|(resource, n)| {
            let h = headroom.iter().find(|h| h.resource == resource)?;
            let limit = h.limit?;
            (limit >= 0 && limit - h.used < n).then(|| {
                (
                    format!(
                        "{resource} quota: {} of {limit} used, {n} more needed",
                        h.used
                    ),
                    format!(
                        "raise it: `openstack quota set --{}s {}`",
                        resource.replace('_', "-"),
                        h.used + n
                    ),
                )
            })
        })
        .collect()
}

/// All reasons in one line, and the non-empty hints in another.
fn joined(problems: &[(String, String)]) -> (String, String) {
    let reasons: Vec<&str> = problems.iter().map(|(r, _)| r.as_str()).collect();
    let hints: Vec<&str> = problems
        .iter()
        .map(|(_, h)| h.as_str())
        .filter(|h| !h.is_empty())
        .collect();
    (reasons.join("; "), hints.join("; "))
}

#[async_trait]
impl Step for Preflight {
    fn id(&self) -> &'static str {
        "preflight"
    }

    fn describe(&self, _cx: &Ctx) -> String {
        "pre-checks: root, cloud, OVSDB, routes, quotas".into()
    }

    async fn plan(&self, cx: &Ctx) -> Result<Plan, StepError> {
        let (reasons, hints) = joined(&problems(cx).await);
        Ok(if reasons.is_empty() {
            Plan::noop("root, cloud, OVSDB, routes and quotas are fine")
        } else {
            Plan::blocked(reasons, hints)
        })
    }

    async fn apply(&self, _cx: &Ctx, _plan: &Plan) -> Result<Record, StepError> {
        Ok(Record::default())
    }

    async fn verify(&self, cx: &Ctx) -> Result<(), StepError> {
        let (reasons, hints) = joined(&problems(cx).await);
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(StepError::check(reasons, hints))
        }
    }

    async fn undo(&self, _cx: &Ctx, _record: &Record) -> (Vec<String>, Vec<StepError>) {
        (vec![], vec![])
    }
}
