//! A job's resource limits: each attempt runs in its own cgroup unit (`job@ID`), so the
//! kernel holds its `memory_max`, `pids_max` and `cpu_max`, a cancel or timeout ends even
//! the processes that left its process group, and an OOM kill is read back as a breach.
//! Limits no cgroup holds here are polled by [`crate::engine::limits::poll`], which reports
//! breaches through [`super::Queue::breach`].
//!
//! What a breach does follows `on_breach`: `restart` fails the attempt (retried per its
//! attempts), `stop` fails the job with no further attempt, `notify` only records it (a
//! kernel OOM kill has ended the attempt anyway).

use procward_core::cgroup::Unit;
use procward_core::resources::{BreachAction, LimitKind, ResourceLimits, format_size};

use super::actor::Actor;
use super::run::Running;
use crate::engine::error::EngineError;
use crate::engine::limits::poll::has_polled;

/// A running attempt with a limit only the poll enforcer can hold here.
#[derive(Debug, Clone)]
pub struct PolledJob {
    /// The job.
    pub id: u64,
    /// Its running attempt.
    pub attempt: u32,
    /// The attempt's process (the root of the tree measured).
    pub pid: u32,
    /// The job's limits.
    pub limits: ResourceLimits,
}

/// A breach the poll enforcer found in a running attempt.
#[derive(Debug, Clone)]
pub struct JobBreach {
    /// The job.
    pub id: u64,
    /// The attempt measured (a breach of an attempt that has ended meanwhile is dropped).
    pub attempt: u32,
    /// Which limit.
    pub limit: LimitKind,
    /// In words, e.g. `memory_max 64.0MiB: the tree used 70.2MiB`.
    pub note: String,
    /// What to do about it.
    pub action: BreachAction,
}

/// The cgroup unit of job `id`'s attempts: `@` cannot occur in a managed process's name,
/// so a job's unit never meets one of theirs.
pub(super) fn unit_name(id: u64) -> String {
    format!("job@{id}")
}

impl Actor {
    /// The unit the next attempt of job `id` runs in (`None` without cgroups here): a
    /// kept empty one without limits, else `job@ID`; an error when a limit the kernel
    /// should hold cannot be set.
    pub(super) fn attempt_unit(&self, id: u64) -> Option<Result<Option<Unit>, String>> {
        let job = self.jobs.get(&id)?;
        Some(self.limits.attempt_unit(&unit_name(id), &job.spec.limits))
    }

    /// At the end of an attempt: an OOM kill in its unit becomes a breach of `memory_max`,
    /// whatever is left in the unit (a `setsid` escapee, a background child) is killed,
    /// and the unit is removed (or kept for the next attempt, when it is a spare).
    pub(super) fn close_unit(&mut self, id: u64, run: &Running) {
        let Some(unit) = &run.unit else {
            return;
        };
        if unit.oom_kills() > run.oom_seen
            && let Some(job) = self.jobs.get(&id)
        {
            let max = job
                .spec
                .limits
                .memory_max
                .map_or_else(|| "?".into(), format_size);
            let action = job.spec.limits.on_breach;
            let note = format!("memory_max {max}: the kernel ended the tree, out of memory");
            self.breached(id, LimitKind::MemoryMax, &note, action);
        }
        let left = unit.pids();
        if !left.is_empty() {
            tracing::info!(id, pids = ?left, "killing what the attempt left behind");
            if let Err(e) = unit.kill() {
                tracing::warn!(id, error = %e, "cannot kill the rest of the job's unit");
            }
        }
        if let Err(e) = self.limits.release_unit(unit, left.is_empty()) {
            tracing::warn!(id, error = %e, "cannot remove the job's cgroup");
        }
    }

    /// Records a breach that ended (or, polled, is about to end) the running attempt:
    /// the attempt names the limit, the job keeps the note, `stop` rules out another
    /// attempt, and the audit log gets the action.
    fn breached(&mut self, id: u64, limit: LimitKind, note: &str, action: BreachAction) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        tracing::warn!(id, %note, %action, "job limit breached");
        job.limit_breach = note.to_owned();
        // A polled `notify` leaves the attempt running; every other breach ends it.
        if (action != BreachAction::Notify || limit == LimitKind::MemoryMax)
            && let Some(attempt) = job.attempts.last_mut()
        {
            attempt.breach = Some(limit.field().to_owned());
        }
        if action == BreachAction::Stop {
            job.stop_by_limit = true;
            job.reason = format!("stopped by a limit: {note}");
        }
        self.limits
            .record_breach(&format!("job {id}"), note, action, true);
    }

    /// Running attempts with a limit that is polled here (what the enforcer measures).
    pub(super) fn polled(&self) -> Vec<PolledJob> {
        self.running
            .iter()
            .filter_map(|(id, run)| {
                let job = self.jobs.get(id)?;
                let pid = run.record.as_ref()?.child_pid;
                has_polled(&job.spec.limits, &self.limits).then(|| PolledJob {
                    id: *id,
                    attempt: run.attempt,
                    pid,
                    limits: job.spec.limits.clone(),
                })
            })
            .collect()
    }

    /// A breach the poll enforcer found: `notify` records it; `restart` and `stop` end the
    /// attempt as a timeout does (SIGTERM to its group, SIGKILL after the grace period).
    pub(super) fn poll_breach(&mut self, breach: JobBreach) -> Result<(), EngineError> {
        let current = self
            .running
            .get(&breach.id)
            .is_some_and(|r| r.attempt == breach.attempt);
        if !current {
            return Err(EngineError::Refused(format!(
                "job {} attempt {} is not running",
                breach.id, breach.attempt
            )));
        }
        self.breached(breach.id, breach.limit, &breach.note, breach.action);
        match breach.action {
            BreachAction::Notify => {
                self.save(breach.id);
                self.emit(breach.id);
            }
            BreachAction::Stop => {
                let why = format!("stopped by a limit: {}", breach.note);
                self.end_running(breach.id, &why);
                self.emit(breach.id);
            }
            BreachAction::Restart => {
                let why = format!("over its limit: {}", breach.note);
                self.end_running(breach.id, &why);
                self.emit(breach.id);
            }
        }
        Ok(())
    }
}
