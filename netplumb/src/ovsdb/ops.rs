//! Transaction operations (RFC 7047 §5.2) and the value notation of OVSDB.

use serde_json::{Value, json};

/// One operation of a `transact` request.
#[derive(Debug, Clone)]
pub enum Op {
    /// Read `columns` of the rows of `table` matching `where_`.
    Select {
        /// Table name.
        table: &'static str,
        /// Conditions, e.g. `[["name","==","br-int"]]`.
        where_: Value,
        /// Columns to return.
        columns: Vec<&'static str>,
    },
    /// Insert a row, referable in the same transaction as `named-uuid` `uuid_name`.
    Insert {
        /// Table name.
        table: &'static str,
        /// Column values.
        row: Value,
        /// Name for `["named-uuid", name]` references.
        uuid_name: &'static str,
    },
    /// Set columns of the matching rows.
    Update {
        /// Table name.
        table: &'static str,
        /// Conditions.
        where_: Value,
        /// Column values.
        row: Value,
    },
    /// Mutate columns of the matching rows, e.g. `[["ports","insert",SET]]`.
    Mutate {
        /// Table name.
        table: &'static str,
        /// Conditions.
        where_: Value,
        /// Mutations.
        mutations: Value,
    },
    /// Delete the matching rows (the transaction fails if another row still refers to
    /// one of them, unless that reference is removed in the same transaction).
    Delete {
        /// Table name.
        table: &'static str,
        /// Conditions.
        where_: Value,
    },
    /// Abort the transaction unless exactly `rows` match (`timeout` 0: check now).
    Wait {
        /// Table name.
        table: &'static str,
        /// Conditions.
        where_: Value,
        /// Columns compared.
        columns: Vec<&'static str>,
        /// Expected rows.
        rows: Value,
    },
    /// A comment for the server's log.
    Comment(String),
}

impl Op {
    /// Whether the operation changes the database.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Op::Insert { .. } | Op::Update { .. } | Op::Mutate { .. } | Op::Delete { .. }
        )
    }

    /// The JSON form of the operation.
    pub fn to_json(&self) -> Value {
        match self {
            Op::Select {
                table,
                where_,
                columns,
            } => {
                json!({"op": "select", "table": table, "where": where_, "columns": columns})
            }
            Op::Insert {
                table,
                row,
                uuid_name,
            } => {
                json!({"op": "insert", "table": table, "row": row, "uuid-name": uuid_name})
            }
            Op::Update { table, where_, row } => {
                json!({"op": "update", "table": table, "where": where_, "row": row})
            }
            Op::Mutate {
                table,
                where_,
                mutations,
            } => {
                json!({"op": "mutate", "table": table, "where": where_, "mutations": mutations})
            }
            Op::Delete { table, where_ } => {
                json!({"op": "delete", "table": table, "where": where_})
            }
            Op::Wait {
                table,
                where_,
                columns,
                rows,
            } => json!({
                "op": "wait", "table": table, "where": where_, "columns": columns,
                "until": "==", "rows": rows, "timeout": 0
            }),
            Op::Comment(text) => json!({"op": "comment", "comment": text}),
        }
    }
}

/// `["set", [...]]`
pub fn set(items: &[Value]) -> Value {
    json!(["set", items])
}

/// `["map", [[k, v], ...]]`
pub fn map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let pairs: Vec<Value> = pairs.into_iter().map(|(k, v)| json!([k, v])).collect();
    json!(["map", pairs])
}

/// `["uuid", id]`
pub fn uuid(id: &str) -> Value {
    json!(["uuid", id])
}

/// `["named-uuid", name]`
pub fn named_uuid(name: &str) -> Value {
    json!(["named-uuid", name])
}

/// The atoms of a column value: a bare atom is a one-element set (RFC 7047 §5.1).
pub fn set_atoms(value: &Value) -> Vec<Value> {
    match value.as_array().map(Vec::as_slice) {
        Some([tag, items]) if tag == "set" => items.as_array().cloned().unwrap_or_default(),
        _ if value.is_null() => Vec::new(),
        _ => vec![value.clone()],
    }
}

/// A string atom, or `None` for an empty set.
pub fn atom_str(value: &Value) -> Option<String> {
    set_atoms(value)
        .first()
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A key of a `["map", ...]` column.
pub fn map_get(value: &Value, key: &str) -> Option<String> {
    let pairs = value.as_array()?.get(1)?.as_array()?;
    pairs.iter().find_map(|pair| {
        let pair = pair.as_array()?;
        (pair.first()?.as_str()? == key).then(|| pair.get(1)?.as_str().map(str::to_owned))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_notation() {
        let m = map([("iface-id", "p1"), ("attached-mac", "fa:16:3e:00:00:01")]);
        assert_eq!(map_get(&m, "iface-id").as_deref(), Some("p1"));
        assert_eq!(map_get(&m, "nope"), None);
        assert_eq!(atom_str(&json!("internal")).as_deref(), Some("internal"));
        assert_eq!(atom_str(&set(&[])), None);
        assert_eq!(set_atoms(&json!(["set", [1, 2]])).len(), 2);
        assert_eq!(set_atoms(&json!(["uuid", "x"])), vec![json!(["uuid", "x"])]);
        assert!(!Op::Comment("x".into()).writes());
        let delete = Op::Delete {
            table: "Port",
            where_: json!([["_uuid", "==", uuid("u1")]]),
        };
        assert!(delete.writes());
        assert_eq!(
            delete.to_json(),
            json!({"op": "delete", "table": "Port", "where": [["_uuid", "==", ["uuid", "u1"]]]})
        );
    }
}
