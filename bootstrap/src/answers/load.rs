//! Reading a playbook: YAML (serde-saphyr, the one YAML crate of octa) into `Answers`,
//! with the position of every key kept so that errors found now (bad type, unknown key,
//! failed validation) and later (preflight) name the file, the line and the key.

use std::path::{Path, PathBuf};

use serde_saphyr::Error as YamlError;

use super::Answers;
use super::error::{Located, LocatedProblem, PlaybookError};
use super::index::{KeyIndex, Position, join};
use super::validate::{Problem, validate};

/// A loaded and validated playbook: the answers, the file they came from, and where each
/// key was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playbook {
    pub answers: Answers,
    /// The file as named by the operator (shown as given in messages).
    pub source: PathBuf,
    index: KeyIndex,
}

/// Read, parse and validate the playbook at `path`.
pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlaybookError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// Parse and validate playbook `text`; `source` names it in messages.
pub fn parse(text: &str, source: &Path) -> Result<Playbook, PlaybookError> {
    let index = KeyIndex::build(text);
    let answers: Answers =
        serde_saphyr::from_str(text).map_err(|e| map_yaml_error(&e, &index, source))?;
    let playbook = Playbook {
        answers,
        source: source.to_owned(),
        index,
    };
    let problems = validate(&playbook.answers);
    if problems.is_empty() {
        Ok(playbook)
    } else {
        let mut located: Vec<LocatedProblem> = problems
            .iter()
            .map(|p| playbook.locate_problem(p))
            .collect();
        // In file order (stable: problems on one line keep the order of the checks);
        // those with no line at all come last.
        located.sort_by_key(|p| p.at.line.unwrap_or(usize::MAX));
        Err(PlaybookError::Invalid { problems: located })
    }
}

impl Playbook {
    /// `FILE:LINE: KEY` for a dotted key path (`mgmt_network.cidr`,
    /// `health_manager.peers[0]` or `health_manager.peers.0`); `FILE: KEY` when the key
    /// was not written (its default applies).
    pub fn whereis(&self, key: &str) -> String {
        self.locate(key).to_string()
    }

    /// Line and column of `key` in the file, if it was written there.
    pub fn position(&self, key: &str) -> Option<Position> {
        self.index.get(&normalize(key)).map(|k| k.key)
    }

    /// `key` placed in this playbook.
    pub fn locate(&self, key: &str) -> Located {
        locate(&self.index, &self.source, &normalize(key))
    }

    /// Every key path written in the file.
    pub fn written_keys(&self) -> impl Iterator<Item = &str> {
        self.index.paths()
    }

    /// A validation problem placed in this playbook. A key that was not written (its
    /// default is the problem) gets the line of its nearest written parent.
    pub fn locate_problem(&self, problem: &Problem) -> LocatedProblem {
        let mut at = self.locate(&problem.key);
        let mut parent = parent_of(&at.key);
        while at.line.is_none() && !parent.is_empty() {
            at.line = self.index.get(&parent).map(|k| k.key.line);
            parent = parent_of(&parent);
        }
        LocatedProblem {
            at,
            message: problem.message.clone(),
        }
    }
}

/// `peers.1` → `peers[1]`, the form the index uses.
fn normalize(key: &str) -> String {
    let mut out = String::new();
    for part in key.split('.') {
        if !out.is_empty() && !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

fn locate(index: &KeyIndex, source: &Path, key: &str) -> Located {
    Located {
        file: source.to_owned(),
        line: index.get(key).map(|k| k.key.line),
        key: key.to_owned(),
    }
}

/// Place a serde-saphyr error at `FILE:LINE: KEY` with an operator-facing message.
fn map_yaml_error(err: &YamlError, index: &KeyIndex, source: &Path) -> PlaybookError {
    let inner = err.without_snippet();
    let pos = inner.location().and_then(|l| {
        let line = usize::try_from(l.line()).ok().filter(|&n| n > 0)?;
        let column = usize::try_from(l.column()).unwrap_or(0);
        Some(Position { line, column })
    });
    let path = pos
        .and_then(|p| index.path_at(p))
        .unwrap_or_default()
        .to_owned();
    let at = |key: String| Located {
        file: source.to_owned(),
        line: index.get(&key).map(|k| k.key.line).or(pos.map(|p| p.line)),
        key,
    };
    match inner {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => {
            let key = unknown_key_path(index, pos, &path, field);
            PlaybookError::UnknownKey {
                at: at(key),
                accepted: expected.iter().map(|s| (*s).to_owned()).collect(),
            }
        }
        YamlError::SerdeMissingField { field, .. } => {
            let key = join(&missing_parent(index, pos, &path), field);
            let hint = missing_hint(&key);
            PlaybookError::MissingKey { at: at(key), hint }
        }
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | YamlError::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => wrong_type(at(path.clone()), index, &path, unexpected, expected),
        _ if path.is_empty() && index.paths().next().is_none() || path.starts_with('[') => {
            PlaybookError::Other {
                at: Located {
                    file: source.to_owned(),
                    line: pos.map(|p| p.line),
                    key: String::new(),
                },
                message: "the playbook is empty or not a mapping; it needs at least `version: 1` and `mgmt_network: {cidr: ...}`".into(),
            }
        }
        YamlError::Message { msg, .. } if !path.is_empty() => {
            wrong_type(at(path.clone()), index, &path, msg, msg)
        }
        YamlError::InvalidScalar { ty, .. } if !path.is_empty() => {
            wrong_type(at(path.clone()), index, &path, ty, &format!("a valid {ty}"))
        }
        YamlError::Unexpected { expected, .. } if index.get(&path).is_some_and(|k| k.value.is_some()) => {
            let kind = if index.get(&path).is_some_and(|k| k.scalar.is_some()) { "this value" } else { "a list or mapping" };
            wrong_type(at(path.clone()), index, &path, kind, expected)
        }
        other => PlaybookError::Syntax {
            at: Located {
                file: source.to_owned(),
                line: pos.map(|p| p.line),
                key: path,
            },
            message: first_line(&strip_location(&other.to_string())),
        },
    }
}

/// The unknown key's own path: the key at the error's position if it has that name,
/// else the one key of that name on the same line.
fn unknown_key_path(index: &KeyIndex, pos: Option<Position>, path: &str, field: &str) -> String {
    if path == field || path.ends_with(&format!(".{field}")) {
        return path.to_owned();
    }
    let line = pos.map(|p| p.line);
    index
        .paths()
        .find(|p| {
            (*p == field || p.ends_with(&format!(".{field}")))
                && index.get(p).map(|k| k.key.line) == line
        })
        .map_or_else(|| field.to_owned(), str::to_owned)
}

/// The mapping a missing field belongs in: the key whose value starts at the error.
fn missing_parent(index: &KeyIndex, pos: Option<Position>, path: &str) -> String {
    match pos {
        Some(p) if index.get(path).and_then(|k| k.value) == Some(p) => path.to_owned(),
        Some(p) if p.line == 1 && p.column <= 1 => String::new(),
        _ => parent_of(path),
    }
}

fn parent_of(path: &str) -> String {
    path.rsplit_once('.')
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default()
}

fn missing_hint(key: &str) -> String {
    match key {
        "version" => "add `version: 1`".into(),
        "mgmt_network" => "add `mgmt_network:` with at least `cidr:` (e.g. 172.31.0.0/24)".into(),
        "mgmt_network.cidr" => "add `cidr:` with the management subnet, e.g. 172.31.0.0/24".into(),
        k if k.ends_with("allocation_pool.start") || k.ends_with("allocation_pool.end") => {
            "a pool needs both `start:` and `end:` (IP addresses inside mgmt_network.cidr)".into()
        }
        "cloud.name" => {
            "add `name:` with the clouds.yaml entry, or remove `cloud:` to use OS_* variables"
                .into()
        }
        _ => "add it".into(),
    }
}

fn wrong_type(
    at: Located,
    index: &KeyIndex,
    path: &str,
    unexpected: &str,
    expected: &str,
) -> PlaybookError {
    let value = index
        .get(path)
        .and_then(|k| k.scalar.as_deref())
        .map_or_else(|| first_line(unexpected), shown);
    let expected = expected_for(path).map_or_else(|| in_words(expected), str::to_owned);
    PlaybookError::WrongType {
        at,
        value,
        expected,
    }
}

/// What a key accepts, in the operator's words.
fn expected_for(path: &str) -> Option<&'static str> {
    let last = path.rsplit('.').next().unwrap_or(path);
    let hint = match last {
        "cidr" => "a CIDR (address/prefix), e.g. 172.31.0.0/24",
        "address" | "start" | "end" => "an IP address, e.g. 172.31.0.2",
        "port" => "a port number (1-65535), e.g. 5555",
        "version" => "a format version; use 1",
        "segmentation_id" => "a whole number (vxlan/geneve 1-16777215, vlan 1-4094)",
        "mtu" => "a whole number (68-9216)",
        "amphora_ssh" | "amphora_icmp" | "firewall" => "true or false",
        _ if last.starts_with("peers[") => "an IP address, e.g. 172.31.0.3",
        "peers" => "a list of IP addresses, e.g. [172.31.0.3]",
        _ => return None,
    };
    Some(hint)
}

/// A scalar as shown in a message: quoted, or "an empty value" for YAML null.
fn shown(scalar: &str) -> String {
    match scalar {
        "" | "~" | "null" | "Null" | "NULL" => "an empty value".to_owned(),
        s => format!("{s:?}"),
    }
}

/// serde-saphyr's expectation ("string scalar", "mapping start") in an operator's words.
fn in_words(expected: &str) -> String {
    let e = first_line(expected);
    if e.starts_with("string") {
        "a string".to_owned()
    } else if e.starts_with("mapping") || e.starts_with("struct") {
        "a mapping of keys".to_owned()
    } else if e.starts_with("sequence") {
        "a list".to_owned()
    } else {
        e
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}

/// serde-saphyr appends " at line N column M"; the line is already in front.
fn strip_location(s: &str) -> String {
    let first = first_line(s);
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_owned(),
        None => first,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn normalizes_numeric_segments() {
        assert_eq!(
            normalize("health_manager.peers.1"),
            "health_manager.peers[1]"
        );
        assert_eq!(normalize("mgmt_network.cidr"), "mgmt_network.cidr");
    }

    #[test]
    fn whereis_names_line_or_only_key() {
        let text = "version: 1\nmgmt_network:\n  cidr: 172.31.0.0/24\n";
        let pb = parse(text, Path::new("x.yaml")).unwrap();
        assert_eq!(
            pb.whereis("mgmt_network.cidr"),
            "x.yaml:3: mgmt_network.cidr"
        );
        assert_eq!(pb.whereis("interface.name"), "x.yaml: interface.name");
        assert_eq!(
            pb.position("mgmt_network.cidr"),
            Some(Position { line: 3, column: 3 })
        );
    }
}
