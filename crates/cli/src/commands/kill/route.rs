//! `kill` and the daemon: a PID that a running daemon manages (its main process, or
//! procward's shim for it) is handed to the daemon's `KillProcess`, whose kill policy stops
//! it through the supervisor. The rule itself lives in the daemon
//! ([`procward_daemon::engine::kill_policy`]); here we only ask it. No daemon is started for a
//! kill: without one, every PID is killed locally.

use std::fmt;

use procward_core::signal::KillRecord;
use procward_core::supervisor::view::ManagedView;
use procward_core::sys::process::identify;
use procward_core::{Error, ErrorKind, Escalation, KillOutcome, KillRequest};
use procward_daemon::Home;
use procward_daemon::engine::kill_policy::{Role, role};
use procward_proto::convert::view_from_proto;
use procward_proto::v1;
use procward_proto::v1::process_manager_service_client::ProcessManagerServiceClient;
use procward_proto::v1::supervisor_client::SupervisorClient;
use tonic::transport::Channel;

use crate::client;

/// Longest grace period `KillProcess` accepts.
const MAX_TIMEOUT_SECONDS: f64 = 3600.0;

/// What one kill did.
#[derive(Debug)]
pub enum Done {
    /// Signalled here.
    Local(KillOutcome),
    /// Done by the daemon (its own words).
    Daemon(String),
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Done::Local(outcome) => outcome.fmt(f),
            Done::Daemon(message) => f.write_str(message),
        }
    }
}

/// Why one kill did not happen (or failed).
#[derive(Debug)]
pub struct Failure {
    /// For people.
    pub message: String,
    /// For the exit code.
    pub kind: ErrorKind,
}

/// One target's result.
pub type Outcome = Result<Done, Failure>;

/// A local kill's result.
pub fn local(result: Result<KillOutcome, Error>) -> Outcome {
    result.map(Done::Local).map_err(|e| Failure {
        message: e.to_string(),
        kind: e.kind(),
    })
}

/// The JSON record of one result (`message` set when the daemon did it).
pub fn record(pid: u32, outcome: &Outcome) -> KillRecord {
    match outcome {
        Ok(Done::Local(o)) => KillRecord::new(pid, &Ok(o.clone())),
        Ok(Done::Daemon(message)) => KillRecord {
            pid,
            outcome: None,
            error: None,
            kind: None,
            message: Some(message.clone()),
        },
        Err(failure) => KillRecord {
            pid,
            outcome: None,
            error: Some(failure.message.clone()),
            kind: Some(failure.kind),
            message: None,
        },
    }
}

/// Sends the requests for managed PIDs (and shims) to the daemon of this home, if one
/// runs; returns their results and the requests left to kill here.
pub fn through_daemon(
    requests: Vec<KillRequest>,
    force: bool,
) -> (Vec<(u32, Outcome)>, Vec<KillRequest>) {
    let Ok(home) = Home::from_env() else {
        return (Vec::new(), requests);
    };
    if !home.socket().exists() {
        return (Vec::new(), requests);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let Ok(runtime) = runtime else {
        return (Vec::new(), requests);
    };
    runtime.block_on(route(&home, requests, force))
}

async fn route(
    home: &Home,
    requests: Vec<KillRequest>,
    force: bool,
) -> (Vec<(u32, Outcome)>, Vec<KillRequest>) {
    let Some(channel) = client::running(home).await else {
        return (Vec::new(), requests);
    };
    let Some(views) = managed(channel.clone()).await else {
        return (Vec::new(), requests);
    };
    let mut manager = ProcessManagerServiceClient::new(channel);
    let (mut routed, mut local) = (Vec::new(), Vec::new());
    for request in requests {
        // A PID that is gone, or now belongs to another process than the caller named, is
        // not the daemon's: the local kill reports it.
        let who = identify(request.pid).ok().filter(|who| {
            who.check(request.expected_start_time, request.expected_start_ticks)
                .is_ok()
        });
        match who {
            Some(who) if role(&views, &who) != Role::Other => {
                let pinned = KillRequest {
                    expected_start_ticks: Some(who.start_ticks),
                    ..request
                };
                routed.push((request.pid, ask(&mut manager, &pinned, force).await));
            }
            _ => local.push(request),
        }
    }
    (routed, local)
}

/// The daemon's managed processes, or `None` when it cannot say.
async fn managed(channel: Channel) -> Option<Vec<ManagedView>> {
    let list = SupervisorClient::new(channel)
        .max_decoding_message_size(64 * 1024 * 1024)
        .list(v1::ListRequest::default())
        .await
        .ok()?;
    Some(
        list.into_inner()
            .processes
            .into_iter()
            .filter_map(|p| view_from_proto(p).ok())
            .collect(),
    )
}

/// One `KillProcess` call, as the local request would have been.
async fn ask(
    manager: &mut ProcessManagerServiceClient<Channel>,
    request: &KillRequest,
    force: bool,
) -> Outcome {
    let timeout_seconds = match request.escalation {
        Escalation::KillAfter(after) => Some(after.as_secs_f64().min(MAX_TIMEOUT_SECONDS)),
        Escalation::None => None,
    };
    let call = v1::KillProcessRequest {
        pid: request.pid,
        expected_start_time: request.expected_start_time,
        expected_start_ticks: request.expected_start_ticks,
        signal: Some(request.signal.name().to_owned()),
        timeout_seconds,
        force,
    };
    match manager.kill_process(call).await {
        Ok(answer) => {
            let answer = answer.into_inner();
            if answer.success {
                return Ok(Done::Daemon(answer.message));
            }
            let error = answer.error.unwrap_or_default();
            Err(Failure {
                kind: match error.code.as_str() {
                    "permission_denied" => ErrorKind::PermissionDenied,
                    _ => ErrorKind::Failed,
                },
                message: error.message,
            })
        }
        Err(status) => Err(Failure {
            message: status.message().to_owned(),
            kind: status_kind(status.code()),
        }),
    }
}

fn status_kind(code: tonic::Code) -> ErrorKind {
    use tonic::Code;
    match code {
        Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidInput,
        Code::FailedPrecondition | Code::AlreadyExists => ErrorKind::Refused,
        Code::NotFound => ErrorKind::NotFound,
        Code::PermissionDenied | Code::Unauthenticated => ErrorKind::PermissionDenied,
        _ => ErrorKind::Failed,
    }
}
