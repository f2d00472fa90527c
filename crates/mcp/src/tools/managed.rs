//! Tools for managed processes: list, status, logs, start, stop, restart, reload, scale.

use procward_core::supervisor::spec::{
    HealthCheck, Probe, ProcessSpec, RestartPolicy, command_from_string, replica,
};
use procward_proto::convert::spec_to_proto;
use procward_proto::v1;
use serde_json::{Value, json};

use super::{Answer, Outcome, ToolError};
use procward_core::resources::ResourceLimits;

use crate::args::{CommandLine, LogsArgs, NameArgs, NoArgs, ScaleArgs, StartArgs};
use crate::summary::{STDERR_TAG, bytes, cap_lines};
use procward_proto::client::Backend;

/// Default and most lines `get_process_logs` returns.
const DEFAULT_LINES: u32 = 50;
const MAX_LINES: u32 = 500;
/// Most bytes of log text in one answer, its header included.
pub const MAX_LOG_BYTES: usize = 16 * 1024;
/// Room kept for the answer's header line within [`MAX_LOG_BYTES`].
pub const HEADER_ROOM: usize = 512;

const UNKNOWN_HINT: &str = "Call list_processes to see the managed names";

/// A managed process as compact data.
pub fn view(p: &v1::ManagedProcess) -> Value {
    json!({
        "name": p.name,
        "state": p.state().wire_name(),
        "pid": (p.pid != 0).then_some(p.pid),
        "start_time": (p.start_time != 0).then_some(p.start_time),
        "restarts": p.restarts,
        "uptime_seconds": p.uptime_ms / 1000,
        "cpu_percent": crate::summary::tenths(p.cpu_percent),
        "memory_rss": p.memory_rss,
        "last_exit_code": p.last_exit_code,
        "last_signal": p.last_signal,
        "health": Some(p.health().wire_name()).filter(|h| !h.is_empty()),
        "ready": (p.readiness() != v1::HealthState::None && p.readiness != 0)
            .then(|| p.readiness() == v1::HealthState::Healthy),
        "reason": (!p.reason.is_empty()).then_some(&p.reason),
    })
}

/// Limits as data, with how this machine enforces each (`enforced_by`: `cgroup` or
/// `poll`); a managed process's and a job's alike.
pub fn limits_view(limits: &v1::ResourceLimits, statuses: &[v1::LimitStatus]) -> Value {
    let enforced: serde_json::Map<String, Value> = statuses
        .iter()
        .map(|l| (l.limit.clone(), json!(l.enforcement().wire_name())))
        .collect();
    json!({
        "memory_max": limits.memory_max,
        "memory_high": limits.memory_high,
        "cpu_max_percent": limits.cpu_max_percent,
        "pids_max": limits.pids_max,
        "on_breach": limits.on_breach().wire_name(),
        "enforced_by": enforced,
    })
}

/// Metrics as data: an unreadable value (another user's process) is null, never 0.
pub fn metrics(m: &v1::ProcessMetrics) -> Value {
    json!({
        "processes": m.processes,
        "cpu_percent": crate::summary::tenths(m.cpu_percent),
        "memory_rss": m.memory_rss,
        "open_fds": m.open_fds,
        "io_read_bytes": m.io_read_bytes,
        "io_write_bytes": m.io_write_bytes,
        "io_rchar": m.io_rchar,
        "io_wchar": m.io_wchar,
        "cpu_user_ms": m.cpu_user_ms,
        "cpu_system_ms": m.cpu_system_ms,
        "threads": m.threads,
    })
}

fn line(p: &v1::ManagedProcess) -> String {
    let mut text = format!("{} {}", p.name, p.state().wire_name());
    if p.pid != 0 {
        text.push_str(&format!(" pid {} up {}s", p.pid, p.uptime_ms / 1000));
    }
    if p.restarts > 0 {
        text.push_str(&format!(", {} restarts", p.restarts));
    }
    if let Some(code) = p.last_exit_code {
        text.push_str(&format!(", last exit {code}"));
    }
    if !p.reason.is_empty() {
        text.push_str(&format!(" ({})", p.reason));
    }
    text
}

pub async fn list(mut b: Backend, _: NoArgs) -> Outcome {
    let processes = b
        .supervisor
        .list(v1::ListRequest::default())
        .await
        .map_err(|s| ToolError::status(&s, ""))?
        .into_inner()
        .processes;
    let summary = if processes.is_empty() {
        "No managed processes. start_process registers one.".to_owned()
    } else {
        let lines: Vec<_> = processes.iter().map(line).collect();
        format!("{} managed: {}", processes.len(), lines.join("; "))
    };
    Ok(Answer {
        summary,
        data: json!({"processes": processes.iter().map(view).collect::<Vec<_>>()}),
    })
}

pub async fn status(mut b: Backend, args: NameArgs) -> Outcome {
    let p = b
        .supervisor
        .status(v1::NameRequest { name: args.name })
        .await
        .map_err(|s| ToolError::status(&s, UNKNOWN_HINT))?
        .into_inner();
    let mut data = view(&p);
    if let Some(spec) = &p.spec {
        data["command"] = json!(spec.command);
        data["restart_policy"] = json!(spec.restart().wire_name());
        data["cwd"] = json!(spec.cwd);
        if let Some(limits) = &spec.limits {
            data["limits"] = limits_view(limits, &p.limits);
        }
    }
    if p.limit_breaches > 0 {
        data["limit_breach"] = json!(p.limit_breach);
        data["limit_breaches"] = json!(p.limit_breaches);
    }
    data["stdout_log"] = json!(p.stdout_log);
    data["stderr_log"] = json!(p.stderr_log);
    data["next_restart_at_ms"] = json!(p.next_restart_at_ms);
    data["metrics"] = p.metrics.as_ref().map_or(Value::Null, metrics);
    data["tree"] = p.tree.as_ref().map_or(Value::Null, metrics);
    let mut summary = line(&p);
    if let (Some(m), Some(tree)) = (&p.metrics, &p.tree) {
        let fds = m.open_fds.map_or_else(|| "?".to_owned(), |n| n.to_string());
        summary.push_str(&format!(
            ", {} threads, {fds} open fds; {}",
            m.threads,
            tree_summary(tree)
        ));
    }
    Ok(Answer { summary, data })
}

/// A process tree in a summary's words: `tree of 3 processes: 1.5% CPU, 123 bytes RSS`
/// (for a managed process and a running job alike).
pub fn tree_summary(tree: &v1::ProcessMetrics) -> String {
    format!(
        "tree of {} processes: {:.1}% CPU, {} bytes RSS",
        tree.processes, tree.cpu_percent, tree.memory_rss
    )
}

pub async fn logs(mut b: Backend, args: LogsArgs) -> Outcome {
    let (lines, stdout, stderr) = log_request(args.lines, args.stream.as_deref())?;
    let request = v1::LogsRequest {
        name: args.name.clone(),
        lines,
        follow: false,
        stdout,
        stderr,
        since_ms: args.since_seconds.map(since_ms_ago),
    };
    let stream = b
        .supervisor
        .logs(request)
        .await
        .map_err(|s| ToolError::status(&s, UNKNOWN_HINT))?
        .into_inner();
    let raw = collect_lines(stream)
        .await
        .map_err(|s| ToolError::status(&s, ""))?;
    let (summary, lines, truncated, total) = log_answer(&format!("'{}'", args.name), raw);
    let data = json!({
        "name": args.name,
        "lines": lines,
        "truncated": truncated,
        "lines_read": total,
    });
    Ok(Answer { summary, data })
}

/// The Unix millisecond `seconds` ago (a huge count is the epoch: every line).
fn since_ms_ago(seconds: u64) -> u64 {
    procward_core::sys::unix_ms(std::time::SystemTime::now())
        .saturating_sub(seconds.saturating_mul(1000))
}

/// The `lines` (default 50, 1 to 500) and `stream` (`stdout`, `stderr`, `both`) of a logs
/// tool, as the request's line count and stdout/stderr flags (neither set: both).
pub(super) fn log_request(
    lines: Option<u32>,
    stream: Option<&str>,
) -> Result<(u32, bool, bool), ToolError> {
    let lines = lines.unwrap_or(DEFAULT_LINES);
    if lines == 0 || lines > MAX_LINES {
        return Err(ToolError(format!(
            "lines must be between 1 and {MAX_LINES} (got {lines})"
        )));
    }
    let (stdout, stderr) = match stream.map(str::trim) {
        None | Some("" | "both") => (false, false),
        Some("stdout") => (true, false),
        Some("stderr") => (false, true),
        Some(other) => {
            return Err(ToolError(format!(
                "stream must be stdout, stderr or both (got '{other}')"
            )));
        }
    };
    Ok((lines, stdout, stderr))
}

/// A logs answer: the text (`N lines of WHAT:`, a note when cut, then the newest lines
/// that fit in [`MAX_LOG_BYTES`], stderr ones tagged), the kept lines as data, whether
/// any were cut, and how many were read.
pub(super) fn log_answer(what: &str, raw: Vec<v1::LogLine>) -> (String, Vec<Value>, bool, usize) {
    let all: Vec<(v1::LogStream, String)> = raw
        .into_iter()
        .map(|l| (l.stream(), String::from_utf8_lossy(&l.line).into_owned()))
        .collect();
    let total = all.len();
    let (kept, cut_bytes) = cap_lines(all, MAX_LOG_BYTES - HEADER_ROOM);
    let mut summary = format!("{} of {what}:", plural(kept.len(), "line"));
    if cut_bytes {
        summary = format!(
            "{summary} (cut: {total} lines read, only the newest {} fit in {}; ask for fewer lines or one stream)",
            kept.len(),
            bytes(MAX_LOG_BYTES as u64)
        );
    }
    for (stream, text) in &kept {
        let tag = if *stream == v1::LogStream::Stderr {
            STDERR_TAG
        } else {
            ""
        };
        summary.push('\n');
        summary.push_str(tag);
        summary.push_str(text);
    }
    let lines = kept
        .iter()
        .map(|(s, t)| json!({"stream": s.wire_name(), "text": t}))
        .collect();
    (summary, lines, cut_bytes, total)
}

pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The limit arguments of `start_process`, parsed with the CLI's words (units, ranges).
fn limits_of(args: &StartArgs) -> Result<ResourceLimits, ToolError> {
    crate::args::limit_inputs(
        &args.memory_max,
        &args.cpu_max,
        args.pids_max,
        &args.on_breach,
        args.best_effort,
    )
    .parse()
    .map_err(|e| ToolError(e.to_string()))
}

pub async fn start(mut b: Backend, args: StartArgs) -> Outcome {
    let limits = limits_of(&args)?;
    let argv = match args.command {
        CommandLine::Line(text) => {
            command_from_string(&text).map_err(|e| ToolError(format!("invalid command: {e}")))?
        }
        CommandLine::Argv(argv) => argv,
    };
    let mut spec = ProcessSpec::new(args.name.clone(), argv);
    spec.limits = limits;
    spec.env = args.env;
    spec.logs.timestamps = args.timestamps.unwrap_or(false);
    spec.watch = args.watch;
    // The wire reads 0 as "one process" (a client that leaves it out): an explicit 0 is
    // refused here, in the daemon's words.
    if let Some(count) = args.instances {
        replica::check_count(count).map_err(|e| ToolError(e.to_string()))?;
        spec.instances = count;
    }
    spec.success_exit_codes = args.success_exit_codes;
    let probe = |field: &str, text: &str| {
        Probe::parse(text)
            .map(HealthCheck::new)
            .map_err(|e| ToolError(format!("invalid {field}: {e}")))
    };
    spec.readiness = args
        .readiness
        .as_deref()
        .map(|t| probe("readiness", t))
        .transpose()?;
    spec.health = args
        .health
        .as_deref()
        .map(|t| probe("health", t))
        .transpose()?;
    if let Some(cwd) = args.cwd {
        let path = std::path::PathBuf::from(&cwd);
        if !path.is_absolute() {
            return Err(ToolError(format!(
                "cwd must be an absolute path (got '{cwd}')"
            )));
        }
        spec.cwd = Some(path);
    }
    if let Some(policy) = args.restart {
        spec.restart = policy
            .parse::<RestartPolicy>()
            .map_err(|e| ToolError(e.to_string()))?;
    }
    // Validated by the daemon's one check, like every start; its refusal names the field.
    let request = v1::StartRequest {
        spec: Some(spec_to_proto(&spec)),
        replace: false,
    };
    let p = b
        .supervisor
        .start(request)
        .await
        .map_err(|s| {
            ToolError::status(
                &s,
                "If the name is taken, use restart_process, or stop_process and start again under another name",
            )
        })?
        .into_inner();
    Ok(Answer {
        summary: format!("started {}", line(&p)),
        data: view(&p),
    })
}

pub async fn stop(mut b: Backend, args: NameArgs) -> Outcome {
    let p = b
        .supervisor
        .stop(v1::NameRequest { name: args.name })
        .await
        .map_err(|s| ToolError::status(&s, UNKNOWN_HINT))?
        .into_inner();
    Ok(Answer {
        summary: format!("stopped: {}", line(&p)),
        data: view(&p),
    })
}

pub async fn restart(mut b: Backend, args: NameArgs) -> Outcome {
    let p = b
        .supervisor
        .restart(v1::NameRequest { name: args.name })
        .await
        .map_err(|s| ToolError::status(&s, UNKNOWN_HINT))?
        .into_inner();
    Ok(Answer {
        summary: format!("restarted: {}", line(&p)),
        data: view(&p),
    })
}

pub async fn reload(mut b: Backend, args: NameArgs) -> Outcome {
    let answer = b
        .supervisor
        .reload(v1::NameRequest { name: args.name })
        .await
        .map_err(|s| ToolError::status(&s, UNKNOWN_HINT))?
        .into_inner();
    Ok(replicas("reloaded", &answer.processes))
}

pub async fn scale(mut b: Backend, args: ScaleArgs) -> Outcome {
    let request = v1::ScaleRequest {
        name: args.name,
        instances: args.instances,
    };
    let answer = b
        .supervisor
        .scale(request)
        .await
        .map_err(|s| ToolError::status(&s, UNKNOWN_HINT))?
        .into_inner();
    Ok(replicas("scaled to", &answer.processes))
}

/// The answer of an operation on a set: one line per replica, and their views.
fn replicas(verb: &str, processes: &[v1::ManagedProcess]) -> Answer {
    let lines: Vec<String> = processes.iter().map(line).collect();
    Answer {
        summary: format!(
            "{verb} {}:\n{}",
            plural(processes.len(), "process"),
            lines.join("\n")
        ),
        data: json!({"processes": processes.iter().map(view).collect::<Vec<_>>()}),
    }
}

/// Every line of a finite `Logs` stream.
pub(super) async fn collect_lines(
    mut stream: tonic::Streaming<v1::LogLine>,
) -> Result<Vec<v1::LogLine>, tonic::Status> {
    let mut lines = Vec::new();
    while let Some(line) = stream.message().await? {
        lines.push(line);
    }
    Ok(lines)
}
