//! The job queue over socket.io: list, add, cancel, retry, groups, hosts (the fleet
//! view), pause and resume as one engine call each; `queue:subscribe` for every job
//! change as `job` messages; and `job:join` for one job's output and status as a
//! session (`job:ID`), through the same `output`, `status` and `metrics` messages as
//! any session.

use std::collections::BTreeMap;
use std::time::Duration;

use procward_core::queue::{Job, JobState};
use procward_core::supervisor::spec::command_from_string;
use procward_proto::convert::limits::limits_to_proto;
use procward_proto::convert::queue::{group_to_proto, job_spec_from_proto, job_to_proto};
use procward_proto::v1;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::lines::LineBatcher;
use super::message::Message;
use super::parse;
use super::socket::{Answer, Ctx};
use super::streams::SessionSampler;
use crate::engine::actor::entry::unix_ms;
use crate::engine::logs::Lines;
use crate::engine::queue::logs::JobLogsQuery;
use crate::engine::queue::{JobFilter, Queue};
use crate::engine::session::BATCH_DELAY;

/// The watch id of a client's `queue:subscribe`.
const EVENTS: &str = "queue:events";

fn err(e: crate::engine::EngineError) -> String {
    e.to_string()
}

fn job_json(job: &Job) -> Value {
    serde_json::to_value(job_to_proto(job)).unwrap_or(Value::Null)
}

fn queue(ctx: &Ctx) -> &Queue {
    ctx.state.engine.queue()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    group: Option<String>,
    #[serde(default)]
    states: Vec<String>,
}

/// `queue:list`.
pub async fn list(ctx: &Ctx, payload: Value) -> Answer {
    let args: ListArgs = parse(payload)?;
    let states = args
        .states
        .iter()
        .map(|s| s.parse::<JobState>().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let filter = JobFilter {
        group: args.group,
        states,
    };
    let jobs = queue(ctx).list(filter).await.map_err(err)?;
    Ok(json!({"jobs": jobs.iter().map(job_json).collect::<Vec<_>>()}))
}

/// A command as a shell-like string or an argv array.
#[derive(Deserialize)]
#[serde(untagged)]
enum CommandArg {
    Line(String),
    Argv(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddArgs {
    command: CommandArg,
    group: Option<String>,
    priority: Option<i32>,
    delay_seconds: Option<f64>,
    attempts: Option<u32>,
    backoff: Option<String>,
    timeout_seconds: Option<f64>,
    #[serde(default)]
    after: Vec<u64>,
    #[serde(default)]
    after_any: bool,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<String>,
    limits: Option<super::payloads::LimitArgs>,
}

fn millis(field: &str, seconds: Option<f64>) -> Result<Option<u64>, String> {
    match seconds {
        Some(s) if !s.is_finite() || s < 0.0 => {
            Err(format!("{field} must be a non-negative number of seconds"))
        }
        Some(s) => Ok(Some((s * 1000.0).round().min(u64::MAX as f64) as u64)),
        None => Ok(None),
    }
}

/// `queue:add`: converted like a gRPC request, then checked by the queue.
pub async fn add(ctx: &Ctx, payload: Value) -> Answer {
    let args: AddArgs = parse(payload)?;
    let command = match args.command {
        CommandArg::Line(line) => command_from_string(&line).map_err(|e| e.to_string())?,
        CommandArg::Argv(argv) => argv,
    };
    let wire = v1::JobSpec {
        command,
        env: args.env.into_iter().collect(),
        cwd: args.cwd,
        group: args.group.unwrap_or_default(),
        priority: args.priority.unwrap_or(0),
        delay_ms: millis("delaySeconds", args.delay_seconds)?,
        not_before_ms: None,
        attempts: args.attempts,
        backoff: args.backoff.unwrap_or_default(),
        timeout_ms: millis("timeoutSeconds", args.timeout_seconds)?,
        after: args.after,
        after_any: args.after_any,
        labels: args.labels.into_iter().collect(),
        limits: match &args.limits {
            Some(limits) => limits_to_proto(&limits.parse()?),
            None => None,
        },
    };
    let spec = job_spec_from_proto(wire, unix_ms(std::time::SystemTime::now()))?;
    let job = queue(ctx).add(spec).await.map_err(err)?;
    Ok(json!({"job": job_json(&job)}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdArgs {
    id: u64,
    lines: Option<u32>,
}

/// `queue:cancel` (`cancel`) or `queue:retry`.
pub async fn cancel_or_retry(ctx: &Ctx, payload: Value, cancel: bool) -> Answer {
    let IdArgs { id, .. } = parse(payload)?;
    let job = if cancel {
        let caller = super::data::caller_of(ctx.socket.req_parts());
        ctx.state.engine.cancel_job(&caller, id).await
    } else {
        queue(ctx).retry(id).await
    };
    Ok(json!({"job": job_json(&job.map_err(err)?)}))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GroupArgs {
    group: Option<String>,
}

/// `queue:groups`, `queue:pause` (`Some(true)`) and `queue:resume` (`Some(false)`).
pub async fn groups(ctx: &Ctx, payload: Value, pause: Option<bool>) -> Answer {
    let GroupArgs { group } = parse(payload)?;
    let groups = match pause {
        Some(pause) => queue(ctx).pause(group, pause).await,
        None => queue(ctx).groups().await,
    }
    .map_err(err)?;
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| serde_json::to_value(group_to_proto(g)).unwrap_or(Value::Null))
        .collect();
    Ok(json!({"groups": groups}))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

/// `queue:hosts`: the fleet view, each host with `HostInfo`'s field names (as
/// `procward hosts --json` has them, with each host's `managed` processes); with the
/// embedded queue, just this daemon.
pub async fn hosts(ctx: &Ctx, payload: Value) -> Answer {
    let NoArgs {} = parse(payload)?;
    let hosts = ctx.state.engine.hosts().await.map_err(err)?;
    Ok(json!({"hosts": serde_json::to_value(hosts).map_err(|e| e.to_string())?}))
}

fn event_json(event: &crate::engine::queue::JobEvent) -> Value {
    json!({
        "id": event.id,
        "group": event.group,
        "state": event.state,
        "attempt": event.attempt,
        "exitCode": event.exit_code,
        "reason": event.reason,
    })
}

/// `queue:subscribe`: every job change, as `job` messages, until `queue:unsubscribe`.
pub fn subscribe(ctx: &Ctx, payload: Value) -> Answer {
    let _: GroupArgs = parse(payload)?;
    let mut events = queue(ctx).subscribe();
    let socket = ctx.socket.clone();
    let task = tokio::spawn(async move {
        loop {
            let message = match events.recv().await {
                Ok(event) => Message::job(event_json(&event)),
                Err(RecvError::Lagged(n)) => Message::lagged(n),
                Err(RecvError::Closed) => return,
            };
            if socket.emit("message", &message).is_err() {
                return;
            }
        }
    });
    ctx.track(EVENTS, task.abort_handle());
    Ok(json!({}))
}

/// `queue:unsubscribe`.
pub fn unsubscribe(ctx: &Ctx, payload: Value) -> Answer {
    let _: GroupArgs = parse(payload)?;
    ctx.unwatch(EVENTS);
    Ok(json!({}))
}

/// How often a joined job's session gets a `metrics` message while it runs.
const METRICS_EVERY: Duration = Duration::from_secs(1);

fn status_of(session_id: &str, state: JobState, exit_code: Option<i32>) -> Message {
    Message::job_status(session_id, state.as_str(), exit_code)
}

/// `job:join`: the job's output (the last `lines` of the latest attempt, default all,
/// then every new line across retries) and a `status` message at join and on every
/// change, the final one after the last line.
pub async fn join(ctx: &Ctx, payload: Value) -> Answer {
    let IdArgs { id, lines } = parse(payload)?;
    ctx.room_for_one_more()?;
    let mut events = queue(ctx).subscribe();
    let job = queue(ctx).get(id).await.map_err(err)?;
    let query = JobLogsQuery {
        id,
        attempt: None,
        stdout: false,
        stderr: false,
        lines: lines.map_or(Lines::All, |n| Lines::Last(n as usize)),
        follow: true,
    };
    let mut logs = ctx.state.engine.job_logs(query).await.map_err(err)?;
    let session_id = format!("job:{id}");
    let mut batcher = LineBatcher::new(ctx.socket.clone(), session_id.clone());
    let queue = queue(ctx).clone();
    let (state, exit_code) = (job.state, job.exit_code());
    let sid = session_id.clone();
    let acked = ctx.after_ack();
    let task = tokio::spawn(async move {
        acked.await;
        let mut sampler = SessionSampler::default();
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + METRICS_EVERY, METRICS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The final status comes once, after the last line (below).
        if !state.is_final() {
            batcher.send_message(&status_of(&sid, state, None));
        }
        loop {
            tokio::select! {
                line = logs.recv() => match line {
                    Some(line) => batcher.push(line),
                    None => break, // the job ended and its last lines were sent
                },
                event = events.recv() => match event {
                    Ok(event) if event.id == id && !event.state.is_final() => {
                        batcher.send_message(&status_of(&sid, event.state, None));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                () = tokio::time::sleep(BATCH_DELAY), if batcher.is_pending() => batcher.flush(),
                _ = tick.tick() => {
                    if let Some(pid) = queue.get(id).await.ok().and_then(|j| j.running_pid())
                        && let Some(data) = sampler.measure(pid).await
                    {
                        batcher.send_message(&Message::metrics(Some(&sid), data));
                    }
                }
            }
        }
        if let Ok(job) = queue.get(id).await {
            batcher.send_message(&status_of(&sid, job.state, job.exit_code()));
        }
        batcher.flush();
    });
    ctx.track(&session_id, task.abort_handle());
    Ok(json!({"sessionId": session_id, "status": {"state": state, "exitCode": exit_code}}))
}
