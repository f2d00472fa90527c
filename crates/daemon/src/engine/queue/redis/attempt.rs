//! Running a claimed job's attempt on this host: under a shim like every job (output in
//! the attempt's logs, exit in its record), in its own cgroup unit where the machine has
//! cgroups; a timeout or a cancel ends its process group (SIGTERM, SIGKILL after
//! [`KILL_GRACE`]); a lost lease kills it at once and reports nothing. The end is
//! reported with the job's fencing token, and the same rules as the embedded queue
//! ([`Job::finish_attempt`], [`next_state`]) decide what follows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use procward_core::Signal;
use procward_core::cgroup::Unit;
use procward_core::queue::{Attempt, Job, JobState};
use procward_core::signal::group;
use procward_core::supervisor::shim::{self, ShimProcess};
use procward_core::sys::process::Instance;
use tokio::sync::mpsc;

use super::report::{random, report, report_started};
use super::{Control, LocalRun, Shared};
use crate::engine::queue::KILL_GRACE;
use crate::engine::queue::actor::now_ms;
use crate::engine::queue::attempt::{NOT_STARTED, launch_spec, next_state};
use crate::engine::queue::limits::unit_name;
use crate::engine::registry::RunRecord;

/// How an attempt ended here.
enum Ended {
    /// Its process ended (or could not start): report it.
    Exit {
        code: Option<i32>,
        signal: Option<i32>,
        at_ms: u64,
    },
    /// Its lease was lost: it was killed, and another host owns the job now.
    Lost,
}

/// Runs the next attempt of `job`, claimed with `token`, in a task of its own.
pub(super) fn start(shared: Arc<Shared>, job: Job, token: u64) {
    run_in_task(shared, job, token, None);
}

/// Goes on with an attempt a previous daemon of this home started (its lease still
/// this host's, with `token`): watched through its shim's pidfd, not run again.
pub(super) fn readopt(shared: Arc<Shared>, job: Job, token: u64, running: Running) {
    run_in_task(shared, job, token, Some(running));
}

fn run_in_task(shared: Arc<Shared>, job: Job, token: u64, adopted: Option<Running>) {
    let (control, rx) = mpsc::unbounded_channel();
    let run = LocalRun {
        token,
        control,
        renewed: Instant::now(),
    };
    shared.local.lock().expect("local runs").insert(job.id, run);
    tokio::spawn(async move {
        let mut job = job;
        let ended = match adopted {
            None => match launch(&shared, &mut job, token).await {
                Ok(running) => supervise(&shared, &mut job, token, running, rx).await,
                Err(ended) => ended,
            },
            Some(running) => supervise(&shared, &mut job, token, running, rx).await,
        };
        shared.local.lock().expect("local runs").remove(&job.id);
        if let Ended::Exit {
            code,
            signal,
            at_ms,
        } = ended
        {
            let decision = job.finish_attempt(at_ms, code, signal, random());
            let (state, reason, run_at) = next_state(&job, decision);
            report(&shared, job, token, state, reason, run_at).await;
        }
        shared.wake.notify_one();
    });
}

/// The attempt's program could not be started: a failed attempt (exit 127).
fn not_started(job: &mut Job, number: u32, message: String) -> Ended {
    let at_ms = now_ms();
    job.attempts.push(Attempt::started(number, 0, at_ms));
    tracing::warn!(id = job.id, reason = %message, "job cannot start");
    job.reason = message;
    Ended::Exit {
        code: Some(NOT_STARTED),
        signal: None,
        at_ms,
    }
}

/// A running attempt: its run (as noted for a next daemon), its shim, its unit.
pub(super) struct Running {
    /// Which attempt.
    pub number: u32,
    /// Its shim and process, identity included.
    pub record: RunRecord,
    /// Its shim, to wait for.
    pub shim: Shim,
    /// Its cgroup unit, where the machine has cgroups.
    pub unit: Option<Unit>,
    /// OOM kills the unit had counted before the attempt.
    pub oom_seen: u64,
}

/// An attempt's shim: started here (this daemon's child to reap, or the spawner's) or
/// re-adopted from a previous daemon (watched through a pidfd).
pub(super) enum Shim {
    Started(ShimProcess),
    Adopted(u32),
}

impl Shim {
    fn pid(&self) -> u32 {
        match self {
            Shim::Started(shim) => shim.id(),
            Shim::Adopted(pid) => *pid,
        }
    }

    /// Returns once the shim (`recorded`: its PID and start time) has exited.
    async fn exited(self, recorded: Instance) {
        match self {
            Shim::Started(mut shim) if shim.is_child() => {
                let _ = tokio::task::spawn_blocking(move || shim.wait()).await;
            }
            Shim::Started(_) | Shim::Adopted(_) => {
                let Some(pid) = rustix::process::Pid::from_raw(recorded.pid as i32) else {
                    return;
                };
                let Ok(fd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
                else {
                    return; // already gone
                };
                // Checked after opening: the pidfd now pins the process the start time
                // names (its PID may have been reused since the shim exited).
                if !recorded.is_alive() {
                    return;
                }
                // A pidfd turns readable when its process exits (a rare wait: a thread of
                // its own is fine).
                let _ = tokio::task::spawn_blocking(move || {
                    use rustix::event::{PollFd, PollFlags, poll};
                    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
                    while poll(&mut fds, None).is_err() {}
                })
                .await;
            }
        }
    }
}

/// Launches the next attempt of `job` under a shim; `Err` with its end when it could not
/// start.
async fn launch(shared: &Arc<Shared>, job: &mut Job, token: u64) -> Result<Running, Ended> {
    let (id, number) = (job.id, job.attempts.len() as u32 + 1);
    let unit = match shared.limits.unit_for(&unit_name(id), &job.spec.limits) {
        Ok(unit) => unit,
        Err(message) => return Err(not_started(job, number, message)),
    };
    let dir = shared.home.attempt_dir(id, number);
    let launch = launch_spec(&dir, id, number, &job.spec, unit.clone());
    let oom_seen = unit.as_ref().map_or(0, Unit::oom_kills);
    let spawned = shared
        .owned
        .spawn_shim(&shared.exe, &launch, &dir.join("launch.json"));
    let spawned_ms = now_ms();
    let launched = match spawned {
        Ok(shim) => tokio::task::spawn_blocking(move || shim::await_report(shim))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string())),
        Err(message) => Err(message),
    };
    let launched = match launched {
        Ok(launched) => launched,
        Err(message) => {
            if let Some(unit) = &unit {
                let _ = unit.remove();
            }
            return Err(not_started(job, number, message));
        }
    };
    let record = RunRecord::of_launched(&launched, spawned_ms);
    super::orphans::note(&shared.home, id, token, number, &record);
    job.state = JobState::Running;
    job.host = Some(shared.host.clone());
    job.attempts
        .push(Attempt::started(number, launched.child_pid, spawned_ms));
    if !job.cancel_requested {
        job.reason.clear();
    }
    tracing::info!(
        id,
        attempt = number,
        pid = launched.child_pid,
        "job started"
    );
    Ok(Running {
        number,
        record,
        shim: Shim::Started(launched.shim),
        unit,
        oom_seen,
    })
}

/// Watches a running attempt to its end: its timeout, a cancel, a lost lease.
async fn supervise(
    shared: &Arc<Shared>,
    job: &mut Job,
    token: u64,
    running: Running,
    mut control: mpsc::UnboundedReceiver<Control>,
) -> Ended {
    let Running {
        number,
        record,
        shim,
        unit,
        oom_seen,
    } = running;
    let id = job.id;
    let dir = shared.home.attempt_dir(id, number);
    let leader = record.child();
    let mut lost = !report_started(shared, job, token, number).await;
    let (shipped, ship_done) = tokio::sync::oneshot::channel();
    let shipper = super::output::ship(shared, id, number, ship_done);
    let shim_pid = shim.pid();
    let exited = shim.exited(record.shim());
    tokio::pin!(exited);
    // From the attempt's start: a re-adopted attempt has run a while already.
    let timeout_at = job.spec.timeout.map(|t| {
        let ran = Duration::from_millis(now_ms().saturating_sub(record.started_at_ms));
        tokio::time::Instant::now() + t.saturating_sub(ran)
    });
    let mut kill_at: Option<tokio::time::Instant> = None;
    let mut ending = job.cancel_requested;
    if lost {
        kill(leader, unit.as_ref());
    } else if ending {
        group::signal(leader, Signal::TERM);
        kill_at = Some(tokio::time::Instant::now() + KILL_GRACE);
    }
    loop {
        tokio::select! {
            _ = &mut exited => break,
            _ = sleep_until(timeout_at), if !ending => {
                let limit = job.spec.timeout.unwrap_or_default();
                if let Some(a) = job.attempts.last_mut() {
                    a.timed_out = true;
                }
                job.reason = format!("timed out after {}", procward_core::supervisor::spec::format_duration(limit));
                tracing::warn!(id, attempt = number, "{}", job.reason);
                ending = true;
                group::signal(leader, Signal::TERM);
                kill_at = Some(tokio::time::Instant::now() + KILL_GRACE);
            }
            _ = sleep_until(kill_at), if kill_at.is_some() => {
                kill(leader, unit.as_ref());
                kill_at = None;
            }
            Some(message) = control.recv() => match message {
                Control::Cancel if !job.cancel_requested => {
                    job.cancel_requested = true;
                    job.reason = "cancelled".into();
                    ending = true;
                    group::signal(leader, Signal::TERM);
                    kill_at = Some(tokio::time::Instant::now() + KILL_GRACE);
                }
                Control::Cancel => {}
                Control::Lost => {
                    lost = true;
                    kill(leader, unit.as_ref());
                }
            },
        }
    }
    shared.owned.remove(shim_pid);
    super::orphans::forget(&shared.home, id);
    // Every line is in the job's stream before its end is reported.
    let _ = shipped.send(());
    let _ = shipper.await;
    let status = shim::read_status(&dir.join("status.json")).ok().flatten();
    // Members left behind: a cancel, timeout or lost lease ends the whole tree; a lost
    // shim leaves a process nobody logs, so it is ended too.
    if (ending || lost || status.is_none()) && !group::members(leader.pid).is_empty() {
        group::signal(leader, Signal::KILL);
    }
    if let Some(unit) = &unit {
        close_unit(job, unit, oom_seen);
    }
    if lost {
        return Ended::Lost;
    }
    if status.is_none() && job.reason.is_empty() {
        job.reason = format!("lost its shim (pid {shim_pid}); no exit status");
    }
    match status {
        Some(s) => Ended::Exit {
            code: s.exit_code,
            signal: s.signal,
            at_ms: s.ended_at_ms,
        },
        None => Ended::Exit {
            code: None,
            signal: None,
            at_ms: now_ms(),
        },
    }
}

/// SIGKILL to the attempt's group and every process in its unit.
fn kill(leader: procward_core::sys::process::Instance, unit: Option<&Unit>) {
    group::signal(leader, Signal::KILL);
    if let Some(unit) = unit {
        let _ = unit.kill();
    }
}

/// An OOM kill in the unit becomes a breach of `memory_max`; the unit is emptied and
/// removed.
fn close_unit(job: &mut Job, unit: &Unit, oom_seen: u64) {
    if unit.oom_kills() > oom_seen {
        let note = "memory_max: the kernel ended the tree, out of memory".to_owned();
        if let Some(a) = job.attempts.last_mut() {
            a.breach = Some("memory_max".into());
        }
        job.limit_breach = note;
    }
    if !unit.pids().is_empty() {
        let _ = unit.kill();
    }
    let _ = unit.remove();
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
