//! Tool arguments. Each derives a JSON schema (what `tools/list` shows) and is parsed by
//! the server itself, so malformed arguments become a tool error an assistant can act
//! on, never a protocol error.

use std::collections::BTreeMap;

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;

/// Longest text accepted in any one argument (names, filters, commands).
pub const MAX_TEXT: usize = 4096;

/// A command as one string (split like a shell) or as an argv array.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum CommandLine {
    /// `"python3 -m http.server 8000"`; shell syntax (pipes, `$VAR`) runs under `sh -c`.
    Line(String),
    /// `["python3", "-m", "http.server", "8000"]`, passed as is.
    Argv(Vec<String>),
}

impl<'de> Deserialize<'de> for CommandLine {
    /// By hand, so a wrong type says what `command` must be (an untagged enum would only
    /// say that no variant matched).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(line) => Ok(Self::Line(line)),
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(arg) => Ok(arg),
                    other => Err(D::Error::custom(format!(
                        "command: every array element must be a string (got {other})"
                    ))),
                })
                .collect::<Result<_, _>>()
                .map(Self::Argv),
            other => Err(D::Error::custom(format!(
                "command must be a string (a command line) or an array of strings (program and arguments), not {other}"
            ))),
        }
    }
}

/// `start_process`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartArgs {
    /// Unique name for the process (letters, digits, `-`, `_`, `.`; no `/`).
    pub name: String,
    /// What to run: a command line string, or an array of program and arguments.
    pub command: CommandLine,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Absolute working directory (default: the daemon's).
    pub cwd: Option<String>,
    /// When to restart it after it exits: `always` (default), `on-failure` or `never`.
    pub restart: Option<String>,
    /// Hard memory ceiling of its whole tree, e.g. `512M`.
    pub memory_max: Option<String>,
    /// CPU ceiling in percent of one core, e.g. `150%`.
    pub cpu_max: Option<String>,
    /// Most processes and threads of its tree at once.
    pub pids_max: Option<u32>,
    /// What a breach does: `restart` (default), `stop` or `notify`.
    pub on_breach: Option<String>,
    /// Accept hard limits the machine can only poll (they can overshoot).
    pub best_effort: Option<bool>,
    /// Prefix each log line with the time it was written (lets `get_process_logs` read
    /// the last minutes with `since_seconds`).
    pub timestamps: Option<bool>,
    /// Restart it when a file matching one of these globs changes (relative to `cwd`,
    /// e.g. `src/**/*.py`).
    #[serde(default)]
    pub watch: Vec<String>,
    /// Run this many replicas (1-256), named `NAME:0` to `NAME:N-1`, each with
    /// PROCWARD_INSTANCE set to its index.
    pub instances: Option<u32>,
    /// Readiness probe (`http://HOST:PORT/PATH`, `tcp:HOST:PORT` or `cmd:COMMAND`): until it
    /// passes the process is not ready; reload_process waits for it. Failing it never
    /// restarts the process.
    pub readiness: Option<String>,
    /// Liveness probe, in the same forms: failing it 3 times in a row restarts the process.
    pub health: Option<String>,
    /// Exit codes besides 0 that mean done, not crashed (`on-failure` does not restart).
    #[serde(default)]
    pub success_exit_codes: Vec<i32>,
}

/// `scale_process`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleArgs {
    /// The managed process, or a set of replicas by its name.
    pub name: String,
    /// Replicas wanted, 1-256.
    pub instances: u32,
}

/// Tools that name one managed process.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameArgs {
    /// The managed process's name, as `list_processes` shows it.
    pub name: String,
}

/// `get_process_logs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsArgs {
    /// The managed process's name.
    pub name: String,
    /// Lines from the end (default 50, at most 500); the answer is also capped at 16 KB.
    pub lines: Option<u32>,
    /// `stdout`, `stderr` or `both` (default).
    pub stream: Option<String>,
    /// Only lines from the last this many seconds (the process must timestamp its logs:
    /// started with `timestamps`).
    pub since_seconds: Option<u64>,
}

/// `list_system_processes`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSystemArgs {
    /// Keep processes whose name or command line contains this (case-insensitive).
    pub name: Option<String>,
    /// Keep processes of this user (login name or uid).
    pub user: Option<String>,
    /// Order: `cpu` (default, highest first), `mem` (highest first), `pid`, `name`, `uptime`.
    pub sort: Option<String>,
    /// How many to return (default 25, at most 500). The answer says how many more matched.
    pub limit: Option<u32>,
}

/// `get_process_info`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PidArgs {
    /// The process id.
    pub pid: i64,
}

/// `list_ports`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortsArgs {
    /// `tcp`, `udp` or omitted for both.
    pub protocol: Option<String>,
    /// Only this port.
    pub port: Option<i64>,
}

/// `kill_process`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillArgs {
    /// The process id to kill (give `pid` or `port`, not both).
    pub pid: Option<i64>,
    /// Kill whoever listens on this port instead (TCP or UDP).
    pub port: Option<i64>,
    /// The `start_time` you saw for this pid (from `list_system_processes` or
    /// `get_process_info`), in Unix seconds: the kill is refused if the pid now belongs to
    /// another process. Coarse (a pid reused within the same second passes): prefer
    /// `expected_start_ticks`.
    pub expected_start_time: Option<u64>,
    /// The `start_ticks` you saw for this pid (from `list_system_processes` or
    /// `get_process_info`; clock ticks since boot, 1/100 s): the exact check that the pid
    /// still belongs to that process. With `expected_start_time`, both must match.
    pub expected_start_ticks: Option<u64>,
    /// First signal (default `SIGTERM`), e.g. `SIGINT`, `HUP`, `9`.
    pub signal: Option<String>,
    /// Seconds to wait for the process to exit before SIGKILL (default 5, at most 3600).
    pub timeout_seconds: Option<f64>,
    /// SIGKILL at once.
    #[serde(default)]
    pub force: bool,
}

/// `queue_add`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueAddArgs {
    /// What to run: a command line string (shell syntax runs under `sh -c`), or an array
    /// of program and arguments.
    pub command: CommandLine,
    /// Concurrency group (default `default`); it must exist (`[queue.group.NAME]` in
    /// procward.toml, or `procward queue group add`).
    pub group: Option<String>,
    /// 0 (default) to 1000; higher runs first, first-in first-out within one priority.
    pub priority: Option<i32>,
    /// Start no sooner than this many seconds from now (at most 365 days).
    pub delay_seconds: Option<f64>,
    /// Run until one attempt exits 0, at most this many times (1 to 100, default 3).
    pub attempts: Option<u32>,
    /// Wait between attempts: `exponential:BASE[:CAP]` or `fixed:DELAY`, with `:jitter`
    /// appended for jitter, e.g. `exponential:2s`, `fixed:5s`, `exponential:1s:1m:jitter`
    /// (default `exponential:2s:10m`).
    pub backoff: Option<String>,
    /// Per attempt: SIGTERM to its process group after this many seconds, SIGKILL 5 s
    /// later (0.1 to 30 days; default none).
    pub timeout_seconds: Option<f64>,
    /// Ids of jobs that must complete first (they must exist).
    #[serde(default)]
    pub after: Vec<u64>,
    /// With `after`: start once those jobs have ended, whatever their outcome, instead of
    /// failing when one fails.
    #[serde(default)]
    pub after_any: bool,
    /// Free-form tags, e.g. `{"ticket": "ops-12"}` (keys like names: letters, digits,
    /// `-`, `_`, `.`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Absolute working directory (default: the daemon's).
    pub cwd: Option<String>,
    /// Hard memory ceiling of each attempt's tree, e.g. `512M`.
    pub memory_max: Option<String>,
    /// CPU ceiling of each attempt in percent of one core, e.g. `150%`.
    pub cpu_max: Option<String>,
    /// Most processes and threads of each attempt's tree at once.
    pub pids_max: Option<u32>,
    /// What a breach does: `restart` (default: the attempt fails and is retried per
    /// `attempts`), `stop` (the job fails, no retry) or `notify`.
    pub on_breach: Option<String>,
    /// Accept hard limits the machine can only poll (they can overshoot).
    pub best_effort: Option<bool>,
}

/// The limit arguments `start_process` and `queue_add` share, as core's text form (the
/// CLI's units and ranges).
pub fn limit_inputs(
    memory_max: &Option<String>,
    cpu_max: &Option<String>,
    pids_max: Option<u32>,
    on_breach: &Option<String>,
    best_effort: Option<bool>,
) -> procward_core::resources::LimitInputs {
    procward_core::resources::LimitInputs {
        memory_max: memory_max.clone(),
        cpu_max: cpu_max.clone(),
        on_breach: on_breach.clone(),
        best_effort: best_effort.unwrap_or(false),
        ..Default::default()
    }
    .pids(pids_max)
}

/// `queue_list`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueListArgs {
    /// Only this group's jobs.
    pub group: Option<String>,
    /// Only jobs in these states: `queued`, `delayed`, `running`, `completed`, `failed`,
    /// `cancelled` (default: every state).
    #[serde(default)]
    pub states: Vec<String>,
    /// How many jobs to return, the newest (highest ids) first kept (default 50, at most
    /// 500). The answer says how many more matched.
    pub limit: Option<u32>,
}

/// Tools that name one job.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobArgs {
    /// The job's id, as `queue_add` or `queue_list` shows it.
    pub id: u64,
}

/// `queue_logs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueLogsArgs {
    /// The job's id.
    pub id: u64,
    /// Which attempt (1 for the first run; default the latest), as `queue_status` lists
    /// them.
    pub attempt: Option<u32>,
    /// Lines from the end (default 50, at most 500); the answer is also capped at 16 KB.
    pub lines: Option<u32>,
    /// `stdout`, `stderr` or `both` (default).
    pub stream: Option<String>,
}

/// Tools without arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// `audit_log`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditArgs {
    /// Only entries of the last this many minutes.
    pub since_minutes: Option<u64>,
    /// At most this many of the newest entries (default 50, at most 500).
    pub limit: Option<u32>,
}
