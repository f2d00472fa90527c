//! The job queue: commands run as supervised processes (under the same shim as managed
//! processes, output captured the same way) from a persistent queue with groups,
//! priorities, delays, dependencies, retries with back-off and timeouts.
//!
//! Like the supervisor, one actor ([`actor`]) owns every job; [`Queue`] is its cloneable
//! handle and every door (gRPC, MCP, socket.io, the CLI) calls it, so each rule is
//! checked here once: the spec ([`JobSpec::validate`]), the group, the dependencies.
//! Every change is written to the [`store`] before it is answered, and a job that was
//! running when the daemon died is re-adopted through its shim on the next start, not run
//! twice ([`run`]).

mod actor;
mod attempt;
pub mod limits;
pub mod logs;
mod persist;
mod redis;
mod requests;
mod restore;
mod run;
mod schedules;
pub mod store;
pub(crate) mod trash;

use std::time::Duration;

use procward_core::queue::{Group, Job, JobSpec, JobState, Schedule, ScheduleSpec};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::error::EngineError;

pub use actor::{QueueBackend, QueueConfig, spawn};
pub use redis::RedisConfig;
pub use redis::fleet::{HostInfo, HostProcess, host_name};

/// The grace period between SIGTERM and SIGKILL when a job is cancelled or times out.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// Something that happened to a job, for watchers (gRPC `Watch`, socket.io, `wait`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEvent {
    /// The job.
    pub id: u64,
    /// Its group.
    pub group: String,
    /// Its state after the change.
    pub state: JobState,
    /// The attempt running or last run (0 before the first).
    pub attempt: u32,
    /// Once it has ended: its exit code as a shell reports it (128 + signal).
    pub exit_code: Option<i32>,
    /// Why, when that needs saying.
    pub reason: String,
}

impl JobEvent {
    /// The event describing `job` as it is now.
    pub fn of(job: &Job) -> Self {
        Self {
            id: job.id,
            group: job.spec.group.clone(),
            state: job.state,
            attempt: job.last_attempt().map_or(0, |a| a.number),
            exit_code: job.state.is_final().then(|| job.exit_code()).flatten(),
            reason: job.reason.clone(),
        }
    }
}

/// Which jobs `list` shows.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this group's.
    pub group: Option<String>,
    /// Only those in one of these states (empty: every state).
    pub states: Vec<JobState>,
}

impl JobFilter {
    /// Whether `job` is one the filter shows.
    pub fn matches(&self, job: &Job) -> bool {
        self.group.as_ref().is_none_or(|g| &job.spec.group == g)
            && (self.states.is_empty() || self.states.contains(&job.state))
    }
}

/// Which final jobs `clean` removes.
#[derive(Debug, Clone, Copy, Default)]
pub struct CleanFilter {
    /// Completed jobs.
    pub completed: bool,
    /// Failed and cancelled jobs.
    pub failed: bool,
    /// Only jobs that ended at least this long ago.
    pub older_than: Option<Duration>,
}

impl CleanFilter {
    /// Whether `clean` removes `job` at `now_ms` (neither kind named: both).
    pub fn selects(&self, job: &Job, now_ms: u64) -> bool {
        let (completed, failed) = match (self.completed, self.failed) {
            (false, false) => (true, true),
            flags => flags,
        };
        let kind = match job.state {
            JobState::Completed => completed,
            JobState::Failed | JobState::Cancelled => failed,
            _ => false,
        };
        // When a final job ended: its last attempt's end, else when it was added.
        let ended = job
            .last_attempt()
            .and_then(|a| a.ended_ms)
            .unwrap_or(job.created_ms);
        let cutoff = self
            .older_than
            .map(|age| now_ms.saturating_sub(age.as_millis() as u64));
        kind && cutoff.is_none_or(|cutoff| ended <= cutoff)
    }
}

/// The one check of a group a caller creates or resizes: its name, and `parallel` in
/// `1..=MAX_PARALLEL`. Both backends call it.
pub(crate) fn check_group_spec(group: &Group) -> Result<(), EngineError> {
    procward_core::supervisor::spec::validate_name(&group.name)
        .map_err(|e| EngineError::Invalid(format!("group: {e}")))?;
    let max = procward_core::queue::MAX_PARALLEL;
    if !(1..=max).contains(&group.parallel) {
        return Err(EngineError::Invalid(format!(
            "parallel: {} is outside 1..={max}",
            group.parallel
        )));
    }
    Ok(())
}

/// The refusal of a job in a group that does not exist, naming the groups there are.
pub(crate) fn unknown_group<'a>(group: &str, known: impl Iterator<Item = &'a str>) -> EngineError {
    let known: Vec<&str> = known.collect();
    EngineError::Invalid(format!(
        "unknown group {group:?} (groups: {}); create it with `procward queue group add {group} --parallel N`",
        known.join(", "),
    ))
}

/// Whether a job in `state` may be queued again: only a failed or cancelled one.
pub(crate) fn check_retryable(id: u64, state: JobState) -> Result<(), EngineError> {
    match state {
        JobState::Failed | JobState::Cancelled => Ok(()),
        state => Err(refused_retry(id, state)),
    }
}

/// The refusal of a retry of job `id`, which is `state` (neither failed nor cancelled).
pub(crate) fn refused_retry(id: u64, state: JobState) -> EngineError {
    EngineError::Refused(format!(
        "job {id} is {state}; only failed or cancelled jobs can be retried"
    ))
}

/// The refusal of a cancel of job `id`, which already ended as `state`.
pub(crate) fn nothing_to_cancel(id: u64, state: impl std::fmt::Display) -> EngineError {
    EngineError::Refused(format!("job {id} is already {state}; nothing to cancel"))
}

/// A request to the queue actor.
#[derive(Debug)]
pub(crate) enum Command {
    Add(Box<JobSpec>, oneshot::Sender<Result<Job, EngineError>>),
    List(JobFilter, oneshot::Sender<Result<Vec<Job>, EngineError>>),
    Get(u64, oneshot::Sender<Result<Job, EngineError>>),
    Cancel(u64, oneshot::Sender<Result<Job, EngineError>>),
    Retry(u64, oneshot::Sender<Result<Job, EngineError>>),
    Wait(u64, oneshot::Sender<Result<Job, EngineError>>),
    Pause(
        Option<String>,
        bool,
        oneshot::Sender<Result<Vec<Group>, EngineError>>,
    ),
    Clean(CleanFilter, oneshot::Sender<Result<Vec<u64>, EngineError>>),
    PutGroup(Group, oneshot::Sender<Result<Group, EngineError>>),
    Groups(oneshot::Sender<Result<Vec<Group>, EngineError>>),
    AddSchedule(
        Box<ScheduleSpec>,
        oneshot::Sender<Result<Schedule, EngineError>>,
    ),
    Schedules(oneshot::Sender<Result<Vec<Schedule>, EngineError>>),
    RemoveSchedule(String, oneshot::Sender<Result<Schedule, EngineError>>),
    Hosts(oneshot::Sender<Result<Vec<HostInfo>, EngineError>>),
    Managed(Vec<HostProcess>),
    Logs(
        logs::JobLogsQuery,
        oneshot::Sender<Result<mpsc::Receiver<crate::engine::logs::LogLine>, EngineError>>,
    ),
    Polled(oneshot::Sender<Vec<limits::PolledJob>>),
    Breach(
        Box<limits::JobBreach>,
        oneshot::Sender<Result<(), EngineError>>,
    ),
}

/// The queue's handle: cheap to clone, every clone the same queue.
#[derive(Debug, Clone)]
pub struct Queue {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<JobEvent>,
    /// Where the attempts' logs are.
    home: crate::home::Home,
    /// Whether the queue is shared with other daemons (on Redis).
    shared: bool,
}

impl Queue {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| EngineError::Internal("the job queue has stopped".into()))?;
        rx.await
            .map_err(|_| EngineError::Internal("the job queue has stopped".into()))
    }

    /// Queues a job after checking its spec, its group and its dependencies; answers with
    /// the job (its id) once it is stored. Nothing is queued when a check fails.
    pub async fn add(&self, spec: JobSpec) -> Result<Job, EngineError> {
        self.ask(|tx| Command::Add(Box::new(spec), tx)).await?
    }

    /// Jobs matching `filter`, by id.
    pub async fn list(&self, filter: JobFilter) -> Result<Vec<Job>, EngineError> {
        self.ask(|tx| Command::List(filter, tx)).await?
    }

    /// One job.
    pub async fn get(&self, id: u64) -> Result<Job, EngineError> {
        self.ask(|tx| Command::Get(id, tx)).await?
    }

    /// One job and, while it runs, the metrics of its attempt's process and tree (a
    /// fresh walk of the process table, so only single-job reads pay for it).
    pub async fn get_with_metrics(
        &self,
        id: u64,
    ) -> Result<(Job, Option<procward_core::sys::TreeMetrics>), EngineError> {
        let job = self.get(id).await?;
        let Some(pid) = job.running_pid() else {
            return Ok((job, None));
        };
        let measured = tokio::task::spawn_blocking(move || {
            procward_core::sys::UsageSampler::new()
                .metrics_of(&[pid], std::time::Duration::ZERO)
                .remove(&pid)
        })
        .await
        .ok()
        .flatten();
        Ok((job, measured))
    }

    /// Cancels a job: a queued or delayed one at once; a running one by SIGTERM to its
    /// whole process group and SIGKILL after [`KILL_GRACE`], answered once it has ended.
    /// Dependents of a cancelled job fail (unless added with `after_any`).
    pub async fn cancel(&self, id: u64) -> Result<Job, EngineError> {
        self.ask(|tx| Command::Cancel(id, tx)).await?
    }

    /// Queues a failed or cancelled job again, with its full number of attempts.
    pub async fn retry(&self, id: u64) -> Result<Job, EngineError> {
        self.ask(|tx| Command::Retry(id, tx)).await?
    }

    /// Answers once the job has ended (completed, failed or cancelled).
    pub async fn wait(&self, id: u64) -> Result<Job, EngineError> {
        self.ask(|tx| Command::Wait(id, tx)).await?
    }

    /// Pauses (`pause`) or resumes one group, or every group: a paused group starts no
    /// new job; running ones go on.
    pub async fn pause(
        &self,
        group: Option<String>,
        pause: bool,
    ) -> Result<Vec<Group>, EngineError> {
        self.ask(|tx| Command::Pause(group, pause, tx)).await?
    }

    /// Removes final jobs (and their logs); answers with the ids removed.
    pub async fn clean(&self, filter: CleanFilter) -> Result<Vec<u64>, EngineError> {
        self.ask(|tx| Command::Clean(filter, tx)).await?
    }

    /// Creates a group or changes its `parallel` (`1..=1024`).
    pub async fn put_group(&self, name: String, parallel: u32) -> Result<Group, EngineError> {
        let group = Group {
            name,
            parallel,
            paused: false,
        };
        self.ask(|tx| Command::PutGroup(group, tx)).await?
    }

    /// Every group.
    pub async fn groups(&self) -> Result<Vec<Group>, EngineError> {
        self.ask(Command::Groups).await?
    }

    /// Adds a schedule: every fire queues a copy of its job (labelled `schedule=NAME`).
    pub async fn add_schedule(&self, spec: ScheduleSpec) -> Result<Schedule, EngineError> {
        self.ask(|tx| Command::AddSchedule(Box::new(spec), tx))
            .await?
    }

    /// Every schedule, by name.
    pub async fn schedules(&self) -> Result<Vec<Schedule>, EngineError> {
        self.ask(Command::Schedules).await?
    }

    /// Removes a schedule; the jobs it queued stay.
    pub async fn remove_schedule(&self, name: String) -> Result<Schedule, EngineError> {
        self.ask(|tx| Command::RemoveSchedule(name, tx)).await?
    }

    /// The daemons sharing this queue (with the embedded queue: this one), by name.
    pub async fn hosts(&self) -> Result<Vec<HostInfo>, EngineError> {
        self.ask(Command::Hosts).await?
    }

    /// Whether other daemons share this queue (on Redis): a job may run on another host.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// A job's logs from the shared queue's copy of its output (a job on another host).
    pub async fn shared_logs(
        &self,
        query: logs::JobLogsQuery,
    ) -> Result<mpsc::Receiver<crate::engine::logs::LogLine>, EngineError> {
        self.ask(|tx| Command::Logs(query, tx)).await?
    }

    /// Tells the queue this daemon's managed processes, for its registration in the
    /// fleet view (the queue on Redis; the embedded one has no use for them).
    pub async fn report_managed(&self, managed: Vec<HostProcess>) {
        let _ = self.commands.send(Command::Managed(managed)).await;
    }

    /// Running attempts with a limit no cgroup holds here (for the poll enforcer).
    pub async fn polled(&self) -> Result<Vec<limits::PolledJob>, EngineError> {
        self.ask(Command::Polled).await
    }

    /// Applies a breach the poll enforcer found in a running attempt (see [`limits`]).
    pub async fn breach(&self, breach: limits::JobBreach) -> Result<(), EngineError> {
        self.ask(|tx| Command::Breach(Box::new(breach), tx)).await?
    }

    /// Every job event from now on (a slow receiver skips events and is told so: it
    /// should `get` the jobs it cares about then).
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.events.subscribe()
    }
}
