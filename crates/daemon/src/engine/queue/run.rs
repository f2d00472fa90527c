//! Running a job's attempts: each under its own shim (as a managed process is), so the
//! job's output is captured into its attempt's logs and its exit is recorded even while
//! the daemon is down; timeouts and cancels end the attempt's whole process group
//! (SIGTERM, SIGKILL after [`KILL_GRACE`]); a restarted daemon re-adopts running
//! attempts by their shim's pid and start time instead of running them again.

use std::cmp::Reverse;
use std::time::Duration;

use procward_core::Signal;
use procward_core::cgroup::Unit;
use procward_core::queue::{Attempt, JobState};
use procward_core::signal::group;
use procward_core::supervisor::shim::{self, HandedOver, Launched, ShimProcess};
use std::os::fd::OwnedFd;

use super::KILL_GRACE;
use super::actor::{Actor, Internal, now_ms};
use super::attempt::{NOT_STARTED, launch_spec, next_state};
use crate::engine::registry::RunRecord;

/// A running attempt.
#[derive(Debug)]
pub(crate) struct Running {
    /// Which attempt of the job.
    pub attempt: u32,
    /// Its shim and process, as stored for re-adoption; `None` until the shim reports.
    pub record: Option<RunRecord>,
    /// The shim, when this daemon started it (to be reaped when it is the daemon's
    /// child); `None` after re-adoption.
    pub shim: Option<ShimProcess>,
    /// When the shim was spawned (Unix milliseconds): the attempt's start, which its end
    /// (the shim's own clock) can never precede.
    pub spawned_ms: u64,
    /// The attempt's cgroup unit, when this machine has cgroups.
    pub unit: Option<Unit>,
    /// OOM kills the unit had counted before the attempt (a unit left by a crash).
    pub oom_seen: u64,
}

impl Actor {
    /// Starts the next attempt of a ready job; a program that cannot be started is a
    /// failed attempt (exit 127) like any other, retried per its attempts.
    pub(super) fn start_attempt(&mut self, id: u64) {
        let unit = match self.attempt_unit(id) {
            None => return,
            Some(Ok(unit)) => unit,
            Some(Err(message)) => return self.not_started(id, message, now_ms()),
        };
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let number = job.attempts.len() as u32 + 1;
        let dir = self.home.attempt_dir(id, number);
        let mut launch = launch_spec(&dir, id, number, &job.spec, unit.clone());
        // The exit comes back on the shim's report channel and goes into the store; the
        // status file is written only if this daemon is gone by then.
        launch.hand_over_exit = true;
        // A silent attempt (a `true`) then leaves no file and no folder to delete.
        launch.lazy_logs = true;
        let (exe, owned, internal) = (self.exe.clone(), self.owned.clone(), self.internal.clone());
        let launch_file = dir.join("launch.json");
        // The launch (the launch file, the shim's fork) and the wait for the shim's report
        // of its child's pid (or why it could not start it) run off the actor, so starts
        // and requests do not queue behind them. The job stays queued (its slot taken)
        // until the report: `running` in a job's state always comes with the process's pid.
        tokio::task::spawn_blocking(move || {
            let launched = owned
                .spawn_shim(&exe, &launch, &launch_file)
                .and_then(|shim| shim::await_report_with_channel(shim).map_err(|e| e.to_string()));
            let _ = internal.send(Internal::Reported {
                id,
                attempt: number,
                launched: Box::new(launched),
            });
        });
        let group_name = job.spec.group.clone();
        self.running.insert(
            id,
            Running {
                attempt: number,
                record: None,
                shim: None,
                spawned_ms: now_ms(),
                oom_seen: unit.as_ref().map_or(0, Unit::oom_kills),
                unit,
            },
        );
        self.slot_taken(&group_name);
    }

    /// The attempt's program could not be started: a failed attempt (exit 127).
    fn not_started(&mut self, id: u64, message: String, at_ms: u64) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let number = job.attempts.len() as u32 + 1;
        job.attempts.push(Attempt::started(number, 0, at_ms));
        job.reason = message;
        tracing::warn!(id, reason = %job.reason, "job cannot start");
        self.finish(id, Some(NOT_STARTED), None, at_ms);
    }

    /// The shim reported: the attempt runs (its process is watched through the shim,
    /// its timeout armed, a cancel asked meanwhile carried out), or it could not start.
    pub(super) fn on_reported(
        &mut self,
        id: u64,
        attempt: u32,
        launched: Result<(Launched, Option<OwnedFd>), String>,
    ) {
        if self.running.get(&id).is_none_or(|r| r.attempt != attempt) {
            return;
        }
        let (launched, channel) = match launched {
            Ok(launched) => launched,
            Err(message) => {
                if let Some(run) = self.running.remove(&id) {
                    self.close_unit(id, &run);
                }
                if let Some(group) = self.jobs.get(&id).map(|j| j.spec.group.clone()) {
                    self.slot_freed(&group);
                }
                return self.not_started(id, message, now_ms());
            }
        };
        let run = self.running.get(&id);
        let started_ms = run.map_or_else(now_ms, |r| r.spawned_ms);
        let mut record = RunRecord::of_launched(&launched, started_ms);
        // A kept unit's name says nothing of the job: a daemon re-adopting the attempt
        // finds it by this.
        record.unit = run.and_then(|r| r.unit.as_ref()).map(|u| u.name.clone());
        match channel {
            Some(channel) => self
                .watcher
                .watch_channel(channel, &id.to_string(), attempt.into()),
            None => self
                .watcher
                .watch(record.shim(), &id.to_string(), attempt.into()),
        }
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        job.state = JobState::Running;
        job.attempts
            .push(Attempt::started(attempt, launched.child_pid, started_ms));
        if !job.cancel_requested {
            job.reason.clear();
        }
        let (timeout, cancel) = (job.spec.timeout, job.cancel_requested);
        if let Some(run) = self.running.get_mut(&id) {
            run.record = Some(record);
            run.shim = Some(launched.shim);
        }
        if let Some(timeout) = timeout {
            self.arm_timeout(id, attempt, timeout);
        }
        tracing::info!(id, attempt, pid = launched.child_pid, "job started");
        // The run (for re-adoption) and the job, running, saved together.
        if let (Some(job), Some(record)) = (
            self.jobs.get(&id),
            self.running.get(&id).and_then(|r| r.record.as_ref()),
        ) && let Err(e) = self.store.start_run(job, record)
        {
            tracing::error!(id, error = %e, "cannot save the job's run");
        }
        self.emit(id);
        if cancel {
            self.end_running(id, "cancelled");
        }
    }

    pub(super) fn arm_timeout(&self, id: u64, attempt: u32, after: Duration) {
        let internal = self.internal.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = internal.send(Internal::Timeout { id, attempt });
        });
    }

    /// The attempt's shim exited or handed its exit over: read how the process ended
    /// (from `handed_over`, else the status file) and decide what follows. A handed-over
    /// record is acknowledged once the job's next state is saved.
    pub(super) fn on_exit(&mut self, id: u64, attempt: u32, handed_over: Option<HandedOver>) {
        if self.running.get(&id).is_none_or(|r| r.attempt != attempt) {
            return;
        }
        let Some(mut run) = self.running.remove(&id) else {
            return;
        };
        let Some(record) = run.record.take() else {
            return; // watched only once reported
        };
        if let Some(mut shim) = run.shim.take() {
            let _ = shim.wait();
            self.owned.remove(record.shim_pid);
        }
        // The run's row goes with the job's next save (`Actor::save`, not running).
        let status = match &handed_over {
            Some(handed_over) => Some(handed_over.record),
            None => {
                let file = self.home.attempt_dir(id, attempt).join("status.json");
                shim::read_status(&file).ok().flatten()
            }
        };
        let Some(group_name) = self.jobs.get(&id).map(|j| j.spec.group.clone()) else {
            return;
        };
        self.slot_freed(&group_name);
        self.close_unit(id, &run);
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let leader = record.child();
        let ending = job.cancel_requested
            || job
                .attempts
                .last()
                .is_some_and(|a| a.timed_out || a.breach.is_some());
        // Members left behind: a cancel or timeout ends the whole tree; a lost shim leaves
        // a process nobody logs or reaps, so it is ended too.
        if (ending || status.is_none()) && !group::members(leader.pid).is_empty() {
            group::signal(leader, Signal::KILL);
        }
        if status.is_none() && job.reason.is_empty() {
            job.reason = format!("lost its shim (pid {}); no exit status", record.shim_pid);
        }
        let (code, signal, ended) = match status {
            Some(s) => (s.exit_code, s.signal, s.ended_at_ms),
            None => (None, None, now_ms()),
        };
        self.finish(id, code, signal, ended);
        // Acknowledged once the batch this event is in commits (`Actor::commit_batch`).
        self.pending_acks.extend(handed_over);
    }

    /// Records the end of the running attempt and moves the job on: completed, delayed
    /// until its retry, or final.
    pub(super) fn finish(
        &mut self,
        id: u64,
        code: Option<i32>,
        signal: Option<i32>,
        ended_ms: u64,
    ) {
        let random = getrandom::u64().map_or(0.5, |r| (r >> 11) as f64 / (1u64 << 53) as f64);
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let decision = job.finish_attempt(ended_ms, code, signal, random);
        let last = job.last_attempt().cloned();
        tracing::info!(id, outcome = %last.as_ref().map(Attempt::outcome).unwrap_or_default(), "job attempt ended");
        match next_state(job, decision) {
            (JobState::Delayed, reason, run_at) => {
                job.state = JobState::Delayed;
                job.run_at_ms = run_at;
                job.reason = reason;
                self.save(id);
                self.emit(id);
                self.admit(id);
            }
            (state, reason, _) => self.set_final(id, state, reason),
        }
    }

    /// Moves a job to a final state, answers its waiters and lets its dependents go on
    /// (or fail with it).
    pub(super) fn set_final(&mut self, id: u64, state: JobState, reason: String) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        debug_assert!(
            job.state.can_transition_to(state),
            "{} -> {state}",
            job.state
        );
        if let Some(ready) = self.ready.get_mut(&job.spec.group) {
            ready.remove(&(Reverse(job.spec.priority), id));
        }
        job.state = state;
        job.reason = reason;
        job.run_at_ms = None;
        self.save(id);
        self.emit(id);
        for waiter in self.waiters.remove(&id).unwrap_or_default() {
            let _ = waiter.send(Ok(self.jobs[&id].clone()));
        }
        for dependent in self.dependents.get(&id).cloned().unwrap_or_default() {
            if self
                .jobs
                .get(&dependent)
                .is_some_and(|d| d.state == JobState::Queued)
            {
                self.admit(dependent);
            }
        }
        if state == JobState::Completed {
            self.completed.push_back(id);
            let excess = self.completed.len().saturating_sub(self.keep_completed);
            let old: Vec<u64> = self.completed.iter().take(excess).copied().collect();
            if !old.is_empty()
                && let Err(e) = self.forget(&old)
            {
                tracing::warn!(error = %e, "cannot remove old completed jobs");
            }
        }
    }

    /// SIGTERM to the running attempt's group and SIGKILL after the grace period: what
    /// cancel and timeout share (each has marked the job first: `cancel_requested`, or
    /// the attempt `timed_out`).
    pub(super) fn end_running(&mut self, id: u64, why: &str) {
        let Some(run) = self.running.get(&id) else {
            return;
        };
        let (attempt, leader) = (run.attempt, run.record.as_ref().map(RunRecord::child));
        if let Some(job) = self.jobs.get_mut(&id) {
            job.reason = why.to_owned();
        }
        self.save(id);
        // Not reported yet: the report carries the cancel out (a timeout is armed later).
        let Some(leader) = leader else {
            return;
        };
        group::signal(leader, Signal::TERM);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            tokio::time::sleep(KILL_GRACE).await;
            let _ = internal.send(Internal::KillDue { id, attempt });
        });
    }

    pub(super) fn on_timeout(&mut self, id: u64, attempt: u32) {
        if self.running.get(&id).is_none_or(|r| r.attempt != attempt) {
            return;
        }
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let limit = job.spec.timeout.unwrap_or_default();
        if let Some(a) = job.attempts.last_mut() {
            a.timed_out = true;
        }
        let why = format!(
            "timed out after {}",
            procward_core::supervisor::spec::format_duration(limit)
        );
        tracing::warn!(id, attempt, "{why}");
        self.end_running(id, &why);
    }

    /// The grace period is over: SIGKILL to the group and, with a unit, to every
    /// process in it (those that left the group too).
    pub(super) fn on_kill_due(&mut self, id: u64, attempt: u32) {
        let Some(run) = self.running.get(&id).filter(|r| r.attempt == attempt) else {
            return;
        };
        if let Some(record) = &run.record {
            group::signal(record.child(), Signal::KILL);
        }
        if let Some(unit) = &run.unit
            && let Err(e) = unit.kill()
        {
            tracing::warn!(id, error = %e, "cannot kill the job's unit");
        }
    }
}
