//! What to run: a [`ProcessSpec`] names a process and says how to run, restart, stop,
//! health-check and log it. Every interface builds one (CLI flags, procward.toml, gRPC) and
//! the daemon refuses it unless [`ProcessSpec::validate`] passes, so bad input is caught
//! before anything changes.
//!
//! Serialized specs (the daemon's registry, `--json` output) write every duration as whole
//! **milliseconds** (`"stop_timeout": 5000`), which is exact and language-neutral; reading
//! also accepts humane strings (`"5s"`). Humane strings are parsed by [`parse_duration`]
//! and sizes by [`parse_size`].

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::resources::ResourceLimits;
use crate::{ErrorKind, Signal};

mod command;
mod file;
mod health;
pub mod limits;
pub mod replica;
mod values;
pub mod watch;

pub use super::state::{Backoff, RestartPolicy};
pub use command::{check_quotes, command_from_string, shell_words, validate_name};
pub use file::{MAX_CONFIG_BYTES, read_config_file};
pub use health::{HealthCheck, Probe};
pub use limits::MAX_STOP_TIMEOUT;
pub(crate) use values::parse_duration_reason;
pub use values::{
    duration_ms, format_duration, parse_duration, parse_env_file, parse_env_pair,
    parse_max_restarts, parse_size,
};

/// Longest process name, so names fit in file names, tables and log paths.
pub const MAX_NAME_LEN: usize = 64;
/// Longest single argument or `KEY=VALUE` entry in bytes, below Linux's `MAX_ARG_STRLEN`
/// (128 KiB including the terminating NUL), so `execve` never fails with `E2BIG`.
pub const MAX_ARG_BYTES: usize = 128 * 1024 - 1;
/// Largest argv plus environment in bytes (each entry counted with its NUL), well below the
/// usual `ARG_MAX` of 2 MiB so a spec that validates can always be executed.
pub const MAX_EXEC_BYTES: usize = 1024 * 1024;
/// Smallest log file size before rotation; smaller would rotate on almost every line.
pub const MIN_LOG_BYTES: u64 = 4 * 1024;
/// Most log files kept per stream, so a typo cannot fill a disk with thousands of files.
pub const MAX_LOG_FILES: u32 = 100;

/// A spec, name, command, duration or env file that cannot be used; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A process name breaks the naming rules (names become file names and CLI arguments).
    #[error(
        "invalid name {name:?}: {reason}; names are 1-64 characters of ASCII letters, digits, \
         '.', '_' or '-', not starting with '.' or '-'"
    )]
    InvalidName {
        /// The offending name (shortened when very long).
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// There is nothing to run.
    #[error("empty command: give a program to run, such as `python3 -m http.server 8000`")]
    EmptyCommand,
    /// An argument, variable or the whole command line is too large for `execve`.
    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The spec field at fault (`command` or `env`).
        field: &'static str,
        /// Which part is too large.
        what: String,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A field has a value that cannot be used.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The spec field at fault, as spelled in procward.toml.
        field: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A line of an env file cannot be parsed.
    #[error("line {line}: {reason}")]
    EnvFile {
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
}

impl SpecError {
    /// The class of this error: always [`ErrorKind::InvalidInput`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }

    /// The spec field the error is about, as spelled in procward.toml (`name`, `command`,
    /// `env`, `cwd`, ...), so a caller can point at the offending line.
    pub fn field(&self) -> &'static str {
        match self {
            SpecError::InvalidName { .. } => "name",
            SpecError::EmptyCommand => "command",
            SpecError::TooLarge { field, .. } | SpecError::Invalid { field, .. } => field,
            SpecError::EnvFile { .. } => "env_file",
        }
    }
}

/// Checks a command, its environment and working directory as `execve` will need them
/// (non-empty program, no NUL bytes, sizes under the kernel's limits): shared by managed
/// processes and queued jobs.
pub fn validate_exec(
    command: &[String],
    env: &std::collections::BTreeMap<String, String>,
    cwd: Option<&std::path::Path>,
) -> Result<(), SpecError> {
    if command.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(SpecError::EmptyCommand);
    }
    let mut total = 0;
    for (i, arg) in command.iter().enumerate() {
        if arg.contains('\0') {
            return Err(invalid(
                "command",
                format!("argument {i} contains a NUL byte"),
            ));
        }
        total += checked_entry("command", || format!("command argument {i}"), arg.len())?;
    }
    for (key, value) in env {
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(invalid(
                "env",
                format!("variable name {key:?} must be non-empty without '=' or NUL"),
            ));
        }
        if value.contains('\0') {
            return Err(invalid(
                "env",
                format!("value of {key} contains a NUL byte"),
            ));
        }
        let len = key.len() + 1 + value.len();
        total += checked_entry("env", || format!("environment variable {key}"), len)?;
    }
    if total > MAX_EXEC_BYTES {
        return Err(SpecError::TooLarge {
            field: "command",
            what: "the command and environment together".into(),
            size: total,
            limit: MAX_EXEC_BYTES,
        });
    }
    if let Some(cwd) = cwd {
        let bytes = cwd.as_os_str().as_bytes();
        if bytes.is_empty() || bytes.contains(&0) {
            return Err(invalid("cwd", "must be a non-empty path without NUL bytes"));
        }
    }
    Ok(())
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Everything the daemon needs to run, restart, stop, check and log one named process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSpec {
    /// Unique name; see [`validate_name`].
    pub name: String,
    /// Program and arguments (argv); never empty. Build it from one string with
    /// [`command_from_string`].
    pub command: Vec<String>,
    /// Variables added to the daemon's environment for this process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory; relative paths resolve against the daemon's, so clients should
    /// send absolute ones. Its existence is checked when spawning, not here.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// When to restart after an exit.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Restarts in a row without a stable run before giving up; `None` is unlimited.
    #[serde(default = "default_max_restarts")]
    pub max_restarts: Option<u32>,
    /// Delay before each automatic restart.
    #[serde(default)]
    pub backoff: Backoff,
    /// Uptime after which a run counts as stable and the failure count resets.
    #[serde(default = "default_stable_after", with = "duration_ms")]
    pub stable_after: Duration,
    /// Signal sent to the process group to stop it.
    #[serde(default = "default_stop_signal")]
    pub stop_signal: Signal,
    /// Wait after the stop signal before SIGKILL.
    #[serde(default = "default_stop_timeout", with = "duration_ms")]
    pub stop_timeout: Duration,
    /// Whether the daemon starts it when it is added and when the daemon starts.
    #[serde(default = "default_true")]
    pub autostart: bool,
    /// Optional health check; an unhealthy process is restarted per policy.
    #[serde(default)]
    pub health: Option<HealthCheck>,
    /// Processes that must be running (and healthy, if checked) before this one starts.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Rotation of the captured stdout and stderr.
    #[serde(default)]
    pub logs: LogLimits,
    /// Memory, CPU and process-count ceilings of the whole tree, and the action on a
    /// breach (none by default).
    #[serde(default, skip_serializing_if = "ResourceLimits::is_unset")]
    pub limits: ResourceLimits,
    /// Files whose change restarts the process: globs relative to `cwd` (see [`watch`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<String>,
    /// Files whose change does not (`*.log`: that name anywhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch_ignore: Vec<String>,
    /// Restart it on this five-field cron schedule, in local time (`0 3 * * *`: daily at
    /// 03:00), as pm2's `cron_restart` does; only while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron_restart: Option<String>,
    /// Exit codes besides 0 that mean the work is done rather than a crash: such an exit
    /// ends `stopped`, and `on-failure` does not restart it (pm2's `stop_exit_codes`,
    /// systemd's `SuccessExitStatus`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub success_exit_codes: Vec<i32>,
    /// Readiness, separate from liveness (`health`): until it passes the process is not
    /// ready, so dependents and `reload` wait for it, but a failure only marks it not
    /// ready; it never restarts the process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<HealthCheck>,
    /// How many copies run, each a managed process of its own named `NAME:0` to
    /// `NAME:N-1` with `PROCWARD_INSTANCE` set to its index (see [`replica`]).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub instances: u32,
}

fn one() -> u32 {
    1
}
fn is_one(n: &u32) -> bool {
    *n == 1
}

fn default_max_restarts() -> Option<u32> {
    Some(10)
}
fn default_stable_after() -> Duration {
    Duration::from_secs(10)
}
fn default_stop_signal() -> Signal {
    Signal::TERM
}
fn default_stop_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_true() -> bool {
    true
}

impl ProcessSpec {
    /// A spec with every default (restart always, 10 restarts, 1s:60s backoff, SIGTERM then
    /// SIGKILL after 5 s, autostart, 10 MiB x 5 logs), so callers only set what they change.
    pub fn new(name: impl Into<String>, command: Vec<String>) -> Self {
        Self {
            name: name.into(),
            command,
            env: BTreeMap::new(),
            cwd: None,
            restart: RestartPolicy::default(),
            max_restarts: default_max_restarts(),
            backoff: Backoff::default(),
            stable_after: default_stable_after(),
            stop_signal: default_stop_signal(),
            stop_timeout: default_stop_timeout(),
            autostart: true,
            health: None,
            depends_on: Vec::new(),
            logs: LogLimits::default(),
            limits: ResourceLimits::default(),
            watch: Vec::new(),
            watch_ignore: Vec::new(),
            cron_restart: None,
            success_exit_codes: Vec::new(),
            readiness: None,
            instances: 1,
        }
    }

    /// The compiled `watch` patterns, against the working directory `cwd` (the spec's,
    /// or the daemon's when it has none).
    pub fn watch_plan(&self, cwd: &std::path::Path) -> Result<watch::WatchPlan, SpecError> {
        let cwd = self.cwd.as_deref().unwrap_or(cwd);
        watch::WatchPlan::new(&self.watch, &self.watch_ignore, cwd)
    }

    /// Checks everything that can be checked without touching the system, so a spec that
    /// passes can only fail at spawn time (missing program or cwd).
    pub fn validate(&self) -> Result<(), SpecError> {
        replica::validate_spec_name(&self.name, self.instances)?;
        validate_exec(&self.command, &self.env, self.cwd.as_deref())?;
        if self.stop_timeout > MAX_STOP_TIMEOUT {
            let t = format_duration(self.stop_timeout);
            return Err(invalid(
                "stop_timeout",
                format!("{t} is over the limit of 1h"),
            ));
        }
        self.backoff.validate()?;
        limits::BACKOFF.check("backoff", "the base delay", self.backoff.base)?;
        limits::BACKOFF.check("backoff", "the maximum delay", self.backoff.max)?;
        limits::STABLE_AFTER.check("stable_after", "stable_after", self.stable_after)?;
        self.logs.validate()?;
        self.limits.validate()?;
        if !self.watch.is_empty() || !self.watch_ignore.is_empty() {
            self.watch_plan(std::path::Path::new("/"))?;
        }
        if let Some(expression) = &self.cron_restart {
            let now = crate::sys::unix_ms(std::time::SystemTime::now());
            crate::queue::When::Cron(expression.clone())
                .validate(now)
                .map_err(|e| match e {
                    SpecError::Invalid { reason, .. } => invalid("cron_restart", reason),
                    other => other,
                })?;
        }
        if let Some(health) = &self.health {
            health.validate()?;
        }
        if let Some(readiness) = &self.readiness {
            readiness
                .validate()
                .map_err(|e| invalid("readiness", field_reason(e)))?;
        }
        validate_exit_codes(&self.success_exit_codes)?;
        let mut seen = BTreeSet::new();
        for dep in &self.depends_on {
            validate_name(dep).map_err(|e| invalid("depends_on", e.to_string()))?;
            if *dep == self.name {
                return Err(invalid("depends_on", format!("'{dep}' depends on itself")));
            }
            if !seen.insert(dep) {
                return Err(invalid("depends_on", format!("'{dep}' is listed twice")));
            }
        }
        Ok(())
    }
}

/// Most entries of `success_exit_codes`.
pub const MAX_SUCCESS_EXIT_CODES: usize = 32;

fn validate_exit_codes(codes: &[i32]) -> Result<(), SpecError> {
    let field = "success_exit_codes";
    if codes.len() > MAX_SUCCESS_EXIT_CODES {
        return Err(invalid(
            field,
            format!("{} codes, at most {MAX_SUCCESS_EXIT_CODES}", codes.len()),
        ));
    }
    let mut seen = BTreeSet::new();
    for &code in codes {
        if !(0..=255).contains(&code) {
            return Err(invalid(
                field,
                format!("{code} is not an exit code (0-255)"),
            ));
        }
        if !seen.insert(code) {
            return Err(invalid(field, format!("{code} is listed twice")));
        }
    }
    Ok(())
}

/// The reason of an error, without the field it named (to re-blame another field).
fn field_reason(e: SpecError) -> String {
    match e {
        SpecError::Invalid { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn checked_entry(
    field: &'static str,
    what: impl FnOnce() -> String,
    len: usize,
) -> Result<usize, SpecError> {
    if len > MAX_ARG_BYTES {
        return Err(SpecError::TooLarge {
            field,
            what: what(),
            size: len,
            limit: MAX_ARG_BYTES,
        });
    }
    Ok(len + 1)
}

/// Size-based rotation of each captured stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLimits {
    /// Size in bytes at which a log file is rotated (default 10 MiB, at least 4 KiB).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Files kept per stream, the live one included (default 5, 1-100).
    #[serde(default = "default_max_files")]
    pub max_files: u32,
    /// Prefix each line with the time it was read (`2026-12-06T08:48:23.123Z `), added by
    /// the shim; lets `logs --since` filter and `logs` interleave stdout with stderr.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timestamps: bool,
}

fn default_max_bytes() -> u64 {
    10 * 1024 * 1024
}
fn default_max_files() -> u32 {
    5
}

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            max_bytes: default_max_bytes(),
            max_files: default_max_files(),
            timestamps: false,
        }
    }
}

impl LogLimits {
    /// Checks the limits are usable: at least 4 KiB per file and 1-100 files.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.max_bytes < MIN_LOG_BYTES {
            let got = self.max_bytes;
            return Err(invalid(
                "logs",
                format!("max_bytes {got} is below 4096 (4KiB)"),
            ));
        }
        if !(1..=MAX_LOG_FILES).contains(&self.max_files) {
            let got = self.max_files;
            return Err(invalid("logs", format!("max_files {got} must be 1-100")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
