//! `PlaybookError`: why a playbook was refused. Every message is one line per problem,
//! `FILE:LINE: KEY: what is wrong; what would be accepted`, and never echoes a value that
//! could be a secret (the value of an unknown key is not shown).

use std::fmt;
use std::path::PathBuf;

/// A place in a playbook: the file, the line when known, and the dotted key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub file: PathBuf,
    pub line: Option<usize>,
    /// Dotted key path (`mgmt_network.cidr`); empty for the document itself.
    pub key: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        Ok(())
    }
}

/// One validation problem, placed in its playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedProblem {
    pub at: Located,
    /// What is wrong and what would be accepted.
    pub message: String,
}

impl fmt::Display for LocatedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Why a playbook could not be loaded. Nothing was changed on the host or the cloud.
#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    #[error("{}: cannot read the playbook", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{at}: not valid YAML: {message}")]
    Syntax { at: Located, message: String },
    #[error("{at}: unknown key; accepted here: {}", accepted.join(", "))]
    UnknownKey { at: Located, accepted: Vec<String> },
    #[error("{at}: missing; {hint}")]
    MissingKey { at: Located, hint: String },
    #[error("{at}: {value} is not {expected}")]
    WrongType {
        at: Located,
        /// The value as written (quoted), or its YAML kind for a mapping or sequence.
        value: String,
        /// What would be accepted, e.g. "a port number (1-65535)".
        expected: String,
    },
    #[error("{at}: {message}")]
    Other { at: Located, message: String },
    #[error("{}", lines(problems))]
    Invalid { problems: Vec<LocatedProblem> },
}

fn lines(problems: &[LocatedProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl PlaybookError {
    /// The problems of an `Invalid` playbook, or this one error as a single line.
    pub fn lines(&self) -> Vec<String> {
        match self {
            PlaybookError::Invalid { problems } => {
                problems.iter().map(ToString::to_string).collect()
            }
            other => vec![other.to_string()],
        }
    }

    /// Where the (first) problem is.
    pub fn location(&self) -> Option<&Located> {
        match self {
            PlaybookError::Read { .. } => None,
            PlaybookError::Syntax { at, .. }
            | PlaybookError::UnknownKey { at, .. }
            | PlaybookError::MissingKey { at, .. }
            | PlaybookError::WrongType { at, .. }
            | PlaybookError::Other { at, .. } => Some(at),
            PlaybookError::Invalid { problems } => problems.first().map(|p| &p.at),
        }
    }

    /// Bad input, never a transient failure: retrying the same file cannot help.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// Never: a playbook conflicts with nothing until preflight looks at the world.
    pub fn is_conflict(&self) -> bool {
        false
    }

    /// The file itself does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, PlaybookError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}
