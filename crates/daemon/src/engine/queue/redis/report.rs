//! Reporting an attempt to the shared queue with its fencing token: that it started,
//! how it ended (or, for a job taken over from a host that stopped renewing its lease,
//! that it was lost), and what follows by the embedded queue's rules.

use std::sync::Arc;
use std::time::{Duration, Instant};

use procward_core::queue::{Job, JobState};

use super::Shared;
use crate::engine::queue::actor::now_ms;
use crate::engine::queue::attempt::next_state;

/// A job whose lease expired on `old_host`, taken over here with `token`: its attempt
/// there (if it had started) ended unknown, and the job moves on per its attempts.
pub(super) async fn take_over(
    shared: Arc<Shared>,
    id: u64,
    token: u64,
    old_host: &str,
    body: &str,
    state: &str,
) {
    let mut job: Job = match serde_json::from_str(body) {
        Ok(job) => job,
        Err(e) => return tracing::error!(id, error = %e, "a taken-over job does not decode"),
    };
    job.id = id;
    let why = format!("host {old_host} stopped renewing its lease");
    let started = state == "running" && job.attempts.last().is_some_and(|a| a.ended_ms.is_none());
    let (state, reason, run_at) = if started {
        let decision = job.finish_attempt(now_ms(), None, None, random());
        let (state, reason, run_at) = next_state(&job, decision);
        (state, format!("{reason} ({why})"), run_at)
    } else {
        (
            JobState::Queued,
            format!("{why} before the job started"),
            None,
        )
    };
    report(&shared, job, token, state, reason, run_at).await;
}

/// Reports the attempt's end with `token`; retried while Redis is unreachable, for as
/// long as the lease would have lasted (after that the job is another host's).
pub(super) async fn report(
    shared: &Shared,
    mut job: Job,
    token: u64,
    state: JobState,
    reason: String,
    run_at: Option<u64>,
) {
    let id = job.id;
    job.state = state;
    job.reason = reason.clone();
    job.run_at_ms = run_at;
    job.host = Some(shared.host.clone());
    let code = job.exit_code();
    let body = match serde_json::to_string(&job) {
        Ok(body) => body,
        Err(e) => return tracing::error!(id, error = %e, "cannot encode the job"),
    };
    let give_up = Instant::now() + shared.lease;
    let mut backoff = Duration::from_millis(100);
    loop {
        let answer: Result<Vec<u64>, _> = shared
            .link
            .run(&shared.link.scripts.finish, |s| {
                s.arg(id)
                    .arg(token)
                    .arg(&body)
                    .arg(state.as_str())
                    .arg(&reason)
                    .arg(run_at.map_or_else(String::new, |at| at.to_string()))
                    .arg(code.map_or_else(String::new, |c| c.to_string()))
                    .arg(now_ms())
                    .arg(shared.config.keep_completed);
            })
            .await;
        match answer {
            Ok(answer) if answer.first() == Some(&1) => {
                shared.remove_dirs(&answer[1..]);
                return;
            }
            Ok(_) => {
                return tracing::warn!(
                    id,
                    "the job was taken over by another host; its end here is not reported"
                );
            }
            Err(e) if Instant::now() < give_up => {
                tracing::warn!(id, error = %e, "cannot report the job's end yet");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(e) => return tracing::error!(id, error = %e, "gave up reporting the job's end"),
        }
    }
}

pub(super) fn random() -> f64 {
    getrandom::u64().map_or(0.5, |r| (r >> 11) as f64 / (1u64 << 53) as f64)
}

/// Tells the queue the attempt runs; `false` when the lease was lost meanwhile.
pub(super) async fn report_started(shared: &Shared, job: &Job, token: u64, number: u32) -> bool {
    let Ok(body) = serde_json::to_string(job) else {
        return true;
    };
    let answer: Result<u8, _> = shared
        .link
        .run(&shared.link.scripts.started, |s| {
            s.arg(job.id).arg(token).arg(&body).arg(number);
        })
        .await;
    match answer {
        Ok(0) => false,
        Ok(_) => true,
        // Unreachable: the attempt goes on; renewals decide whether it may finish.
        Err(e) => {
            tracing::warn!(id = job.id, error = %e, "cannot report the job's start");
            true
        }
    }
}
