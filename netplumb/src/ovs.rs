//! An OVS internal port (Port + Interface `type=internal`) on a bridge, converged through
//! OVSDB and marked as octa's own.
//!
//! The Interface carries what Neutron's OVS agent needs to bind it to a Neutron port
//! (`external_ids:iface-id`, `attached-mac`, `iface-status=active`), what keeps
//! `neutron-ovs-cleanup` away from it (`skip_cleanup=true`), the MAC itself (`mac`, so the
//! kernel netdev is created with the Neutron MAC instead of a random one), `mtu_request`,
//! and `external_ids:octa-owner` on both rows. A same-named port without that mark is
//! someone else's: it is refused, never modified or deleted.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

use crate::error::{NetError, Result};
use crate::ovsdb::{Op, Ovsdb, atom_str, map, map_get, named_uuid, set, set_atoms, uuid};

/// The `external_ids` key marking rows as octa's.
pub const OWNER_KEY: &str = "octa-owner";

/// The desired internal port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalPortSpec {
    /// Bridge, e.g. `br-int`.
    pub bridge: String,
    /// Port and interface name, e.g. `o-hm0`.
    pub name: String,
    /// Neutron port id (`external_ids:iface-id`).
    pub iface_id: String,
    /// MAC, lower-case `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// MTU to request, if any.
    pub mtu: Option<u32>,
    /// Ownership mark (`external_ids:octa-owner`).
    pub owner: String,
}

/// What converging did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortOutcome {
    /// Nothing to do: no write was sent.
    Unchanged,
    /// The port was created.
    Created,
    /// These columns had drifted and were repaired.
    Repaired(Vec<String>),
}

/// What OVSDB holds for an interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortObserved {
    /// Interface `type`.
    pub kind: String,
    /// `external_ids:iface-id`.
    pub iface_id: Option<String>,
    /// `external_ids:attached-mac`.
    pub attached_mac: Option<String>,
    /// `external_ids:iface-status`.
    pub iface_status: Option<String>,
    /// `external_ids:skip_cleanup`.
    pub skip_cleanup: Option<String>,
    /// `external_ids:octa-owner` of the Interface.
    pub owner: Option<String>,
    /// `mac` column.
    pub mac: Option<String>,
    /// `mtu_request` column.
    pub mtu_request: Option<u32>,
    /// `ofport` (empty while ovs-vswitchd has not created the interface).
    pub ofport: Option<i64>,
    /// `error` column.
    pub error: Option<String>,
}

const IFACE_COLUMNS: [&str; 7] = [
    "_uuid",
    "type",
    "external_ids",
    "mac",
    "mtu_request",
    "ofport",
    "error",
];

impl InternalPortSpec {
    fn external_ids(&self) -> Vec<(&str, &str)> {
        vec![
            ("iface-id", self.iface_id.as_str()),
            ("attached-mac", self.mac.as_str()),
            ("iface-status", "active"),
            ("skip_cleanup", "true"),
            (OWNER_KEY, self.owner.as_str()),
        ]
    }

    fn iface_row(&self) -> Value {
        json!({
            "name": self.name,
            "type": "internal",
            "external_ids": map(self.external_ids()),
            "mac": self.mac,
            "mtu_request": self.mtu.map_or_else(|| set(&[]), |m| json!(m)),
        })
    }

    /// The columns whose observed value differs from this spec.
    fn drift(&self, seen: &PortObserved) -> Vec<String> {
        let mut drift = Vec::new();
        let mut check = |name: &str, ok: bool| {
            if !ok {
                drift.push(name.to_owned());
            }
        };
        check("type", seen.kind == "internal");
        check(
            "external_ids:iface-id",
            seen.iface_id.as_deref() == Some(&self.iface_id),
        );
        check(
            "external_ids:attached-mac",
            seen.attached_mac.as_deref() == Some(&self.mac),
        );
        check(
            "external_ids:iface-status",
            seen.iface_status.as_deref() == Some("active"),
        );
        check(
            "external_ids:skip_cleanup",
            seen.skip_cleanup.as_deref() == Some("true"),
        );
        check(
            "external_ids:octa-owner",
            seen.owner.as_deref() == Some(&self.owner),
        );
        check("mac", seen.mac.as_deref() == Some(&self.mac));
        check("mtu_request", seen.mtu_request == self.mtu);
        drift
    }
}

fn by_name(name: &str) -> Value {
    json!([["name", "==", name]])
}

fn by_uuid(id: &str) -> Value {
    json!([["_uuid", "==", uuid(id)]])
}

fn row_uuid(row: &Value) -> Option<String> {
    row.get("_uuid")?
        .as_array()?
        .get(1)?
        .as_str()
        .map(str::to_owned)
}

fn observe_row(row: &Value) -> PortObserved {
    let ids = &row["external_ids"];
    PortObserved {
        kind: atom_str(&row["type"]).unwrap_or_default(),
        iface_id: map_get(ids, "iface-id"),
        attached_mac: map_get(ids, "attached-mac"),
        iface_status: map_get(ids, "iface-status"),
        skip_cleanup: map_get(ids, "skip_cleanup"),
        owner: map_get(ids, OWNER_KEY),
        mac: atom_str(&row["mac"]),
        mtu_request: set_atoms(&row["mtu_request"])
            .first()
            .and_then(Value::as_u64)
            .and_then(|m| u32::try_from(m).ok()),
        ofport: set_atoms(&row["ofport"]).first().and_then(Value::as_i64),
        error: atom_str(&row["error"]),
    }
}

/// The bridge's, port's and interface's rows, in one read-only transaction.
struct Rows {
    bridge: Option<Value>,
    port: Option<Value>,
    iface: Option<Value>,
}

async fn read_rows(db: &Ovsdb, bridge: &str, name: &str) -> Result<Rows> {
    let results = db
        .transact(&[
            Op::Select {
                table: "Bridge",
                where_: by_name(bridge),
                columns: vec!["_uuid", "ports"],
            },
            Op::Select {
                table: "Port",
                where_: by_name(name),
                columns: vec!["_uuid", "interfaces", "external_ids"],
            },
            Op::Select {
                table: "Interface",
                where_: by_name(name),
                columns: IFACE_COLUMNS.to_vec(),
            },
        ])
        .await?;
    let first = |i: usize| crate::ovsdb_rows(results.get(i)).into_iter().next();
    Ok(Rows {
        bridge: first(0),
        port: first(1),
        iface: first(2),
    })
}

/// Whether the bridge `name` exists (a read-only select).
pub async fn bridge_exists(db: &Ovsdb, name: &str) -> Result<bool> {
    let rows = db
        .select(Op::Select {
            table: "Bridge",
            where_: by_name(name),
            columns: vec!["_uuid"],
        })
        .await?;
    Ok(!rows.is_empty())
}

/// What OVSDB holds for the interface `name`, if anything.
pub async fn observe_port(db: &Ovsdb, name: &str) -> Result<Option<PortObserved>> {
    let rows = db
        .select(Op::Select {
            table: "Interface",
            where_: by_name(name),
            columns: IFACE_COLUMNS.to_vec(),
        })
        .await?;
    Ok(rows.first().map(observe_row))
}

/// Converges the internal port to `spec`: creates it, repairs drifted columns, or does
/// nothing (sending no write at all) when it already matches.
pub async fn ensure_internal_port(db: &Ovsdb, spec: &InternalPortSpec) -> Result<PortOutcome> {
    let rows = read_rows(db, &spec.bridge, &spec.name).await?;
    let bridge = rows.bridge.ok_or_else(|| NetError::NoBridge {
        bridge: spec.bridge.clone(),
    })?;
    match (rows.port, rows.iface) {
        (None, None) => create(db, spec).await.map(|()| PortOutcome::Created),
        (Some(port), Some(iface)) => {
            check_ours(spec, &port, &iface)?;
            let port_id = row_uuid(&port).unwrap_or_default();
            let on_bridge = set_atoms(&bridge["ports"]).contains(&uuid(&port_id));
            if !on_bridge {
                return Err(NetError::Foreign {
                    what: "OVS port",
                    name: spec.name.clone(),
                    detail: format!("it is attached to another bridge than {}", spec.bridge),
                });
            }
            let drift = spec.drift(&observe_row(&iface));
            if drift.is_empty() {
                return Ok(PortOutcome::Unchanged);
            }
            repair(db, spec, &iface).await?;
            Ok(PortOutcome::Repaired(drift))
        }
        _ => Err(NetError::Foreign {
            what: "OVS port",
            name: spec.name.clone(),
            detail: "a Port or an Interface of that name exists without the other".to_owned(),
        }),
    }
}

fn check_ours(spec: &InternalPortSpec, port: &Value, iface: &Value) -> Result<()> {
    let owner = map_get(&port["external_ids"], OWNER_KEY);
    if owner.as_deref() == Some(spec.owner.as_str()) {
        return Ok(());
    }
    let iface_owner = map_get(&iface["external_ids"], OWNER_KEY);
    let detail = match owner.or(iface_owner) {
        Some(other) => format!("{OWNER_KEY} is {other:?}, not {:?}", spec.owner),
        None => format!("it has no external_ids:{OWNER_KEY}"),
    };
    Err(NetError::Foreign {
        what: "OVS port",
        name: spec.name.clone(),
        detail,
    })
}

async fn create(db: &Ovsdb, spec: &InternalPortSpec) -> Result<()> {
    let ops = [
        // A missing bridge fails the whole transaction instead of leaving orphans.
        Op::Wait {
            table: "Bridge",
            where_: by_name(&spec.bridge),
            columns: vec!["name"],
            rows: json!([{"name": spec.bridge}]),
        },
        Op::Insert {
            table: "Interface",
            row: spec.iface_row(),
            uuid_name: "iface",
        },
        Op::Insert {
            table: "Port",
            row: json!({
                "name": spec.name,
                "interfaces": named_uuid("iface"),
                "external_ids": map([(OWNER_KEY, spec.owner.as_str())]),
            }),
            uuid_name: "port",
        },
        Op::Mutate {
            table: "Bridge",
            where_: by_name(&spec.bridge),
            mutations: json!([["ports", "insert", set(&[named_uuid("port")])]]),
        },
        next_cfg(),
        Op::Comment(format!("octa: plumb {} on {}", spec.name, spec.bridge)),
    ];
    db.transact(&ops).await.map(|_| ())
}

async fn repair(db: &Ovsdb, spec: &InternalPortSpec, iface: &Value) -> Result<()> {
    // Keep external_ids keys that others (an operator, Neutron) added next to ours.
    let mut ids: Vec<(String, String)> = iface["external_ids"]
        .as_array()
        .and_then(|m| m.get(1))
        .and_then(Value::as_array)
        .map(|pairs| {
            pairs
                .iter()
                .filter_map(|p| {
                    Some((
                        p.get(0)?.as_str()?.to_owned(),
                        p.get(1)?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    for (k, v) in spec.external_ids() {
        ids.retain(|(key, _)| key != k);
        ids.push((k.to_owned(), v.to_owned()));
    }
    let mut row = spec.iface_row();
    row["external_ids"] = map(ids.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let iface_id = row_uuid(iface).unwrap_or_default();
    if let Some(obj) = row.as_object_mut() {
        obj.remove("name");
    }
    let ops = [
        Op::Update {
            table: "Interface",
            where_: by_uuid(&iface_id),
            row,
        },
        next_cfg(),
        Op::Comment(format!("octa: repair {}", spec.name)),
    ];
    db.transact(&ops).await.map(|_| ())
}

/// Removes the port if it is ours; absent is success; a foreign one is refused.
pub async fn ensure_internal_port_absent(
    db: &Ovsdb,
    bridge: &str,
    name: &str,
    owner: &str,
) -> Result<bool> {
    let rows = read_rows(db, bridge, name).await?;
    let Some(port) = rows.port else {
        return Ok(false);
    };
    let spec_owner = map_get(&port["external_ids"], OWNER_KEY);
    if spec_owner.as_deref() != Some(owner) {
        return Err(NetError::Foreign {
            what: "OVS port",
            name: name.to_owned(),
            detail: match spec_owner {
                Some(o) => format!("{OWNER_KEY} is {o:?}, not {owner:?}"),
                None => format!("it has no external_ids:{OWNER_KEY}"),
            },
        });
    }
    let port_id = row_uuid(&port).unwrap_or_default();
    let mut ops = vec![Op::Mutate {
        table: "Bridge",
        where_: json!([["ports", "includes", set(&[uuid(&port_id)])]]),
        mutations: json!([["ports", "delete", set(&[uuid(&port_id)])]]),
    }];
    // Port and Interface are not root tables and would be garbage-collected anyway;
    // deleting them explicitly makes a stale reference fail the transaction loudly.
    ops.push(Op::Delete {
        table: "Port",
        where_: by_uuid(&port_id),
    });
    for iface in set_atoms(&port["interfaces"]) {
        if let Some(id) = iface.get(1).and_then(Value::as_str) {
            ops.push(Op::Delete {
                table: "Interface",
                where_: by_uuid(id),
            });
        }
    }
    ops.push(next_cfg());
    ops.push(Op::Comment(format!("octa: unplumb {name} from {bridge}")));
    db.transact(&ops).await.map(|_| true)
}

/// Waits until ovs-vswitchd has given the interface an OpenFlow port number.
pub async fn wait_ofport(db: &Ovsdb, name: &str, deadline: Duration) -> Result<i64> {
    let end = Instant::now() + deadline;
    // vswitchd usually answers within milliseconds: poll fast first, then back off.
    let mut pause = Duration::from_millis(2);
    loop {
        let seen = observe_port(db, name).await?;
        match seen.as_ref().and_then(|s| s.ofport) {
            Some(n) if n > 0 => return Ok(n),
            Some(-1) => {
                let why = seen.and_then(|s| s.error).unwrap_or_default();
                return Err(NetError::Protocol {
                    remote: db.remote().to_string(),
                    reason: format!("ovs-vswitchd could not create interface {name}: {why}"),
                });
            }
            _ if Instant::now() >= end => {
                return Err(NetError::Timeout {
                    what: format!(
                        "ovs-vswitchd to create interface {name} (OVSDB {} accepted it, but \
                         its ofport is still empty: is ovs-vswitchd running?)",
                        db.remote()
                    ),
                    secs: deadline.as_secs(),
                });
            }
            _ => {
                sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}

/// `next_cfg += 1`: tells ovs-vswitchd to reconfigure, as `ovs-vsctl` does.
fn next_cfg() -> Op {
    Op::Mutate {
        table: "Open_vSwitch",
        where_: json!([]),
        mutations: json!([["next_cfg", "+=", 1]]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> InternalPortSpec {
        InternalPortSpec {
            bridge: "br-int".into(),
            name: "o-hm0".into(),
            iface_id: "p1".into(),
            mac: "fa:16:3e:00:00:01".into(),
            mtu: Some(1450),
            owner: "install-1".into(),
        }
    }

    #[test]
    fn drift_names_each_column() {
        let s = spec();
        let row = json!({
            "type": "internal",
            "external_ids": map(s.external_ids()),
            "mac": "fa:16:3e:00:00:01",
            "mtu_request": 1450,
            "ofport": 3,
            "error": set(&[]),
        });
        assert!(s.drift(&observe_row(&row)).is_empty());
        let mut bad = row.clone();
        bad["mac"] = json!("fa:16:3e:00:00:02");
        bad["mtu_request"] = set(&[]);
        assert_eq!(s.drift(&observe_row(&bad)), ["mac", "mtu_request"]);
    }
}
