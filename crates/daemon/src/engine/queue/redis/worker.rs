//! The host's worker: takes jobs from the shared queue while its groups (across every
//! host) and this machine's `[limits]` allow, renews the leases of the jobs it runs,
//! takes over jobs whose host stopped renewing, and registers this host for the fleet
//! view. It sleeps until a wake-up from pub/sub, a delayed job's time or its next
//! renewal; at most every [`IDLE_LOOK`] it looks on its own (a missed message costs a
//! few seconds, never a job).

use std::sync::Arc;
use std::time::{Duration, Instant};

use procward_core::resources::Spawn;

use super::{Control, Shared, attempt, report};
use crate::engine::queue::actor::now_ms;

/// How often an idle worker looks for work without being woken.
const IDLE_LOOK: Duration = Duration::from_secs(5);
/// Most jobs taken in one claim (the rest go to the next round, or another host).
const CLAIM_BATCH: u32 = 16;

/// The worker's loop, for the daemon's life.
pub(super) async fn run(shared: Arc<Shared>) {
    let renew_every = shared.lease / 3;
    let reap_every = shared.lease / 2;
    let mut next_due: Option<u64> = None;
    let mut last_renew = Instant::now();
    let mut last_reap = Instant::now() - reap_every;
    let mut backoff = Duration::from_millis(100);
    loop {
        if let Err(e) = shared.ensure_groups().await {
            tracing::debug!(error = %e, "cannot make the queue's groups yet");
        }
        if last_renew.elapsed() >= renew_every {
            last_renew = Instant::now();
            renew(&shared).await;
            super::fleet::register(&shared).await;
        }
        if last_reap.elapsed() >= reap_every {
            last_reap = Instant::now();
            if let Err(e) = take_over(&shared).await {
                tracing::debug!(error = %e, "cannot look for expired leases");
            }
        }
        let sleep = match look(&shared).await {
            Ok(due) => {
                next_due = due;
                backoff = Duration::from_millis(100);
                IDLE_LOOK
            }
            Err(e) => {
                tracing::debug!(error = %e, "the shared queue is unreachable");
                backoff = (backoff * 2).min(Duration::from_secs(5));
                backoff
            }
        };
        let until_due = next_due.map(|at| Duration::from_millis(at.saturating_sub(now_ms())));
        let until_renew = renew_every.saturating_sub(last_renew.elapsed());
        let sleep = [Some(sleep), until_due, Some(until_renew)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(IDLE_LOOK);
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Queues delayed jobs whose time came, fires due schedules and claims what may start
/// here; answers when the next delayed job or schedule is due.
async fn look(shared: &Arc<Shared>) -> Result<Option<u64>, crate::engine::error::EngineError> {
    let answer: Vec<String> = shared
        .link
        .run(&shared.link.scripts.poll, |s| {
            s.arg(now_ms());
        })
        .await?;
    let [due, fire, open @ ..] = answer.as_slice() else {
        return Ok(None);
    };
    let parse = |at: &String| at.parse::<f64>().ok().map(|at| at as u64);
    let (due, fire) = (parse(due), parse(fire));
    if fire.is_some_and(|at| at <= now_ms()) {
        shared.fire_due().await?;
        shared.wake.notify_one();
    }
    for group in open {
        if shared.serve.is_empty() || shared.serve.contains(group) {
            claim(shared, group).await?;
        }
    }
    Ok([due, fire].into_iter().flatten().min())
}

/// Claims ready jobs of `group`, as many as this machine's `[limits]` let start now.
async fn claim(shared: &Arc<Shared>, group: &str) -> Result<(), crate::engine::error::EngineError> {
    let running = shared.local.lock().expect("local runs").len() as u32;
    let mut allowed = 0;
    while allowed < CLAIM_BATCH
        && shared
            .limits
            .check_spawn(Spawn::Job, running + allowed)
            .is_ok()
    {
        allowed += 1;
    }
    if allowed == 0 {
        return Ok(());
    }
    let claimed: Vec<(u64, u64, String, String)> = shared
        .link
        .run(&shared.link.scripts.claim, |s| {
            s.arg(group)
                .arg(&shared.host)
                .arg(now_ms())
                .arg(shared.lease.as_millis() as u64)
                .arg(allowed);
        })
        .await?;
    for (id, token, body, cancel) in claimed {
        match serde_json::from_str::<procward_core::queue::Job>(&body) {
            Ok(mut job) => {
                job.id = id;
                job.cancel_requested = cancel == "1";
                attempt::start(shared.clone(), job, token);
            }
            Err(e) => tracing::error!(id, error = %e, "a claimed job does not decode"),
        }
    }
    Ok(())
}

/// Renews the leases of the jobs this host runs; tells each attempt of a cancel or a
/// lost lease. Without Redis, a job whose lease ran out here is ended: another host may
/// have taken it over.
async fn renew(shared: &Shared) {
    let runs: Vec<(u64, u64)> = shared
        .local
        .lock()
        .expect("local runs")
        .iter()
        .map(|(id, run)| (*id, run.token))
        .collect();
    if runs.is_empty() {
        return;
    }
    let answer: Result<Vec<u8>, _> = shared
        .link
        .run(&shared.link.scripts.renew, |s| {
            s.arg(now_ms()).arg(shared.lease.as_millis() as u64);
            for (id, token) in &runs {
                s.arg(id).arg(token);
            }
        })
        .await;
    let mut local = shared.local.lock().expect("local runs");
    match answer {
        Ok(codes) => {
            for ((id, token), code) in runs.iter().zip(codes) {
                let Some(run) = local.get_mut(id).filter(|r| r.token == *token) else {
                    continue;
                };
                match code {
                    0 => run.renewed = Instant::now(),
                    1 => {
                        run.renewed = Instant::now();
                        let _ = run.control.send(Control::Cancel);
                    }
                    _ => {
                        tracing::warn!(id, "lost the job's lease to another host; ending it");
                        let _ = run.control.send(Control::Lost);
                    }
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot renew job leases");
            for (id, run) in local.iter() {
                if run.renewed.elapsed() >= shared.lease {
                    tracing::warn!(id, "no lease renewal for a whole lease; ending the job");
                    let _ = run.control.send(Control::Lost);
                }
            }
        }
    }
}

/// Takes over jobs whose lease expired and moves each on from here.
async fn take_over(shared: &Arc<Shared>) -> Result<(), crate::engine::error::EngineError> {
    let taken: Vec<(u64, u64, String, String, String)> = shared
        .link
        .run(&shared.link.scripts.reap, |s| {
            s.arg(&shared.host)
                .arg(now_ms())
                .arg(shared.lease.as_millis() as u64);
        })
        .await?;
    for (id, token, old_host, body, state) in taken {
        tracing::warn!(id, old_host, "a job's lease expired; taking it over");
        report::take_over(shared.clone(), id, token, &old_host, &body, &state).await;
    }
    Ok(())
}
