//! Jobs as an assistant reads them: one line of text, compact data for listings, and the
//! whole job with every attempt.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use procward_core::supervisor::spec::shell_words;
use procward_proto::convert::queue::attempt_from_proto;
use procward_proto::v1;
use serde_json::{Value, json};

use crate::summary::clip;

/// Longest command line shown per job in a summary.
const COMMAND_CHARS: usize = 80;

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn ran_seconds(a: &v1::Attempt) -> f64 {
    let ran = a
        .ended_ms
        .unwrap_or_else(now_ms)
        .saturating_sub(a.started_ms);
    (ran as f64 / 100.0).round() / 10.0
}

fn attempt_view(a: &v1::Attempt) -> Value {
    json!({
        "number": a.number,
        "pid": a.pid,
        "started_ms": a.started_ms,
        "ended_ms": a.ended_ms,
        "ran_seconds": ran_seconds(a),
        "exit_code": a.exit_code,
        "signal": a.signal,
        "timed_out": a.timed_out,
        "breach": (!a.breach.is_empty()).then_some(&a.breach),
        "outcome": attempt_from_proto(a).outcome(),
    })
}

/// The running attempt, if any.
fn running(job: &v1::Job) -> Option<&v1::Attempt> {
    job.attempts
        .last()
        .filter(|a| job.state() == v1::JobState::Running && a.ended_ms.is_none())
}

/// A job as compact data (what `queue_list` shows for each).
pub(super) fn view(job: &v1::Job) -> Value {
    let spec = job.spec.clone().unwrap_or_default();
    json!({
        "id": job.id,
        "state": job.state().wire_name(),
        "group": spec.group,
        "priority": spec.priority,
        "command": spec.command,
        "pid": running(job).map(|a| a.pid),
        "attempts_made": job.attempts.len(),
        "max_attempts": spec.attempts,
        "exit_code": job.exit_code,
        "reason": (!job.reason.is_empty()).then_some(&job.reason),
        "created_ms": job.created_ms,
        "run_at_ms": job.run_at_ms,
        "labels": spec.labels.into_iter().collect::<BTreeMap<_, _>>(),
    })
}

/// A job with its whole spec and every attempt (what `queue_status` shows).
pub(super) fn full_view(job: &v1::Job) -> Value {
    let mut data = view(job);
    let spec = job.spec.clone().unwrap_or_default();
    data["cwd"] = json!(spec.cwd);
    data["backoff"] = json!(spec.backoff);
    data["timeout_seconds"] = json!(spec.timeout_ms.map(|ms| ms as f64 / 1000.0));
    data["after"] = json!(spec.after);
    data["after_any"] = json!(spec.after_any);
    data["env_keys"] = json!(spec.env.keys().collect::<BTreeSet<_>>());
    data["attempts"] = json!(job.attempts.iter().map(attempt_view).collect::<Vec<_>>());
    if let Some(limits) = &spec.limits {
        data["limits"] = super::super::managed::limits_view(limits, &job.limit_status);
    }
    if !job.limit_breach.is_empty() {
        data["limit_breach"] = json!(job.limit_breach);
    }
    let metrics = super::super::managed::metrics;
    data["metrics"] = job.metrics.as_ref().map_or(Value::Null, metrics);
    data["tree"] = job.tree.as_ref().map_or(Value::Null, metrics);
    data
}

/// One line about a job: `job 3 running (attempt 1, pid 42) [default]: sleep 60`.
pub(super) fn line(job: &v1::Job) -> String {
    let state = job.state();
    let mut text = format!("job {} {}", job.id, state.wire_name());
    if let Some(a) = running(job) {
        text.push_str(&format!(" (attempt {}, pid {})", a.number, a.pid));
    } else if let (v1::JobState::Delayed, Some(at)) = (state, job.run_at_ms) {
        let secs = at.saturating_sub(now_ms()).div_ceil(1000);
        text.push_str(&format!(" (starts in {secs}s)"));
    } else if let Some(code) = job.exit_code {
        text.push_str(&format!(" (exit {code})"));
    }
    let spec = job.spec.clone().unwrap_or_default();
    text.push_str(&format!(
        " [{}]: {}",
        spec.group,
        clip(&shell_words(&spec.command), COMMAND_CHARS)
    ));
    if !job.reason.is_empty() && job.reason != state.wire_name() {
        text.push_str(&format!(" ({})", job.reason));
    }
    text
}

/// `attempt 1: pid 42, ran 1.5s, exit 0`.
pub(super) fn attempt_line(a: &v1::Attempt) -> String {
    format!(
        "attempt {}: pid {}, ran {}s, {}",
        a.number,
        a.pid,
        ran_seconds(a),
        attempt_from_proto(a).outcome()
    )
}
