//! Where every key of a playbook is: a walk over the YAML events that records, for each
//! dotted key path (`mgmt_network.cidr`, `health_manager.peers[1]`), the line and column of
//! the key and of its value, and the value's text when it is a scalar.
//!
//! The walk is tolerant: on a syntax error it stops and keeps what it has seen, so the
//! error that serde-saphyr reports can still be placed next to the keys before it.

use std::collections::BTreeMap;

use serde_saphyr::granit_parser::{Event, Parser, Span};

/// A line and column in a playbook, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    fn of(span: &Span) -> Self {
        Position {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

/// One key that was read from the playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Where the key itself is (for a sequence item: where the item starts).
    pub key: Position,
    /// Where its value starts; `None` until the value was seen.
    pub value: Option<Position>,
    /// The value's text when it is a scalar.
    pub scalar: Option<String>,
}

/// Every key path of one playbook and where it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyIndex {
    keys: BTreeMap<String, KeyInfo>,
}

/// One open mapping or sequence during the walk.
enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

impl KeyIndex {
    /// Index `text`; stops quietly at the first syntax error.
    pub fn build(text: &str) -> Self {
        let mut index = KeyIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            index.visit(&mut stack, &event, &span);
        }
        index
    }

    /// What is known about `path`.
    pub fn get(&self, path: &str) -> Option<&KeyInfo> {
        self.keys.get(path)
    }

    /// Every indexed key path, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The key path whose key or value is at `pos`; else the deepest one on that line.
    pub fn path_at(&self, pos: Position) -> Option<&str> {
        let exact = self
            .keys
            .iter()
            .find(|(_, k)| k.value == Some(pos))
            .or_else(|| self.keys.iter().find(|(_, k)| k.key == pos));
        let on_line = || {
            self.keys
                .iter()
                .filter(|(_, k)| {
                    k.key.line == pos.line || k.value.map(|v| v.line) == Some(pos.line)
                })
                .max_by_key(|(p, k)| (k.key.column, p.len()))
        };
        exact.or_else(on_line).map(|(p, _)| p.as_str())
    }

    fn visit(&mut self, stack: &mut Vec<Frame>, event: &Event<'_>, span: &Span) {
        match event {
            Event::Scalar(text, ..) => {
                if let Some(path) = self.node(stack, span, Some(text)) {
                    self.set_scalar(&path, text);
                }
            }
            Event::Alias(_) => {
                self.node(stack, span, None);
            }
            Event::MappingStart(..) => {
                let path = self.node(stack, span, None).unwrap_or_default();
                stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.node(stack, span, None).unwrap_or_default();
                stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }

    /// Account for one node. Returns its path when it is a value (not a mapping key).
    fn node(&mut self, stack: &mut [Frame], span: &Span, text: Option<&str>) -> Option<String> {
        let pos = Position::of(span);
        match stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { path, key }) => match key.take() {
                None => {
                    let name = text.unwrap_or("?");
                    let full = join(path, name);
                    self.keys.insert(
                        full.clone(),
                        KeyInfo {
                            key: pos,
                            value: None,
                            scalar: None,
                        },
                    );
                    *key = Some(full);
                    None
                }
                Some(full) => {
                    if let Some(info) = self.keys.get_mut(&full) {
                        info.value = Some(pos);
                    }
                    Some(full)
                }
            },
            Some(Frame::Seq { path, next }) => {
                let full = format!("{path}[{next}]");
                *next += 1;
                let info = KeyInfo {
                    key: pos,
                    value: Some(pos),
                    scalar: None,
                };
                self.keys.insert(full.clone(), info);
                Some(full)
            }
        }
    }

    fn set_scalar(&mut self, path: &str, text: &str) {
        if let Some(info) = self.keys.get_mut(path) {
            info.scalar = Some(text.to_owned());
        }
    }
}

/// `parent.name`, or `name` at the top.
pub fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const TEXT: &str = "version: 1\nmgmt_network:\n  cidr: 10.0.0.0/24\n  type: vxlan\nhealth_manager:\n  peers:\n    - 10.0.0.3\n    - 10.0.0.4\n";

    #[test]
    fn records_nested_keys_and_items() {
        let index = KeyIndex::build(TEXT);
        let cidr = index.get("mgmt_network.cidr").unwrap();
        assert_eq!(cidr.key, Position { line: 3, column: 3 });
        assert_eq!(cidr.value, Some(Position { line: 3, column: 9 }));
        assert_eq!(cidr.scalar.as_deref(), Some("10.0.0.0/24"));
        assert_eq!(index.get("health_manager.peers[1]").unwrap().key.line, 8);
        assert_eq!(index.get("mgmt_network").unwrap().scalar, None);
    }

    #[test]
    fn finds_path_by_position() {
        let index = KeyIndex::build(TEXT);
        assert_eq!(
            index.path_at(Position { line: 3, column: 9 }),
            Some("mgmt_network.cidr")
        );
        assert_eq!(
            index.path_at(Position { line: 4, column: 1 }),
            Some("mgmt_network.type")
        );
    }

    #[test]
    fn keeps_keys_before_a_syntax_error() {
        let index = KeyIndex::build("version: 1\nstate_dir: /x\n  bad: [\n");
        assert!(index.get("version").is_some());
    }
}
