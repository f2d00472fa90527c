//! The payloads of the streaming events, parsed and checked before anything happens:
//! a malformed or out-of-range payload is refused here with a message naming the field,
//! and changes nothing. Pure functions, so the property tests can throw anything at them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use procward_core::supervisor::spec::{HealthCheck, Probe, SpecError};
use serde::Deserialize;
use serde_json::Value;

use super::parse;
use crate::engine::session::SessionSpec;

/// Most bytes one `terminal:input` may carry.
const MAX_INPUT: usize = 64 * 1024;
/// Longest command or argument accepted.
const MAX_TEXT: usize = 16 * 1024;

fn text_ok(field: &str, text: &str) -> Result<(), String> {
    if text.len() > MAX_TEXT {
        return Err(format!(
            "{field} is {} bytes; at most {MAX_TEXT}",
            text.len()
        ));
    }
    Ok(())
}

/// The `limits` object of `managed:start` and `queue:add`: the CLI's words and units
/// (`{"memoryMax": "64M", "cpuMax": "150%", "pidsMax": 20, "onBreach": "stop",
/// "bestEffort": true}`), parsed by core's one parser.
#[derive(Debug, Deserialize, Default, Clone, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitArgs {
    memory_max: Option<String>,
    memory_high: Option<String>,
    cpu_max: Option<String>,
    pids_max: Option<u32>,
    on_breach: Option<String>,
    #[serde(default)]
    best_effort: bool,
}

impl LimitArgs {
    /// The limits, or the field and why they are refused.
    pub fn parse(&self) -> Result<procward_core::resources::ResourceLimits, String> {
        procward_core::resources::LimitInputs {
            memory_max: self.memory_max.clone(),
            memory_high: self.memory_high.clone(),
            cpu_max: self.cpu_max.clone(),
            pids_max: None,
            on_breach: self.on_breach.clone(),
            best_effort: self.best_effort,
        }
        .pids(self.pids_max)
        .parse()
        .map_err(|e| format!("limits: {e}"))
    }
}

/// A health or readiness check of `managed:start`: exactly one probe (`command`, `tcp`
/// as `HOST:PORT`, or `http` as a URL) and optional timing in milliseconds; ranges are
/// the daemon's to check with the rest of the spec.
#[derive(Debug, Deserialize, Default, Clone, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbeArgs {
    command: Option<String>,
    tcp: Option<String>,
    http: Option<String>,
    interval_ms: Option<u64>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
    start_period_ms: Option<u64>,
}

impl ProbeArgs {
    /// The check, or why its shape is refused, the message starting with `field`.
    pub fn parse(&self, field: &str) -> Result<HealthCheck, String> {
        let probe = match (&self.command, &self.tcp, &self.http) {
            (Some(command), None, None) => Probe::Command(command.clone()),
            (None, Some(target), None) => Probe::parse_tcp(target).map_err(|e| match e {
                SpecError::Invalid { reason, .. } => format!("{field}: {reason}"),
                other => format!("{field}: {other}"),
            })?,
            (None, None, Some(url)) => Probe::Http { url: url.clone() },
            _ => {
                return Err(format!(
                    "{field}: give exactly one probe: command, tcp (HOST:PORT) or http (a URL)"
                ));
            }
        };
        let mut check = HealthCheck::new(probe);
        let ms = std::time::Duration::from_millis;
        if let Some(interval) = self.interval_ms {
            check.interval = ms(interval);
        }
        if let Some(timeout) = self.timeout_ms {
            check.timeout = ms(timeout);
        }
        if let Some(retries) = self.retries {
            check.retries = retries;
        }
        if let Some(start_period) = self.start_period_ms {
            check.start_period = ms(start_period);
        }
        Ok(check)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    command: String,
    #[serde(default)]
    args: Vec<String>,
    cwd: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    interactive: bool,
    cols: Option<u16>,
    rows: Option<u16>,
    #[serde(default)]
    detached: bool,
}

/// A `session:create` payload as a session to start, and whether it is detached.
pub(super) fn create_args(payload: Value) -> Result<(SessionSpec, bool), String> {
    let create: Create = parse(payload)?;
    text_ok("command", &create.command)?;
    for arg in &create.args {
        text_ok("an argument", arg)?;
    }
    let cwd = match create.cwd.filter(|c| !c.is_empty()) {
        Some(dir) if !std::path::Path::new(&dir).is_dir() => {
            return Err(format!("cwd '{dir}' is not an existing directory"));
        }
        other => other.map(PathBuf::from),
    };
    let spec = SessionSpec {
        command: create.command,
        args: create.args,
        cwd,
        env: create.env,
        interactive: create.interactive,
        cols: create.cols.unwrap_or(80),
        rows: create.rows.unwrap_or(24),
    };
    Ok((spec, create.detached))
}

/// A payload naming a session: `{sessionId}`.
#[derive(Deserialize)]
struct SessionRef {
    #[serde(rename = "sessionId")]
    session_id: String,
}

#[derive(Deserialize)]
struct Execute {
    command: String,
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

/// A `command:execute` payload: the command, and the session to type it into.
pub(super) fn execute_args(payload: Value) -> Result<(String, Option<String>), String> {
    let Execute {
        command,
        session_id,
    } = parse(payload)?;
    text_ok("command", &command)?;
    if command.trim().is_empty() {
        return Err("command is empty".into());
    }
    Ok((command, session_id))
}

#[derive(Deserialize)]
struct Input {
    #[serde(rename = "sessionId")]
    session_id: String,
    data: String,
}

/// A `terminal:input` payload: the session, and the bytes to type.
pub(super) fn input_args(payload: Value) -> Result<(String, String), String> {
    let Input { session_id, data } = parse(payload)?;
    if data.len() > MAX_INPUT {
        return Err(format!(
            "input is {} bytes; at most {MAX_INPUT} per event",
            data.len()
        ));
    }
    Ok((session_id, data))
}

#[derive(Deserialize)]
struct Resize {
    #[serde(rename = "sessionId")]
    session_id: String,
    cols: u64,
    rows: u64,
}

/// A `terminal:resize` payload: the session, columns and rows.
pub(super) fn resize_args(payload: Value) -> Result<(String, u16, u16), String> {
    let Resize {
        session_id,
        cols,
        rows,
    } = parse(payload)?;
    match (u16::try_from(cols), u16::try_from(rows)) {
        (Ok(c @ 1..=1000), Ok(r @ 1..=1000)) => Ok((session_id, c, r)),
        _ => Err(format!(
            "terminal size must be 1-1000 columns and rows (got {cols}x{rows})"
        )),
    }
}

#[derive(Deserialize)]
struct LogsJoin {
    name: String,
    lines: Option<u32>,
}

/// A `logs:join` payload: the managed name, and how many past lines to send first.
pub(super) fn logs_args(payload: Value) -> Result<(String, u32), String> {
    let LogsJoin { name, lines } = parse(payload)?;
    let lines = lines.unwrap_or(100);
    if lines > 10_000 {
        return Err(format!("lines must be at most 10000 (got {lines})"));
    }
    Ok((name, lines))
}

#[derive(Deserialize)]
struct MetricsSubscribe {
    interval: Option<f64>,
}

/// A `metrics:subscribe` payload: the interval in seconds.
pub(super) fn metrics_args(payload: Value) -> Result<f64, String> {
    let MetricsSubscribe { interval } = parse(payload)?;
    let interval = interval.unwrap_or(1.0);
    if !interval.is_finite() || !(0.2..=60.0).contains(&interval) {
        return Err(format!(
            "interval must be between 0.2 and 60 seconds (got {interval})"
        ));
    }
    Ok(interval)
}

/// A payload naming a session (`{sessionId}`): its id.
pub(super) fn session_ref(payload: Value) -> Result<String, String> {
    let SessionRef { session_id } = parse(payload)?;
    Ok(session_id)
}
