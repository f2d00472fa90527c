//! A managed process as every interface shows it: one snapshot type that the daemon
//! builds and the wire formats convert.

use serde::{Deserialize, Serialize};

use super::shim::ExitRecord;
use super::spec::ProcessSpec;
use super::state::State;
use crate::sys::Metrics;

/// Health of a process with a health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No health check configured.
    #[default]
    None,
    /// Checked, not yet passing (within the start period or before the first success).
    Starting,
    /// The last check passed.
    Healthy,
    /// Checks failed `retries` times in a row.
    Unhealthy,
}

impl Health {
    /// Lower-case name; empty for [`Health::None`].
    pub fn as_str(self) -> &'static str {
        match self {
            Health::None => "",
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// Everything known about one managed process at a moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagedView {
    /// The spec it runs.
    pub spec: ProcessSpec,
    /// Lifecycle state.
    pub state: State,
    /// PID of the main process while it runs.
    pub pid: Option<u32>,
    /// Kernel start time (Unix seconds) of the main process while it runs.
    pub start_time: Option<u64>,
    /// Kernel start time of the main process in clock ticks since boot (`USER_HZ`, 1/100 s)
    /// while it runs: its exact identity (`None` for a run recorded before ticks were kept).
    #[serde(default)]
    pub start_ticks: Option<u64>,
    /// PID of procward's shim for the current run: infrastructure, which a kill must route
    /// to the supervisor instead of signalling.
    #[serde(default)]
    pub shim_pid: Option<u32>,
    /// The shim's start time in clock ticks since boot, when known.
    #[serde(default)]
    pub shim_start_ticks: Option<u64>,
    /// Automatic restarts so far.
    pub restarts: u32,
    /// Unix milliseconds when the current run started.
    pub started_at_ms: Option<u64>,
    /// Milliseconds since the current run started.
    pub uptime_ms: u64,
    /// CPU usage (percent of one core) since the previous look.
    pub cpu_percent: f32,
    /// Resident memory of the main process in bytes.
    pub memory_rss: u64,
    /// How the previous run ended.
    pub last_exit: Option<ExitRecord>,
    /// Unix milliseconds of the next automatic restart.
    pub next_restart_at_ms: Option<u64>,
    /// Why it is failed or stopped, when known.
    pub reason: String,
    /// Health-check (liveness) state.
    pub health: Health,
    /// Readiness-check state: `healthy` means ready.
    #[serde(default)]
    pub readiness: Health,
    /// Captured stdout.
    pub stdout_log: String,
    /// Captured stderr.
    pub stderr_log: String,
    /// Bytes of output its logs dropped because they could not be written (disk full),
    /// over its runs; each gap is marked in the log by one
    /// `[procward: N bytes dropped: ...]` line.
    #[serde(default)]
    pub log_dropped_bytes: u64,
    /// Why its log writes are failing right now (`no space left on device`); empty when
    /// they work.
    #[serde(default)]
    pub log_error: String,
    /// Why the daemon's record of it is not on disk yet (the write is retried until it
    /// is); empty when saved.
    #[serde(default)]
    pub registry_error: String,
    /// The main process's metrics while it runs, when measured (`status`, `list` with
    /// metrics); `None` otherwise.
    #[serde(default)]
    pub metrics: Option<Metrics>,
    /// The sum over the main process and all its descendants, when measured.
    #[serde(default)]
    pub tree: Option<Metrics>,
    /// How each limit of `spec.limits` is enforced on this machine (empty without limits).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<LimitStatus>,
    /// The last breach of a limit since the daemon started, in words; empty when none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub limit_breach: String,
    /// Breaches since the daemon started.
    #[serde(default)]
    pub limit_breaches: u32,
}

/// One limit of a managed process and how this machine enforces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitStatus {
    /// Which limit.
    pub limit: crate::resources::LimitKind,
    /// `cgroup` or `poll`.
    pub enforcement: crate::resources::Enforcement,
}
