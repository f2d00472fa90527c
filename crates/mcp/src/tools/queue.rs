//! Tools for the job queue: add, list, status, logs, cancel, retry. Every request goes to
//! the daemon's `procward.v1.Queue`, which checks it with the same rules as for every
//! other client; only what the wire cannot carry (a negative delay, a relative cwd, an
//! unknown state name) is refused here.

use procward_core::queue::JobState;
use procward_core::supervisor::spec::command_from_string;
use procward_proto::client::Backend;
use procward_proto::v1;
use serde_json::json;
use tonic::{Code, Status};

use super::managed::{collect_lines, log_answer, log_request, plural};
use super::{Answer, Outcome, ToolError};
use crate::args::{CommandLine, JobArgs, QueueAddArgs, QueueListArgs, QueueLogsArgs};
use view::{attempt_line, full_view, line, view};

mod view;

/// Default and most jobs `queue_list` returns.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// A daemon refusal about one job, with what to try next.
fn refused(status: &Status) -> ToolError {
    let hint = match status.code() {
        Code::NotFound => "Call queue_list to see the job ids (and queue_status for its attempts)",
        Code::FailedPrecondition => {
            "queue_status shows the job's state; queue_retry queues a failed or cancelled job again"
        }
        _ => "",
    };
    ToolError::status(status, hint)
}

/// Seconds as milliseconds; negative values cannot travel (the wire is unsigned).
fn millis(field: &str, seconds: f64) -> Result<u64, ToolError> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(ToolError(format!(
            "invalid argument: {field} must be a number of seconds, 0 or more (got {seconds}). Nothing was queued"
        )));
    }
    Ok((seconds * 1000.0).round() as u64) // `as` saturates; the daemon checks the range
}

pub async fn add(mut b: Backend, args: QueueAddArgs) -> Outcome {
    let command = match args.command {
        CommandLine::Line(text) => command_from_string(&text).map_err(|e| {
            ToolError(format!(
                "invalid argument: command: {e}. Nothing was queued"
            ))
        })?,
        CommandLine::Argv(argv) => argv,
    };
    if let Some(cwd) = &args.cwd
        && !std::path::Path::new(cwd).is_absolute()
    {
        return Err(ToolError(format!(
            "invalid argument: cwd must be an absolute path (got '{cwd}'). Nothing was queued"
        )));
    }
    let limits = crate::args::limit_inputs(
        &args.memory_max,
        &args.cpu_max,
        args.pids_max,
        &args.on_breach,
        args.best_effort,
    )
    .parse()
    .map_err(|e| ToolError(format!("invalid argument: {e}. Nothing was queued")))?;
    let spec = v1::JobSpec {
        command,
        env: args.env.into_iter().collect(),
        cwd: args.cwd,
        group: args.group.unwrap_or_default(),
        // Passed as given, negative too: the daemon's check refuses it, naming the field.
        priority: args.priority.unwrap_or(0),
        delay_ms: args
            .delay_seconds
            .map(|s| millis("delay_seconds", s))
            .transpose()?,
        not_before_ms: None,
        attempts: args.attempts,
        backoff: args.backoff.unwrap_or_default(),
        timeout_ms: args
            .timeout_seconds
            .map(|s| millis("timeout_seconds", s))
            .transpose()?,
        after: args.after,
        after_any: args.after_any,
        labels: args.labels.into_iter().collect(),
        limits: procward_proto::convert::limits::limits_to_proto(&limits),
    };
    let job = b
        .queue
        .add(v1::AddJobRequest { spec: Some(spec) })
        .await
        .map_err(|s| {
            let hint = if s.code() == Code::InvalidArgument {
                "Nothing was queued: fix the field named and add it again"
            } else {
                ""
            };
            ToolError::status(&s, hint)
        })?
        .into_inner();
    Ok(Answer {
        summary: format!(
            "queued {}. queue_status {{\"id\": {}}} follows it; queue_logs shows its output",
            line(&job),
            job.id
        ),
        data: view(&job),
    })
}

pub async fn list(mut b: Backend, args: QueueListArgs) -> Outcome {
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ToolError(format!(
            "limit must be between 1 and {MAX_LIMIT} (got {limit}); filter by group or states to see fewer"
        )));
    }
    let states = wire_states(&args.states)?;
    let request = v1::ListJobsRequest {
        group: args.group.clone(),
        states,
    };
    let mut jobs = b
        .queue
        .list(request)
        .await
        .map_err(|s| ToolError::status(&s, ""))?
        .into_inner()
        .jobs;
    jobs.sort_by_key(|j| j.id);
    let total = jobs.len();
    let more = total.saturating_sub(limit as usize);
    let shown = &jobs[more..];
    let mut counts = Vec::new();
    for state in JobState::ALL {
        let n = jobs
            .iter()
            .filter(|j| j.state() == v1::JobState::from(state))
            .count();
        if n > 0 {
            counts.push(format!("{n} {state}"));
        }
    }
    let filter = match (&args.group, args.states.is_empty()) {
        (Some(group), true) => format!(" in group {group}"),
        (Some(group), false) => format!(" in group {group} ({})", args.states.join(", ")),
        (None, false) => format!(" ({})", args.states.join(", ")),
        (None, true) => String::new(),
    };
    let summary = if jobs.is_empty() {
        format!("No jobs{filter}. queue_add queues one.")
    } else {
        let mut text = format!("{}{filter}: {}", plural(total, "job"), counts.join(", "));
        if more > 0 {
            text.push_str(&format!(
                "; the newest {} shown ({more} older: raise limit, or filter by group or states)",
                shown.len()
            ));
        }
        for job in shown {
            text.push('\n');
            text.push_str(&line(job));
        }
        text
    };
    Ok(Answer {
        summary,
        data: json!({
            "jobs": shown.iter().map(view).collect::<Vec<_>>(),
            "total": total,
            "more": more,
        }),
    })
}

/// State names as wire values; an unknown name is refused, naming the valid ones.
fn wire_states(names: &[String]) -> Result<Vec<i32>, ToolError> {
    names
        .iter()
        .map(|s| {
            s.parse::<JobState>()
                .map(|state| v1::JobState::from(state) as i32)
        })
        .collect::<Result<_, _>>()
        .map_err(|e| ToolError(format!("invalid argument: states: {e}")))
}

async fn get(b: &mut Backend, id: u64) -> Result<v1::Job, ToolError> {
    b.queue
        .get(v1::JobRequest { id })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| refused(&s))
}

pub async fn status(mut b: Backend, args: JobArgs) -> Outcome {
    let job = get(&mut b, args.id).await?;
    let mut summary = line(&job);
    let max = job.spec.as_ref().and_then(|s| s.attempts).unwrap_or(0);
    let made = job.attempts.len();
    summary.push_str(&format!("; {} made", plural(made, "attempt")));
    if made as u32 > max {
        summary.push_str(&format!(" (retried: at most {max} per run)"));
    } else {
        summary.push_str(&format!(" of at most {max}"));
    }
    if let Some(tree) = &job.tree {
        summary.push_str("; ");
        summary.push_str(&super::managed::tree_summary(tree));
    }
    for a in &job.attempts {
        summary.push('\n');
        summary.push_str(&attempt_line(a));
    }
    Ok(Answer {
        summary,
        data: full_view(&job),
    })
}

pub async fn logs(mut b: Backend, args: QueueLogsArgs) -> Outcome {
    let (lines, stdout, stderr) = log_request(args.lines, args.stream.as_deref())?;
    let job = get(&mut b, args.id).await?;
    let state = job.state().wire_name();
    let Some(attempt) = args
        .attempt
        .or_else(|| job.attempts.last().map(|a| a.number))
    else {
        return Ok(Answer {
            summary: format!(
                "job {} has not started yet ({state}): no output so far",
                job.id
            ),
            data: json!({"id": job.id, "state": state, "attempt": null, "lines": [], "truncated": false, "lines_read": 0}),
        });
    };
    let request = v1::JobLogsRequest {
        id: job.id,
        attempt: args.attempt,
        follow: false,
        lines: Some(lines),
        stdout,
        stderr,
    };
    let stream = b
        .queue
        .logs(request)
        .await
        .map_err(|s| refused(&s))?
        .into_inner();
    let raw = collect_lines(stream)
        .await
        .map_err(|s| ToolError::status(&s, ""))?;
    let what = format!("job {} attempt {attempt} ({state})", job.id);
    let (summary, lines, truncated, total) = log_answer(&what, raw);
    let data = json!({
        "id": job.id,
        "state": state,
        "attempt": attempt,
        "lines": lines,
        "truncated": truncated,
        "lines_read": total,
    });
    Ok(Answer { summary, data })
}

pub async fn cancel(mut b: Backend, args: JobArgs) -> Outcome {
    let job = b
        .queue
        .cancel(v1::JobRequest { id: args.id })
        .await
        .map_err(|s| refused(&s))?
        .into_inner();
    Ok(Answer {
        summary: format!("cancelled: {}", line(&job)),
        data: full_view(&job),
    })
}

pub async fn retry(mut b: Backend, args: JobArgs) -> Outcome {
    let job = b
        .queue
        .retry(v1::JobRequest { id: args.id })
        .await
        .map_err(|s| refused(&s))?
        .into_inner();
    Ok(Answer {
        summary: format!("queued again: {}", line(&job)),
        data: view(&job),
    })
}

#[cfg(test)]
mod tests;
