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
use std::fmt;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{ErrorKind, Signal};

pub use super::state::{Backoff, RestartPolicy};

/// Longest process name, so names fit in file names, tables and log paths.
pub const MAX_NAME_LEN: usize = 64;
/// Longest single argument or `KEY=VALUE` entry in bytes, below Linux's `MAX_ARG_STRLEN`
/// (128 KiB including the terminating NUL), so `execve` never fails with `E2BIG`.
pub const MAX_ARG_BYTES: usize = 128 * 1024 - 1;
/// Largest argv plus environment in bytes (each entry counted with its NUL), well below the
/// usual `ARG_MAX` of 2 MiB so a spec that validates can always be executed.
pub const MAX_EXEC_BYTES: usize = 1024 * 1024;
/// Longest stop timeout: beyond an hour a stop is indistinguishable from a hang.
pub const MAX_STOP_TIMEOUT: Duration = Duration::from_secs(3600);
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
        }
    }

    /// Checks everything that can be checked without touching the system, so a spec that
    /// passes can only fail at spawn time (missing program or cwd).
    pub fn validate(&self) -> Result<(), SpecError> {
        validate_name(&self.name)?;
        if self.command.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(SpecError::EmptyCommand);
        }
        let mut total = 0;
        for (i, arg) in self.command.iter().enumerate() {
            if arg.contains('\0') {
                return Err(invalid(
                    "command",
                    format!("argument {i} contains a NUL byte"),
                ));
            }
            total += checked_entry("command", || format!("command argument {i}"), arg.len())?;
        }
        for (key, value) in &self.env {
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
        if let Some(cwd) = &self.cwd {
            let bytes = cwd.as_os_str().as_bytes();
            if bytes.is_empty() || bytes.contains(&0) {
                return Err(invalid("cwd", "must be a non-empty path without NUL bytes"));
            }
        }
        if self.stop_timeout > MAX_STOP_TIMEOUT {
            let t = format_duration(self.stop_timeout);
            return Err(invalid(
                "stop_timeout",
                format!("{t} is over the limit of 1h"),
            ));
        }
        self.backoff.validate()?;
        self.logs.validate()?;
        if let Some(health) = &self.health {
            health.validate()?;
        }
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

/// How the daemon decides a running process still works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// What to try.
    pub probe: Probe,
    /// Time between checks (default 5 s).
    #[serde(default = "default_interval", with = "duration_ms")]
    pub interval: Duration,
    /// How long one check may take before it counts as failed (default 2 s).
    #[serde(default = "default_timeout", with = "duration_ms")]
    pub timeout: Duration,
    /// Failures in a row that make the process unhealthy (default 3).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Grace time after start before the first check (default 0).
    #[serde(default, with = "duration_ms")]
    pub start_period: Duration,
}

fn default_interval() -> Duration {
    Duration::from_secs(5)
}
fn default_timeout() -> Duration {
    Duration::from_secs(2)
}
fn default_retries() -> u32 {
    3
}

impl HealthCheck {
    /// A check with the default timing (every 5 s, 2 s timeout, 3 retries, no start period).
    pub fn new(probe: Probe) -> Self {
        Self {
            probe,
            interval: default_interval(),
            timeout: default_timeout(),
            retries: default_retries(),
            start_period: Duration::ZERO,
        }
    }

    /// Checks the probe and that the timing can work (non-zero interval and timeout, at
    /// least one retry).
    pub fn validate(&self) -> Result<(), SpecError> {
        self.probe.validate()?;
        if self.interval.is_zero() || self.timeout.is_zero() {
            return Err(invalid(
                "health",
                "interval and timeout must be greater than zero",
            ));
        }
        if self.retries == 0 {
            return Err(invalid(
                "health",
                "retries must be at least 1 (failures in a row that make it unhealthy)",
            ));
        }
        Ok(())
    }
}

/// One health probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    /// A shell command (`sh -c`) that must exit 0.
    Command(String),
    /// A TCP connection that must be accepted.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// Port, 1-65535.
        port: u16,
    },
    /// An HTTP GET that must answer 2xx or 3xx.
    Http {
        /// An `http://` URL (no TLS).
        url: String,
    },
}

impl Probe {
    /// Parses a TCP target `HOST:PORT` (`[::1]:80` for IPv6), as procward.toml and the CLI
    /// spell it.
    pub fn parse_tcp(target: &str) -> Result<Probe, SpecError> {
        let bad = |why: &str| invalid("health", format!("tcp {target:?}: {why}; use HOST:PORT"));
        let (host, port) = target
            .trim()
            .rsplit_once(':')
            .ok_or_else(|| bad("no port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port.parse().map_err(|_| bad("port must be 1-65535"))?;
        let probe = Probe::Tcp {
            host: host.to_owned(),
            port,
        };
        probe.validate().map(|()| probe)
    }

    /// Checks the probe can be run: a non-empty command, a host with a port 1-65535, or an
    /// `http://` URL with a host.
    pub fn validate(&self) -> Result<(), SpecError> {
        match self {
            Probe::Command(cmd) if cmd.trim().is_empty() || cmd.contains('\0') => Err(invalid(
                "health",
                "the command is empty or contains a NUL byte",
            )),
            Probe::Tcp { host, port } => {
                if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '\0') {
                    return Err(invalid(
                        "health",
                        format!("tcp host {host:?} is not a host"),
                    ));
                }
                if *port == 0 {
                    return Err(invalid("health", "tcp port must be 1-65535"));
                }
                Ok(())
            }
            Probe::Http { url } => validate_http_url(url),
            Probe::Command(_) => Ok(()),
        }
    }
}

fn validate_http_url(url: &str) -> Result<(), SpecError> {
    let bad = |why: &str| invalid("health", format!("http URL {url:?}: {why}"));
    let Some(scheme_end) = url.find("://") else {
        return Err(bad("use a URL such as http://127.0.0.1:8000/health"));
    };
    if !url[..scheme_end].eq_ignore_ascii_case("http") {
        return Err(bad("only http:// URLs are supported (no TLS)"));
    }
    if url.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace or control characters"));
    }
    let rest = &url[scheme_end + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => (h, Some(p)),
        _ => (host_port, None),
    };
    if host.trim_matches(['[', ']']).is_empty() {
        return Err(bad("no host"));
    }
    match port.map(str::parse::<u16>) {
        Some(Ok(0) | Err(_)) => Err(bad("port must be 1-65535")),
        _ => Ok(()),
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Command(cmd) => write!(f, "command `{cmd}`"),
            Probe::Tcp { host, port } if host.contains(':') => write!(f, "tcp [{host}]:{port}"),
            Probe::Tcp { host, port } => write!(f, "tcp {host}:{port}"),
            Probe::Http { url } => write!(f, "http {url}"),
        }
    }
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

/// Checks a process name: 1-64 ASCII letters, digits, `.`, `_` or `-`, not starting with
/// `.` or `-`, never containing `..`. Names become file names, so anything that could
/// escape a folder or confuse a shell is refused with the reason.
pub fn validate_name(name: &str) -> Result<(), SpecError> {
    let reason = if name.is_empty() {
        "it is empty".to_owned()
    } else if name.contains('\0') {
        "it contains a NUL byte".to_owned()
    } else if name.contains('/') {
        "it contains '/'".to_owned()
    } else if name.contains("..") {
        "it contains '..'".to_owned()
    } else if let Some(c) = name.chars().find(|c| c.is_whitespace()) {
        format!("it contains whitespace ({c:?})")
    } else if name.chars().count() > MAX_NAME_LEN {
        format!("it is {} characters long", name.chars().count())
    } else if let Some(c) = name.chars().find(|c| !is_name_char(*c)) {
        format!("it contains {c:?}")
    } else if name.starts_with(['.', '-']) {
        format!("it starts with '{}'", &name[..1])
    } else {
        return Ok(());
    };
    let shown: String = name.chars().take(80).collect();
    Err(SpecError::InvalidName {
        name: shown,
        reason,
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Characters that make a command string shell syntax rather than plain words.
const SHELL_CHARS: &[char] = &[
    '|', '&', ';', '<', '>', '$', '`', '(', ')', '*', '?', '[', ']', '~', '{', '}', '\n',
];
/// First words that only a shell understands.
const SHELL_WORDS: &[&str] = &[
    "cd", "exec", "export", "eval", ".", "source", "set", "unset", "ulimit", "umask", "trap", "if",
    "for", "while", "until", "case", "wait",
];

/// Turns one command string into argv: plain words are split like a shell would (quotes
/// honoured) and run directly; anything using shell syntax (pipes, redirections, `$VAR`,
/// globs, `;`, `&&`, `VAR=x cmd`, builtins such as `cd`) runs as `/bin/sh -c STRING`.
pub fn command_from_string(s: &str) -> Result<Vec<String>, SpecError> {
    if s.trim().is_empty() {
        return Err(SpecError::EmptyCommand);
    }
    if s.contains('\0') {
        return Err(invalid("command", "contains a NUL byte"));
    }
    let shell = || Ok(vec!["/bin/sh".to_owned(), "-c".to_owned(), s.to_owned()]);
    if s.contains(SHELL_CHARS) {
        return shell();
    }
    match shlex::split(s) {
        None => shell(),
        Some(words) if words.is_empty() => Err(SpecError::EmptyCommand),
        Some(words) if SHELL_WORDS.contains(&words[0].as_str()) || is_assignment(&words[0]) => {
            shell()
        }
        Some(words) => Ok(words),
    }
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(key, _)| {
        key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Parses `--max-restarts`: a count, or `unlimited` (`None`).
pub fn parse_max_restarts(s: &str) -> Result<Option<u32>, SpecError> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| {
        invalid(
            "max_restarts",
            format!("{s:?}: use a count 0-4294967295 or \"unlimited\""),
        )
    })
}

/// Parses one `--env KEY=VALUE` (the value may be empty and may contain `=`).
pub fn parse_env_pair(s: &str) -> Result<(String, String), SpecError> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| invalid("env", format!("{s:?}: expected KEY=VALUE")))?;
    if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c == '\0') {
        return Err(invalid(
            "env",
            format!("{s:?}: the name before '=' must be non-empty without whitespace"),
        ));
    }
    if value.contains('\0') {
        return Err(invalid(
            "env",
            format!("value of {key} contains a NUL byte"),
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Parses an `--env-file` / `env_file`: `KEY=VALUE` lines, `#` comments, blank lines, an
/// optional `export ` prefix, `'single'` (literal) or `"double"` quoted values (with `\n`,
/// `\t`, `\r`, `\"`, `\\` and `\$` escapes), and ` # comments` after unquoted values. A later
/// line overrides an earlier one. Errors name the 1-based line.
pub fn parse_env_file(text: &str) -> Result<BTreeMap<String, String>, SpecError> {
    let mut vars = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason: String| SpecError::EnvFile {
            line: i + 1,
            reason,
        };
        let line = line
            .strip_prefix("export")
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map_or(line, str::trim_start);
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| err("expected KEY=VALUE".into()))?;
        let key = key.trim_end();
        if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c == '\0') {
            return Err(err(format!(
                "name {key:?} must be non-empty without whitespace"
            )));
        }
        let value = env_value(value.trim_start()).map_err(err)?;
        if value.contains('\0') {
            return Err(err(format!("value of {key} contains a NUL byte")));
        }
        vars.insert(key.to_owned(), value);
    }
    Ok(vars)
}

fn env_value(raw: &str) -> Result<String, String> {
    let (value, rest) = if let Some(body) = raw.strip_prefix('\'') {
        let end = body.find('\'').ok_or("unterminated single quote")?;
        (body[..end].to_owned(), &body[end + 1..])
    } else if let Some(body) = raw.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        loop {
            match chars.next().ok_or("unterminated double quote")? {
                (end, '"') => break (out, &body[end + 1..]),
                (_, '\\') => match chars.next().ok_or("unterminated double quote")?.1 {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    c @ ('"' | '\\' | '$') => out.push(c),
                    c => out.extend(['\\', c]),
                },
                (_, c) => out.push(c),
            }
        }
    } else {
        let end = raw
            .find(" #")
            .or_else(|| raw.find("\t#"))
            .unwrap_or(raw.len());
        return Ok(raw[..end].trim_end().to_owned());
    };
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(value)
    } else {
        Err(format!("unexpected text {rest:?} after the closing quote"))
    }
}

/// Parses a humane duration: a number with a unit (`ms`, `s`, `m`, `h`, `d`), decimals and
/// sums allowed (`500ms`, `1.5s`, `1m30s`); a bare number is seconds. Negative, empty and
/// overflowing values are refused.
pub fn parse_duration(input: &str) -> Result<Duration, SpecError> {
    parse_duration_reason(input).map_err(|reason| invalid("duration", reason))
}

pub(crate) fn parse_duration_reason(input: &str) -> Result<Duration, String> {
    let bad = |why: String| {
        format!("{input:?}: {why}; use a number with a unit such as 500ms, 10s, 1.5m, 2h or 1m30s")
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if s.starts_with('-') {
        return Err(bad("negative durations are not allowed".into()));
    }
    let mut rest = s;
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'));
        let (num, tail) = rest.split_at(n.unwrap_or(rest.len()));
        let tail = tail.trim_start();
        let u = tail.find(|c: char| !c.is_ascii_alphabetic());
        let (unit, tail) = tail.split_at(u.unwrap_or(tail.len()));
        let scale: u128 = match unit {
            "" if num.len() == s.len() => 1_000_000_000,
            "" if num.is_empty() => return Err(bad(format!("unexpected {:?}", &tail[..1]))),
            "" => return Err(bad(format!("missing unit after {num}"))),
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            _ => return Err(bad(format!("unknown unit {unit:?}"))),
        };
        let part = decimal_times(num, scale).ok_or_else(|| bad(format!("bad number {num:?}")))?;
        nanos = nanos
            .checked_add(part)
            .ok_or_else(|| bad("too large".into()))?;
        rest = tail.trim_start();
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| bad("too large".into()))?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// `num` (digits, optionally with a fraction) times `scale`, or `None` if malformed.
fn decimal_times(num: &str, scale: u128) -> Option<u128> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac = &frac[..frac.len().min(12)];
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let frac_part = frac_value * scale / 10u128.pow(frac.len() as u32);
    int.checked_mul(scale)?.checked_add(frac_part)
}

/// Formats a duration the way [`parse_duration`] reads it: `500ms`, `1500ms`, `10s`,
/// `1m30s`, `2h`, `1d` (sub-millisecond parts are dropped).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    let (mut secs, rem) = (ms / 1000, ms % 1000);
    if rem > 0 || secs == 0 {
        return format!("{ms}{}", if ms == 0 { "s" } else { "ms" });
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Parses a size: bytes as a bare number, or with a unit in the GNU coreutils convention:
/// `K`, `M`, `G`, `T` and `KiB`, `MiB`, `GiB`, `TiB` are powers of 1024; `KB`, `MB`,
/// `GB`, `TB` powers of 1000 (`B` is bytes; case-insensitive; decimals allowed).
pub fn parse_size(input: &str) -> Result<u64, SpecError> {
    let s = input.trim();
    let bad = |why: &str| {
        invalid(
            "size",
            format!("{input:?}: {why}; use bytes or a unit such as 512KiB, 10MB or 1G"),
        )
    };
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'));
    let (num, unit) = s.split_at(split.unwrap_or(s.len()));
    let unit = unit.trim();
    let scale: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ if s.starts_with('-') => return Err(bad("negative sizes are not allowed")),
        _ => return Err(bad(&format!("unknown unit {unit:?}"))),
    };
    let bytes = decimal_times(num, scale).ok_or_else(|| bad("not a number"))?;
    u64::try_from(bytes).map_err(|_| bad("too large"))
}

/// Serde helpers writing a [`Duration`] as whole milliseconds and reading milliseconds or
/// a humane string (`"10s"`), so stored specs stay exact and hand-written JSON readable.
pub mod duration_ms {
    use std::fmt;
    use std::time::Duration;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    /// Writes whole milliseconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Reads milliseconds (an integer) or a humane string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(Millis)
    }

    struct Millis;

    impl Visitor<'_> for Millis {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("milliseconds or a duration such as \"10s\"")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_millis(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_millis)
                .map_err(|_| E::custom("negative durations are not allowed"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            super::parse_duration_reason(v).map_err(E::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn valid() -> ProcessSpec {
        ProcessSpec::new("web", argv(&["python3", "-m", "http.server"]))
    }

    fn reason(spec: &ProcessSpec) -> String {
        spec.validate().unwrap_err().to_string()
    }

    #[test]
    fn names() {
        for good in ["web", "a", "My_app-1.2", "x.y", "_x", &"n".repeat(64)] {
            validate_name(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for (bad, why) in [
            ("", "it is empty"),
            ("a/b", "'/'"),
            ("/", "'/'"),
            ("..", "'..'"),
            ("a..b", "'..'"),
            ("my app", "whitespace"),
            ("tab\there", "whitespace"),
            ("nul\0", "NUL"),
            (&"n".repeat(65), "65 characters long"),
            (".hidden", "starts with '.'"),
            ("-rf", "starts with '-'"),
            ("café", "'é'"),
            ("a:b", "':'"),
        ] {
            let e = validate_name(bad).unwrap_err();
            assert_eq!(e.field(), "name");
            let text = e.to_string();
            assert!(
                text.contains(why) && text.contains("names are 1-64"),
                "{bad:?}: {text}"
            );
        }
        let e = validate_name(&"a b".repeat(100)).unwrap_err().to_string();
        assert!(e.len() < 300, "long names are shortened: {e}");
    }

    #[test]
    fn command_strings() {
        assert_eq!(command_from_string("sleep 10").unwrap(), ["sleep", "10"]);
        let quoted = command_from_string(r#"echo 'a b' "c \" d" e\ f"#).unwrap();
        assert_eq!(quoted, ["echo", "a b", "c \" d", "e f"]);
        assert_eq!(command_from_string("  ls  # comment").unwrap(), ["ls"]);
        for shell in [
            "a | b",
            "a && b",
            "a; b",
            "a < f",
            "a > f",
            "echo $HOME",
            "echo `id`",
            "(a)",
            "ls *.rs",
            "ls ?",
            "ls [ab]",
            "cd ~",
            "{ a; }",
            "a\nb",
            "echo 'open",
            "FOO=1 cmd",
            "cd /tmp",
            "exec x",
            "export A=1",
        ] {
            assert_eq!(
                command_from_string(shell).unwrap(),
                ["/bin/sh", "-c", shell],
                "{shell}"
            );
        }
        for empty in ["", "   ", "\t\n", "# only a comment"] {
            assert_eq!(
                command_from_string(empty).unwrap_err(),
                SpecError::EmptyCommand
            );
        }
        assert!(
            command_from_string("a\0b")
                .unwrap_err()
                .to_string()
                .contains("NUL")
        );
    }

    #[test]
    fn defaults() {
        let spec = valid();
        spec.validate().unwrap();
        assert_eq!(spec.restart, RestartPolicy::Always);
        assert_eq!(spec.max_restarts, Some(10));
        assert_eq!(spec.backoff.to_string(), "1s:1m");
        assert_eq!(spec.stable_after, Duration::from_secs(10));
        assert_eq!(spec.stop_signal, Signal::TERM);
        assert_eq!(spec.stop_timeout, Duration::from_secs(5));
        assert!(spec.autostart);
        assert_eq!(
            spec.logs,
            LogLimits {
                max_bytes: 10 << 20,
                max_files: 5
            }
        );
        let check = HealthCheck::new(Probe::Command("true".into()));
        assert_eq!(
            (check.interval, check.timeout, check.retries),
            (Duration::from_secs(5), Duration::from_secs(2), 3)
        );
        assert_eq!(check.start_period, Duration::ZERO);
    }

    #[test]
    fn validation_rejects_bad_specs() {
        type Change = Box<dyn Fn(&mut ProcessSpec)>;
        let cases: Vec<(&str, Change)> = vec![
            ("names are", Box::new(|s| s.name = "a/b".into())),
            ("empty command", Box::new(|s| s.command.clear())),
            ("empty command", Box::new(|s| s.command[0] = " ".into())),
            (
                "argument 1 contains a NUL",
                Box::new(|s| s.command[1] = "a\0".into()),
            ),
            (
                "command argument 2 is 131072 bytes",
                Box::new(|s| s.command[2] = "x".repeat(128 * 1024)),
            ),
            (
                "together",
                Box::new(|s| s.command.extend((0..10).map(|_| "x".repeat(120_000)))),
            ),
            (
                "environment variable BIG",
                Box::new(|s| {
                    s.env.insert("BIG".into(), "x".repeat(200_000));
                }),
            ),
            (
                "together",
                Box::new(|s| {
                    s.env
                        .extend((0..10).map(|i| (format!("V{i}"), "x".repeat(120_000))))
                }),
            ),
            (
                "non-empty without '='",
                Box::new(|s| {
                    s.env.insert(String::new(), "x".into());
                }),
            ),
            (
                "non-empty without '='",
                Box::new(|s| {
                    s.env.insert("A=B".into(), "x".into());
                }),
            ),
            (
                "value of A contains a NUL",
                Box::new(|s| {
                    s.env.insert("A".into(), "\0".into());
                }),
            ),
            (
                "invalid cwd",
                Box::new(|s| s.cwd = Some(PathBuf::from("a\0b"))),
            ),
            ("invalid cwd", Box::new(|s| s.cwd = Some(PathBuf::new()))),
            (
                "over the limit of 1h",
                Box::new(|s| s.stop_timeout = Duration::from_secs(3601)),
            ),
            (
                "greater than zero",
                Box::new(|s| s.backoff.base = Duration::ZERO),
            ),
            ("below 4096", Box::new(|s| s.logs.max_bytes = 4095)),
            ("max_files 0", Box::new(|s| s.logs.max_files = 0)),
            ("max_files 101", Box::new(|s| s.logs.max_files = 101)),
            (
                "depends on itself",
                Box::new(|s| s.depends_on = argv(&["web"])),
            ),
            (
                "listed twice",
                Box::new(|s| s.depends_on = argv(&["db", "db"])),
            ),
            (
                "invalid depends_on",
                Box::new(|s| s.depends_on = argv(&[".."])),
            ),
            (
                "only http://",
                Box::new(|s| {
                    s.health = Some(HealthCheck::new(Probe::Http {
                        url: "ftp://x".into(),
                    }))
                }),
            ),
        ];
        for (why, change) in cases {
            let mut spec = valid();
            change(&mut spec);
            let text = reason(&spec);
            assert!(text.contains(why), "{why}: {text}");
        }
        let mut spec = valid();
        spec.command[1] = "x".repeat(MAX_ARG_BYTES);
        spec.stop_timeout = MAX_STOP_TIMEOUT;
        spec.cwd = Some("/does/not/exist".into());
        spec.command[0] = "/no/such/program".into();
        spec.validate().unwrap();
    }

    #[test]
    fn probes() {
        assert_eq!(
            Probe::parse_tcp("localhost:80").unwrap(),
            Probe::Tcp {
                host: "localhost".into(),
                port: 80
            }
        );
        assert_eq!(
            Probe::parse_tcp("[::1]:80").unwrap().to_string(),
            "tcp [::1]:80"
        );
        for bad in ["", "x", ":80", "x:0", "x:65536", "x:-1", "x y:1"] {
            assert!(Probe::parse_tcp(bad).is_err(), "{bad}");
        }
        for good in [
            "http://127.0.0.1:8000/",
            "http://x",
            "HTTP://h/p?q#f",
            "http://u@h:1/",
            "http://[::1]:80/",
        ] {
            Probe::Http { url: good.into() }
                .validate()
                .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "https://x/",
            "127.0.0.1:80",
            "http://",
            "http://:80/",
            "http://h:0/",
            "http://h:99999/",
            "http://h /",
        ] {
            assert!(Probe::Http { url: bad.into() }.validate().is_err(), "{bad}");
        }
        assert!(Probe::Command(" ".into()).validate().is_err());
    }

    #[test]
    fn serde_writes_milliseconds_and_reads_defaults() {
        let mut spec = valid();
        spec.health = Some(HealthCheck::new(Probe::Tcp {
            host: "h".into(),
            port: 1,
        }));
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["stop_timeout"], 5000);
        assert_eq!(json["backoff"]["max"], 60000);
        assert_eq!(json["stop_signal"], "SIGTERM");
        assert_eq!(json["restart"], "always");
        assert_eq!(json["health"]["probe"]["tcp"]["port"], 1);
        assert_eq!(serde_json::from_value::<ProcessSpec>(json).unwrap(), spec);
        let minimal: ProcessSpec = serde_json::from_str(
            r#"{"name":"web","command":["python3","-m","http.server"],"stop_timeout":"1m","max_restarts":null}"#,
        )
        .unwrap();
        assert_eq!(minimal.stop_timeout, Duration::from_secs(60));
        assert_eq!(minimal.max_restarts, None);
        assert_eq!(minimal.logs, LogLimits::default());
        assert!(
            serde_json::from_str::<ProcessSpec>(
                r#"{"name":"a","command":["x"],"stop_timeout":-1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn env_files() {
        let text = "# comment\n\nA=1\nexport B = two words # note\nC='single $x # kept'\n\
                    D=\"line\\nnext \\\"q\\\" \\\\ \\$\" # c\nE=\nF=a=b\nURL=http://x/#frag\r\nA=again\n\
                    export=plain\n  G = ' padded ' \n";
        let vars = parse_env_file(text).unwrap();
        assert_eq!(vars["A"], "again");
        assert_eq!(vars["B"], "two words");
        assert_eq!(vars["C"], "single $x # kept");
        assert_eq!(vars["D"], "line\nnext \"q\" \\ $");
        assert_eq!(vars["E"], "");
        assert_eq!(vars["F"], "a=b");
        assert_eq!(vars["URL"], "http://x/#frag");
        assert_eq!(vars["export"], "plain");
        assert_eq!(vars["G"], " padded ");
        for (bad, line, why) in [
            ("A=1\nnot a pair\n", 2, "expected KEY=VALUE"),
            ("=x\n", 1, "non-empty"),
            ("A=1\n\n\nB=\"open\n", 4, "unterminated double quote"),
            ("B='open\n", 1, "unterminated single quote"),
            ("B='x' y\n", 1, "after the closing quote"),
            ("MY KEY=1\n", 1, "without whitespace"),
            ("A=\0\n", 1, "NUL"),
        ] {
            let e = parse_env_file(bad).unwrap_err();
            assert!(
                matches!(e, SpecError::EnvFile { line: l, .. } if l == line),
                "{bad:?}: {e:?}"
            );
            assert!(
                e.to_string().starts_with(&format!("line {line}: ")) && e.to_string().contains(why),
                "{e}"
            );
        }
    }

    #[test]
    fn env_pairs() {
        assert_eq!(parse_env_pair("K=V").unwrap(), ("K".into(), "V".into()));
        assert_eq!(parse_env_pair("K=a=b").unwrap(), ("K".into(), "a=b".into()));
        assert_eq!(parse_env_pair("K=").unwrap(), ("K".into(), String::new()));
        for bad in ["K", "=V", "", " K=V", "K\0=V", "K=\0"] {
            assert!(parse_env_pair(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        for (text, ms) in [
            ("500ms", 500),
            ("1s", 1000),
            ("2", 2000),
            ("1.5", 1500),
            ("1.5s", 1500),
            ("1m", 60_000),
            ("1m30s", 90_000),
            ("1m 30s", 90_000),
            ("1h", 3_600_000),
            ("1d", 86_400_000),
            (" 10 s ", 10_000),
            ("0", 0),
            (".5s", 500),
            ("0.001s", 1),
        ] {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_millis(ms),
                "{text}"
            );
        }
        for bad in [
            "",
            " ",
            "-1s",
            "-1",
            "s",
            "1x",
            "1S",
            "abc",
            "1..2s",
            ".s",
            "1s-",
            "99999999999999999999999d",
            "1e3",
        ] {
            let e = parse_duration(bad).unwrap_err().to_string();
            assert!(e.contains("500ms"), "{bad:?}: {e}");
        }
        for ms in [0, 1, 500, 1000, 1500, 60_000, 90_000, 3_600_000, 90_061_000] {
            let d = Duration::from_millis(ms);
            assert_eq!(
                parse_duration(&format_duration(d)).unwrap(),
                d,
                "{}",
                format_duration(d)
            );
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn sizes() {
        for (text, bytes) in [
            ("4096", 4096),
            ("10MB", 10_000_000),
            ("10MiB", 10 << 20),
            ("10M", 10 << 20),
            ("512KiB", 512 << 10),
            ("512kb", 512_000),
            ("1G", 1 << 30),
            ("1.5K", 1536),
            ("7 B", 7),
        ] {
            assert_eq!(parse_size(text).unwrap(), bytes, "{text}");
        }
        for bad in ["", "-1", "10XB", "MB", "1.2.3M", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_max_restarts("unlimited").unwrap(), None);
        assert_eq!(parse_max_restarts(" 5 ").unwrap(), Some(5));
        assert!(parse_max_restarts("-1").is_err() && parse_max_restarts("many").is_err());
    }
}
