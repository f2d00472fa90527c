//! One managed process inside the actor: its spec, state, counters and current run.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use procward_core::supervisor::shim::{ExitRecord, LogState};
use procward_core::supervisor::spec::ProcessSpec;
use procward_core::supervisor::state::{RestartTracker, State};
use procward_core::supervisor::view::{Health, LimitStatus, ManagedView};
use procward_core::sys::process::Instance;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::engine::error::Result;
use crate::engine::registry::{Record, RunRecord};

/// A started run: the process, its shim and the tasks watching them.
#[derive(Debug)]
pub struct Run {
    /// What the registry remembers of it.
    pub record: RunRecord,
    /// The shim as our child, when this daemon started it (not after re-adoption).
    pub shim: Option<procward_core::supervisor::shim::ShimProcess>,
    /// Run its health and readiness checks.
    pub checkers: Vec<JoinHandle<()>>,
    /// Restarts the spec asks for: its `watch` files, its `cron_restart`.
    pub triggers: Vec<JoinHandle<()>>,
}

impl Drop for Run {
    fn drop(&mut self) {
        for task in self.checkers.iter().chain(&self.triggers) {
            task.abort();
        }
    }
}

/// Someone waiting for a process to settle (stopped, or healthy).
pub type Waiter = oneshot::Sender<Result<ManagedView>>;

/// Everything the actor tracks about one process.
#[derive(Debug)]
pub struct Entry {
    pub spec: ProcessSpec,
    pub state: State,
    /// Should it be running?
    pub desired: bool,
    pub tracker: RestartTracker,
    pub run: Option<Run>,
    pub last_exit: Option<ExitRecord>,
    pub reason: String,
    pub next_restart_at: Option<SystemTime>,
    /// Bumped on every run and on every cancellation, so late events of an old run are
    /// recognised and ignored.
    pub generation: u64,
    pub health: Health,
    /// Readiness-check state (`Health::None` without one).
    pub readiness: Health,
    /// Replies owed when the current stop completes.
    pub stop_waiters: Vec<Waiter>,
    /// Replies owed when the process becomes healthy.
    pub health_waiters: Vec<Waiter>,
    /// `Some(reset_backoff)`: start again once the current stop completes.
    pub restart_after_stop: Option<bool>,
    /// The group being stopped: (leader pid, leader start time).
    pub stopping_group: Option<Instance>,
    /// Last measured CPU and memory.
    pub usage: (f32, u64),
    pub stdout_log: PathBuf,
    pub stderr_log: PathBuf,
    /// What the logs lost to a full disk, as the shim last reported it.
    pub log_state: LogState,
    /// The shim's report is worth reading: a run is live, or just ended (or the entry was
    /// just restored) and the last report has not been read yet.
    pub log_state_stale: bool,
    /// Why this entry's registry file is not on disk yet; empty when saved.
    pub registry_error: String,
    /// Set while the actor itself ends a run that failed without exiting (health check,
    /// lost shim): once its group is gone, the restart policy judges it like an exit.
    pub judge_after_stop: Option<Failure>,
    /// A reload under way: the run it replaces, still serving.
    pub reloading: Option<super::reload::Reloading>,
    /// When the stop the user asked for escalates to SIGKILL (Unix ms), while it runs.
    pub stop_deadline_ms: Option<u64>,
    /// How each of the spec's limits is enforced on this machine.
    pub limit_statuses: Vec<LimitStatus>,
    /// The last breach of a limit since the daemon started, in words.
    pub limit_breach: String,
    /// Breaches since the daemon started.
    pub limit_breaches: u32,
    /// The cgroup unit its runs are placed in (none without cgroups here).
    pub unit: Option<procward_core::cgroup::Unit>,
    /// The unit's OOM-kill count when the current run started: more at its end means the
    /// kernel ended it at `memory_max`.
    pub oom_kills_seen: u64,
}

/// A run the actor ended because it failed without exiting.
#[derive(Debug, Clone)]
pub struct Failure {
    /// How it failed, for `status` (`unhealthy (...)`, `lost its shim ...`).
    pub what: String,
    /// How long it had run when it failed (a stable run resets the restart count).
    pub uptime: Duration,
}

impl Entry {
    /// A new, stopped entry.
    pub fn new(spec: ProcessSpec, stdout_log: PathBuf, stderr_log: PathBuf) -> Self {
        Self {
            spec,
            state: State::Stopped,
            desired: false,
            tracker: RestartTracker::default(),
            run: None,
            last_exit: None,
            reason: String::new(),
            next_restart_at: None,
            generation: 0,
            health: Health::None,
            readiness: Health::None,
            stop_waiters: Vec::new(),
            health_waiters: Vec::new(),
            restart_after_stop: None,
            stopping_group: None,
            usage: (0.0, 0),
            stdout_log,
            stderr_log,
            log_state: LogState::default(),
            log_state_stale: true,
            registry_error: String::new(),
            judge_after_stop: None,
            stop_deadline_ms: None,
            reloading: None,
            limit_statuses: Vec::new(),
            limit_breach: String::new(),
            limit_breaches: 0,
            unit: None,
            oom_kills_seen: 0,
        }
    }

    /// Moves to `next`, logging (not panicking on) a transition the table forbids: the
    /// state machine is the referee, and a refused move leaves the state unchanged.
    pub fn set_state(&mut self, next: State) {
        if self.state == next {
            return;
        }
        match self.state.transition(next) {
            Ok(state) => self.state = state,
            Err(e) => {
                tracing::error!(name = %self.spec.name, error = %e, "illegal transition refused")
            }
        }
    }

    /// The snapshot every interface shows.
    pub fn view(&self) -> ManagedView {
        let run = self.run.as_ref().map(|r| &r.record);
        let now_ms = unix_ms(SystemTime::now());
        ManagedView {
            spec: self.spec.clone(),
            state: self.state,
            pid: run.map(|r| r.child_pid),
            start_time: run.map(|r| r.child_start_time),
            start_ticks: run.and_then(|r| r.child_start_ticks),
            shim_pid: run.map(|r| r.shim_pid),
            shim_start_ticks: run.and_then(|r| r.shim_start_ticks),
            restarts: self.tracker.restarts,
            started_at_ms: run.map(|r| r.started_at_ms),
            uptime_ms: run.map_or(0, |r| now_ms.saturating_sub(r.started_at_ms)),
            cpu_percent: if run.is_some() { self.usage.0 } else { 0.0 },
            memory_rss: if run.is_some() { self.usage.1 } else { 0 },
            last_exit: self.last_exit,
            next_restart_at_ms: self.next_restart_at.map(unix_ms),
            reason: self.reason.clone(),
            health: self.health,
            readiness: self.readiness,
            stdout_log: self.stdout_log.display().to_string(),
            stderr_log: self.stderr_log.display().to_string(),
            log_dropped_bytes: self.log_state.dropped_bytes,
            // Only a live shim is writing: an ended run's last error is history.
            log_error: match run {
                Some(_) => self.log_state.error.clone(),
                None => String::new(),
            },
            registry_error: self.registry_error.clone(),
            metrics: None,
            tree: None,
            limits: self.limit_statuses.clone(),
            limit_breach: self.limit_breach.clone(),
            limit_breaches: self.limit_breaches,
        }
    }

    /// What the registry stores.
    pub fn record(&self) -> Record {
        Record {
            spec: self.spec.clone(),
            desired: self.desired,
            tracker: self.tracker,
            run: self.run.as_ref().map(|r| r.record.clone()),
            last_exit: self.last_exit,
            reason: self.reason.clone(),
            failed: self.state == State::Failed,
            stop_deadline_ms: self.stop_deadline_ms,
            retiring: self.reloading.as_ref().map(|r| r.old_record().clone()),
        }
    }

    /// Whether the process is ready for dependents and `reload`: its readiness check
    /// passes, or (without one) its health check, or (without either) it runs.
    pub fn ready(&self) -> bool {
        if self.spec.readiness.is_some() {
            self.readiness == Health::Healthy
        } else {
            self.spec.health.is_none() || self.health == Health::Healthy
        }
    }

    /// Starts the checks of the current run (`generation`), each state `starting` until
    /// its first verdict.
    pub fn start_checks(
        &mut self,
        events: &tokio::sync::mpsc::UnboundedSender<super::Internal>,
        owned: &crate::engine::reaper::OwnedChildren,
    ) {
        let starting = |check: &Option<_>| match check {
            Some(_) => Health::Starting,
            None => Health::None,
        };
        self.health = starting(&self.spec.health);
        self.readiness = starting(&self.spec.readiness);
        let replacing = match (&self.run, &self.reloading) {
            (Some(new), Some(reloading)) => Some(crate::engine::health::Replacing {
                new: new.record.child_pid,
                old: reloading.old_pid(),
            }),
            _ => None,
        };
        let checks = crate::engine::health::spawn_checks(
            &self.spec.name,
            self.generation,
            &self.spec,
            events,
            owned,
            replacing,
        );
        if let Some(run) = self.run.as_mut() {
            run.checkers = checks;
        }
    }

    /// Answers everyone waiting for the stop to finish.
    pub fn settle_stop_waiters(&mut self) {
        let view = self.view();
        for waiter in self.stop_waiters.drain(..) {
            let _ = waiter.send(Ok(view.clone()));
        }
    }
}

pub use procward_core::sys::unix_ms;
