//! The streaming events: sessions (create, join, leave, kill, input, resize, one-off
//! commands), managed processes' logs, and metrics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use procward_core::sys::UsageSampler;
use procward_core::sys::metrics::TreeMetrics;
use procward_proto::convert::system::system_to_proto;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use tokio_stream::StreamExt;

use super::WebState;
use super::message::Message;
use super::payloads::{
    create_args, execute_args, input_args, logs_args, metrics_args, resize_args, session_ref,
};
use super::socket::{Answer, Ctx};

use super::lines::LineBatcher;
use crate::engine::logs::{Lines, LogsQuery};
use crate::engine::session::{BATCH_DELAY, Session, SessionSpec};

fn start(ctx: &Ctx, spec: SessionSpec, detached: bool) -> Answer {
    ctx.room_for_one_more()?;
    let (id, session) = ctx
        .state
        .sessions
        .create(spec, detached)
        .map_err(|e| e.to_string())?;
    ctx.watch(&id, session.clone());
    tokio::spawn(session_metrics(ctx.io.clone(), id.clone(), session.pid));
    Ok(json!({"sessionId": id, "pid": session.pid}))
}

pub async fn create(ctx: &Ctx, payload: Value) -> Answer {
    let (spec, detached) = create_args(payload)?;
    start(ctx, spec, detached)
}

/// The session `id`, or why there is none.
fn session(state: &WebState, id: &str) -> Result<Arc<Session>, String> {
    state
        .sessions
        .get(id)
        .ok_or_else(|| format!("unknown session '{id}' (session:list shows the sessions)"))
}

pub fn join(ctx: &Ctx, payload: Value) -> Answer {
    let session_id = session_ref(payload)?;
    let session = session(&ctx.state, &session_id)?;
    ctx.room_for_one_more()?;
    ctx.watch(&session_id, session.clone());
    Ok(json!({"sessionId": session_id, "status": session.status().state}))
}

pub fn leave(ctx: &Ctx, payload: Value) -> Answer {
    let session_id = session_ref(payload)?;
    if ctx.unwatch(&session_id) {
        Ok(json!({}))
    } else {
        Err(format!("this client does not watch session '{session_id}'"))
    }
}

pub fn kill(ctx: &Ctx, payload: Value) -> Answer {
    let session_id = session_ref(payload)?;
    let session = session(&ctx.state, &session_id)?;
    if session.status().state != "running" {
        return Err(format!("session '{session_id}' has already ended"));
    }
    session.terminate();
    Ok(json!({}))
}

pub async fn execute(ctx: &Ctx, payload: Value) -> Answer {
    let (command, session_id) = execute_args(payload)?;
    let Some(id) = session_id else {
        let spec = SessionSpec {
            command: "/bin/sh".into(),
            args: vec!["-c".into(), command],
            cwd: None,
            env: BTreeMap::new(),
            interactive: false,
            cols: 80,
            rows: 24,
        };
        return start(ctx, spec, false);
    };
    let session = session(&ctx.state, &id)?;
    if !session.interactive {
        return Err(format!(
            "session '{id}' is not interactive; omit sessionId to run a one-off command"
        ));
    }
    session
        .queue_input(format!("{command}\r").into_bytes())
        .map_err(|e| e.to_string())?;
    Ok(json!({"sessionId": id}))
}

/// `terminal:input`: queued at once, in the order the events arrive (the socket handler
/// calls this before its first await; see [`crate::engine::session::input`]).
pub fn input(state: &WebState, payload: Value) -> Answer {
    let (session_id, data) = input_args(payload)?;
    session(state, &session_id)?
        .queue_input(data.into_bytes())
        .map_err(|e| e.to_string())?;
    Ok(json!({}))
}

pub async fn resize(ctx: &Ctx, payload: Value) -> Answer {
    let (session_id, cols, rows) = resize_args(payload)?;
    let session = session(&ctx.state, &session_id)?;
    session
        .resize(cols, rows)
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({}))
}

/// Follows a managed process's logs as session `logs:NAME`: the last lines, then new ones.
pub async fn logs(ctx: &Ctx, payload: Value) -> Answer {
    let (name, lines) = logs_args(payload)?;
    ctx.room_for_one_more()?;
    let query = LogsQuery {
        name: name.clone(),
        stdout: false,
        stderr: false,
        lines: Lines::Last(lines as usize),
        follow: true,
        since_ms: None,
    };
    let mut stream = ctx
        .state
        .engine
        .logs(query)
        .await
        .map_err(|e| e.to_string())?;
    let id = format!("logs:{name}");
    let mut batcher = LineBatcher::new(ctx.socket.clone(), id.clone());
    let acked = ctx.after_ack();
    let task = tokio::spawn(async move {
        acked.await;
        loop {
            let next = if batcher.is_pending() {
                tokio::time::timeout(BATCH_DELAY, stream.recv()).await.ok()
            } else {
                Some(stream.recv().await)
            };
            match next {
                Some(Some(line)) => batcher.push(line),
                Some(None) => break, // the stream ended
                None => batcher.flush(),
            }
        }
        batcher.flush();
    });
    ctx.track(&id, task.abort_handle());
    Ok(json!({"sessionId": id}))
}

/// System figures every `interval` seconds, from the daemon's shared sampler.
pub fn metrics(ctx: &Ctx, payload: Value) -> Answer {
    let interval = metrics_args(payload)?;
    let samples = ctx
        .state
        .engine
        .monitor(interval)
        .map_err(|e| e.to_string())?;
    let socket = ctx.socket.clone();
    let task = tokio::spawn(async move {
        let mut samples = std::pin::pin!(samples);
        while let Some(sample) = samples.next().await {
            let info = system_to_proto(&sample.value, sample.taken_unix_ms);
            let data = serde_json::to_value(&info).unwrap_or_default();
            if socket
                .emit("message", &Message::metrics(None, data))
                .is_err()
            {
                return;
            }
        }
    });
    ctx.set_metrics(task.abort_handle());
    Ok(json!({}))
}

/// A session's metrics every second while its process runs (see web/PROTOCOL.md): the
/// process's own, to everyone watching it (its room) (`procward_core::sys::Metrics`, the
/// same fields as the gRPC `ProcessMetrics`), its tree's under `tree`, and the older
/// names kept as aliases.
async fn session_metrics(io: SocketIo, id: String, pid: u32) {
    let Ok(process) = procfs::process::Process::new(pid as i32) else {
        return;
    };
    let mut sampler = SessionSampler::default();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The handle is of this process instance: it fails once the process is reaped.
        match process.stat() {
            Ok(stat) if stat.state != 'Z' => {}
            _ => return,
        }
        let Some(data) = sampler.measure(pid).await else {
            return;
        };
        let _ = io
            .within(id.clone())
            .emit("message", &Message::metrics(Some(&id), data))
            .await;
    }
}

/// One session's CPU sampler, kept between readings so `cpu_percent` is over the last
/// interval, and read off the runtime (a walk of /proc).
#[derive(Default)]
pub(super) struct SessionSampler {
    sampler: Option<UsageSampler>,
}

impl SessionSampler {
    /// The `data` of a `metrics` message for `pid` and its tree; `None` once it is gone.
    pub(super) async fn measure(&mut self, pid: u32) -> Option<Value> {
        let mut taken = self.sampler.take().unwrap_or_default();
        let (back, measured) = tokio::task::spawn_blocking(move || {
            let measured = taken.metrics_of(&[pid], Duration::ZERO).remove(&pid);
            (taken, measured)
        })
        .await
        .ok()?;
        self.sampler = Some(back);
        measured.as_ref().map(session_metrics_data)
    }
}

/// The `data` of a session's `metrics` message.
fn session_metrics_data(m: &TreeMetrics) -> Value {
    let main = &m.main;
    let mut data = serde_json::to_value(main).unwrap_or_default();
    data["cpu_percent"] = json!((f64::from(main.cpu_percent) * 10.0).round() / 10.0);
    data["tree"] = serde_json::to_value(m.tree).unwrap_or_default();
    // The names of the first protocol version (rchar/wchar as read/write bytes, times in
    // seconds), kept for older clients.
    data["handles"] = json!(main.open_fds);
    data["read_bytes"] = json!(main.io_rchar);
    data["write_bytes"] = json!(main.io_wchar);
    data["user_time"] = json!(main.cpu_user_ms as f64 / 1000.0);
    data["system_time"] = json!(main.cpu_system_ms as f64 / 1000.0);
    data
}
