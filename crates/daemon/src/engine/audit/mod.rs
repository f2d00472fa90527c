//! The audit log: one JSON line in `$PROCWARD_HOME/audit.log` for every destructive
//! action (kill, kill by port, stop, restart, delete, signal, queue cancel, a resource
//! limit's action), whichever door it came through, written here in the engine so no
//! door can forget it. Each door only says who is asking ([`Caller`]).
//!
//! A line: `{"time", "unix_ms", "interface", "caller", "client"?, "action", "target",
//! "result", "message"}` ([`Entry`]). `interface` and `caller` are what the daemon itself
//! saw (the Unix socket's peer uid, a TCP peer's address, the in-process MCP endpoint);
//! `client` is what the caller *claims* to be (the CLI sends `x-procward-client: cli`, an
//! MCP session its client's name), recorded but not trusted.
//!
//! Writing never blocks nor fails an action: a failed write is logged through tracing
//! and counted ([`Audit::failures`]). See [`file`] for the format on disk and rotation.

pub mod caller;
pub mod file;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use caller::{Caller, Interface, Peer, PeerAddr};
pub use file::{AuditFile, read_entries};

/// What an action was aimed at; only the fields that apply are set (and written).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The pid signalled (or asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The start identity of the process that held the pid when the action was decided
    /// (clock ticks since boot, as in `/proc/PID/stat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ticks: Option<u64>,
    /// The start identity the caller said it saw (a mismatch is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_start_ticks: Option<u64>,
    /// A managed process's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A port whose holders were killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// A queue job's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
}

impl Target {
    /// A managed process, by name.
    pub fn name(name: &str) -> Self {
        Self {
            name: Some(name.to_owned()),
            ..Self::default()
        }
    }

    /// A queue job, by id.
    pub fn job(id: u64) -> Self {
        Self {
            job: Some(id),
            ..Self::default()
        }
    }

    /// One line for tables: `pid 42 (ticks 123)`, `web`, `port 8080`, `job 7`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(name) = &self.name {
            parts.push(name.clone());
        }
        if let Some(pid) = self.pid {
            parts.push(match self.start_ticks {
                Some(ticks) => format!("pid {pid} (ticks {ticks})"),
                None => format!("pid {pid}"),
            });
        }
        if let Some(port) = self.port {
            parts.push(format!("port {port}"));
        }
        if let Some(job) = self.job {
            parts.push(format!("job {job}"));
        }
        parts.join(" ")
    }
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done.
    Ok,
    /// Allowed and tried, but it did not work (permission denied, survived SIGKILL).
    Failed,
    /// Refused before anything was touched (a changed identity, a protected pid, an
    /// unknown name, a malformed request).
    Refused,
    /// The daemon could not do it (an internal error).
    Error,
}

impl Outcome {
    /// The word written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Refused => "refused",
            Self::Error => "error",
        }
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// When, milliseconds since the Unix epoch (what `--since` compares).
    pub unix_ms: u64,
    /// The door: `cli`, `grpc`, `mcp`, `socketio`, `dashboard`, `tray`, `limits`.
    pub interface: Interface,
    /// Who, as the daemon saw it: `uid:1000`, `addr:127.0.0.1:40000`, `mcp:NAME`,
    /// `daemon`.
    pub caller: String,
    /// The client name the caller claims (`cli`, an MCP client's name): not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// `kill`, `kill-port`, `stop`, `restart`, `delete`, `signal`, `queue-cancel`,
    /// `limit-restart`, `limit-stop`, ...
    pub action: String,
    /// What it was aimed at.
    pub target: Target,
    /// How it ended.
    pub result: Outcome,
    /// What happened, in the words the caller was shown.
    #[serde(default)]
    pub message: String,
}

impl Entry {
    /// An entry stamped now.
    pub fn now(
        caller: &Caller,
        action: &str,
        target: Target,
        result: Outcome,
        message: String,
    ) -> Self {
        let now = SystemTime::now();
        Self {
            time: humantime::format_rfc3339_millis(now).to_string(),
            unix_ms: now
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default(),
            interface: caller.interface,
            caller: caller.who.to_string(),
            client: caller.client.clone(),
            action: action.to_owned(),
            target,
            result,
            message,
        }
    }
}

/// The engine's handle on the audit log; cheap to clone (every clone writes the same
/// file and shares one failure count). The resource-limits code records its own actions
/// through it: `engine.audit().record(&Caller::daemon(Interface::Limits), "limit-stop",
/// Target::name("web"), Outcome::Ok, "...")`.
#[derive(Debug, Clone)]
pub struct Audit {
    file: Option<Arc<AuditFile>>,
    failures: Arc<AtomicU64>,
}

impl Audit {
    /// Records into `path` (rotated by size, see [`AuditFile`]).
    pub fn open(path: PathBuf) -> Self {
        Self {
            file: Some(Arc::new(AuditFile::new(path))),
            failures: Arc::default(),
        }
    }

    /// Records nothing (an engine built without a home, in unit tests).
    pub fn disabled() -> Self {
        Self {
            file: None,
            failures: Arc::default(),
        }
    }

    /// The file written, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref().map(AuditFile::path)
    }

    /// Appends one entry. Never fails: a write error is logged and counted, and the action
    /// it describes goes on.
    pub fn record(
        &self,
        caller: &Caller,
        action: &str,
        target: Target,
        result: Outcome,
        message: impl Into<String>,
    ) {
        let entry = Entry::now(caller, action, target, result, message.into());
        self.append(&entry);
    }

    /// Appends an entry made elsewhere.
    pub fn append(&self, entry: &Entry) {
        let Some(file) = &self.file else { return };
        if let Err(e) = file.append(entry) {
            let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(
                path = %file.path().display(), error = %e, failures,
                action = %entry.action, "cannot write the audit log"
            );
        }
    }

    /// How many entries could not be written since the daemon started.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

/// What [`Audit::read`] found.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The entries, oldest first.
    pub entries: Vec<Entry>,
    /// Lines that were not entries.
    pub unreadable: usize,
}

impl Audit {
    /// The entries at or after `since_unix_ms` (all for 0), the newest `limit` of them
    /// (all for 0), oldest first; read off the async runtime.
    pub async fn read(&self, since_unix_ms: u64, limit: usize) -> std::io::Result<Listing> {
        let Some(path) = self.path().map(Path::to_path_buf) else {
            return Ok(Listing::default());
        };
        let read = tokio::task::spawn_blocking(move || read_entries(&path))
            .await
            .map_err(std::io::Error::other)?;
        let (mut entries, unreadable) = read?;
        entries.retain(|e| e.unix_ms >= since_unix_ms);
        if limit > 0 && entries.len() > limit {
            entries.drain(..entries.len() - limit);
        }
        Ok(Listing {
            entries,
            unreadable,
        })
    }
}
