//! `procward.toml`: several processes in one file, for `procward up` and `procward down`.
//!
//! Each `[process.NAME]` table describes one process; only `command` is required:
//!
//! ```toml
//! [process.db]
//! command = "postgres -D /var/lib/pg"   # a string (split like a shell; shell syntax
//!                                       # such as | or $VAR runs under /bin/sh -c)
//!
//! [process.web]
//! command = ["python3", "-m", "http.server", "8000"]   # or an array: argv as is
//! cwd = "site"                  # relative to this file's folder (the default cwd)
//! env = { PORT = "8000" }       # wins over env_file
//! env_file = ".env"             # relative to this file's folder; KEY=VALUE lines
//! restart = "on-failure"        # "always" (default), "on-failure" or "never"
//! max_restarts = 5              # in a row without a stable run; or "unlimited" (default 10)
//! backoff = "1s:30s"            # restart delay BASE:MAX, doubling (default "1s:60s")
//! stable_after = "10s"          # uptime that resets the restart count (default "10s")
//! stop_signal = "INT"           # TERM (default), INT, SIGHUP, 15, ...
//! stop_timeout = "10s"          # wait before SIGKILL (default "5s", at most "1h")
//! autostart = true              # start on `up` and when the daemon starts (default true)
//! depends_on = ["db"]           # started first; waited for until healthy if checked
//! health = { http = "http://127.0.0.1:8000/", interval = "2s", timeout = "1s", retries = 3, start_period = "1s" }
//! # health probes: http = "http://HOST:PORT/PATH", tcp = "HOST:PORT" or command = "pg_isready"
//! # (run with sh -c); interval 5s, timeout 2s, retries 3, start_period 0 by default
//! logs = { max_bytes = "10MiB", max_files = 5 }   # rotation per stream (defaults shown)
//! ```
//!
//! Durations are strings with units (`500ms`, `10s`, `1.5m`, `1h`, `1m30s`) or bare
//! numbers of seconds. Sizes are bytes (an integer) or strings: `K`/`KiB`, `M`/`MiB`,
//! `G`/`GiB` are powers of 1024; `KB`, `MB`, `GB` powers of 1000. Names are 1-64 ASCII
//! letters, digits, `.`, `_` or `-`, not starting with `.` or `-`. Unknown keys are errors,
//! and every error says where: ``procward.toml:12:9: unknown field `colour`, ...``.
//! The file (and each `env_file`) must be a regular file of at most 1 MiB.
//!
//! [`check_request`] is the daemon's one validation of every start and up request, from
//! any interface: the same spec, name and dependency rules as a file.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::spec::{ProcessSpec, SpecError, read_config_file};
use crate::ErrorKind;

mod check;
mod order;
mod raw;

pub use check::{check_request, needs_registered};
pub use order::start_order;
use raw::{RawFile, build};

/// A procward.toml that cannot be used; nothing was started or changed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A problem at a place in the file: syntax, unknown key, bad value, invalid spec.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        /// The file as the user named it (`procward.toml` when parsed from text).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file itself cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Two specs share a name.
    #[error("duplicate process name '{0}'")]
    DuplicateName(String),
    /// A `depends_on` entry names no process in the set.
    #[error("process '{process}' depends on unknown process '{dependency}'")]
    UnknownDependency {
        /// The depending process.
        process: String,
        /// The missing name.
        dependency: String,
    },
    /// Processes depend on each other in a circle, so none can start first.
    #[error("dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// One spec of a request is invalid.
    #[error("process '{process}': {source}")]
    Spec {
        /// The spec's name as given (shortened when very long).
        process: String,
        /// What is wrong with it.
        #[source]
        source: SpecError,
    },
}

impl ComposeError {
    /// The class of this error, for exit codes and status codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ComposeError::Read { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
                // Not a regular file, too large, not UTF-8: the user named the wrong file.
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                    ErrorKind::InvalidInput
                }
                _ => ErrorKind::Failed,
            },
            _ => ErrorKind::InvalidInput,
        }
    }

    /// The spec field the error is about (`name`, `depends_on`, `stop_timeout`, ...), for
    /// interfaces that report the field apart from the message; `None` for file errors.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ComposeError::At { .. } | ComposeError::Read { .. } => None,
            ComposeError::DuplicateName(_) => Some("name"),
            ComposeError::UnknownDependency { .. } | ComposeError::Cycle(_) => Some("depends_on"),
            ComposeError::Spec { source, .. } => Some(source.field()),
        }
    }
}

/// Reads and parses a procward.toml; relative `cwd` and `env_file` resolve against the
/// file's folder (made absolute, since the daemon runs elsewhere). The file must be a
/// regular file of at most 1 MiB ([`read_config_file`]), so `/dev/zero` cannot hang it.
pub fn parse_compose_file(path: &Path) -> Result<Vec<ProcessSpec>, ComposeError> {
    let read_err = |source| ComposeError::Read {
        path: path.to_owned(),
        source,
    };
    let text = read_config_file(path).map_err(read_err)?;
    let absolute = std::path::absolute(path).map_err(read_err)?;
    let base = absolute.parent().unwrap_or(Path::new("/"));
    parse_named(&text, base, &path.display().to_string())
}

/// Parses procward.toml text into validated specs in file order; `base_dir` resolves
/// relative `cwd` and `env_file` (pass an absolute one). Errors read `procward.toml:L:C: ...`.
pub fn parse_compose(text: &str, base_dir: &Path) -> Result<Vec<ProcessSpec>, ComposeError> {
    parse_named(text, base_dir, "procward.toml")
}

fn parse_named(text: &str, base: &Path, file: &str) -> Result<Vec<ProcessSpec>, ComposeError> {
    let at = |span: Range<usize>, message: String| {
        let mut end = span.start.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        ComposeError::At {
            file: file.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message,
        }
    };
    let raw: RawFile = toml::from_str(text)
        .map_err(|e| at(e.span().unwrap_or(0..0), e.message().trim_end().to_owned()))?;
    let mut entries: Vec<_> = raw.process.into_iter().collect();
    if entries.is_empty() {
        return Err(at(
            0..0,
            "no processes: add a [process.NAME] table with a command".into(),
        ));
    }
    entries.sort_by_key(|(name, _)| name.span().start);
    let mut specs = Vec::with_capacity(entries.len());
    let mut dep_spans = Vec::new();
    for (name, raw) in &entries {
        let (spec, spans) = build(name, raw.get_ref(), base).map_err(|(s, m)| at(s, m))?;
        let field_span = |field: &str| {
            let found = spans.iter().find(|(f, _)| *f == field);
            found.map_or(name.span(), |(_, s)| s.clone())
        };
        spec.validate().map_err(|e| {
            at(
                field_span(e.field()),
                format!("process '{}': {e}", spec.name),
            )
        })?;
        dep_spans.push(
            raw.get_ref()
                .depends_on
                .iter()
                .map(Spanned::span)
                .collect::<Vec<_>>(),
        );
        specs.push(spec);
    }
    start_order(&specs).map_err(|e| {
        let span = match &e {
            ComposeError::UnknownDependency {
                process,
                dependency,
            } => {
                let i = specs.iter().position(|s| s.name == *process).unwrap_or(0);
                let j = specs[i].depends_on.iter().position(|d| d == dependency);
                j.map_or(entries[i].0.span(), |j| dep_spans[i][j].clone())
            }
            ComposeError::Cycle(cycle) => {
                let first = cycle.first().map(String::as_str);
                let i = specs.iter().position(|s| Some(s.name.as_str()) == first);
                entries[i.unwrap_or(0)].0.span()
            }
            _ => 0..0,
        };
        at(span, e.to_string())
    })?;
    Ok(specs)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_limits;
