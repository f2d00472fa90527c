//! The job queue on Redis (`[queue] backend = "redis"`): several daemons, on one host or
//! many, share one queue. The same [`Queue`] handle and the same contract as the embedded
//! queue (every door works unchanged); what differs is where the truth lives.
//!
//! - Every change is one Lua script ([`scripts`]), so the rules spanning keys hold across
//!   hosts: a group's `parallel` counts the jobs running on every host; a job is claimed
//!   by one host, with a *fencing token*; dependencies, retries and delays are decided in
//!   the same step that records an attempt's end.
//! - A host holds a lease on each job it runs and renews it every third of the lease
//!   ([`worker`]). A host that dies, pauses or loses Redis stops renewing; after the lease
//!   another host takes the job over with a new token and retries it per its attempts.
//!   The old host's report is refused by the token, and a host whose renewal says "lost"
//!   (or that could not renew for a whole lease) kills the job's process tree: no job
//!   completes twice.
//! - Nothing polls in a tight loop: hosts learn of new work and of cancels from Redis
//!   pub/sub ([`events`]), and look on their own only every few seconds.
//! - Redis down: each request answers [`EngineError::Unavailable`]; the daemon's managed
//!   processes go on, and the link reconnects with back-off.
//!
//! Why scripts over plain keys rather than a job-queue crate (apalis-redis) or streams
//! with consumer groups: procward's contract (priorities, per-group concurrency held
//! across hosts, dependencies, cancel of a running job, retry of a failed one, delays)
//! needs atomic steps across several keys that a stream's pending-entries list does not
//! give, and apalis would own the job's model that procward already has.

mod attempt;
mod events;
pub mod fleet;
mod link;
mod orphans;
mod output;
mod schedules;
mod scripts;
mod worker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procward_core::queue::{DEFAULT_GROUP, Group, Job, JobSpec, JobState};
use tokio::sync::{Notify, broadcast, mpsc};

use super::actor::{QueueConfig, Reply, now_ms};
use super::{CleanFilter, Command, JobEvent, JobFilter, Queue, check_group_spec, unknown_group};
use crate::engine::error::EngineError;
use crate::engine::limits::Limits;
use crate::engine::reaper::OwnedChildren;
use crate::home::Home;
use link::Link;

/// `[queue] backend = "redis"` and its settings.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port/db`, or `rediss://` for TLS.
    pub url: String,
    /// Prefix of every key, so several queues can share one Redis (default `procward`).
    pub prefix: String,
    /// This daemon's name among the hosts (default: the machine's host name).
    pub host: String,
    /// How long a job's lease lasts without renewal before another host may take the
    /// job over (default 30 s; renewed every third of it).
    pub lease: Duration,
    /// PEM file of the CA that signed a `rediss://` server's certificate, when it is not
    /// in the system's trust store.
    pub tls_ca: Option<PathBuf>,
    /// The groups whose jobs this host runs (`[queue] serve`, e.g. only `gpu` on the GPU
    /// machines); empty: every group. Any host still adds, lists and cancels any job.
    pub serve: Vec<String>,
}

/// What a host's running attempt is told from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    /// A caller cancelled the job: end it, report it cancelled.
    Cancel,
    /// Its lease was taken over (or could not be renewed in time): kill it, report
    /// nothing.
    Lost,
}

/// A job this host runs.
struct LocalRun {
    /// The fencing token it was claimed (or taken over) with.
    token: u64,
    /// Tells the attempt's task of a cancel or a lost lease.
    control: mpsc::UnboundedSender<Control>,
    /// When its lease was last renewed.
    renewed: std::time::Instant,
}

/// Everything the handle's requests, the worker and the subscriber share.
struct Shared {
    link: Link,
    config: QueueConfig,
    host: String,
    lease: Duration,
    serve: Vec<String>,
    home: Home,
    exe: PathBuf,
    owned: OwnedChildren,
    limits: Limits,
    events: broadcast::Sender<JobEvent>,
    /// `wait` (and cancel) callers, answered when their job's final event comes.
    waiters: Mutex<HashMap<u64, Vec<Reply<Job>>>>,
    /// The jobs this host runs, by id.
    local: Mutex<HashMap<u64, LocalRun>>,
    /// Work may start (a job became ready, a slot was freed): wakes the worker.
    wake: Notify,
    /// This daemon's managed processes, for its registration.
    managed: Mutex<Vec<fleet::HostProcess>>,
    /// Set once the `default` group and `[queue.group.*]` are in Redis.
    groups_made: tokio::sync::OnceCell<()>,
}

/// Starts the queue on Redis: its subscriber, its worker and the handle's task. Redis
/// need not be up yet.
pub(super) fn spawn(
    home: Home,
    exe: PathBuf,
    owned: OwnedChildren,
    config: QueueConfig,
    redis: RedisConfig,
    limits: Limits,
) -> Result<Queue, EngineError> {
    let link = Link::new(&redis.url, &redis.prefix, redis.tls_ca.as_deref())?;
    tracing::info!(url = %link.shown_url, host = %redis.host, "job queue on Redis");
    let (events, _) = broadcast::channel(4096);
    let (commands, mut command_rx) = mpsc::channel(256);
    let shared = Arc::new(Shared {
        link,
        config,
        host: redis.host,
        lease: redis.lease,
        serve: redis.serve,
        home: home.clone(),
        exe,
        owned,
        limits,
        events: events.clone(),
        waiters: Mutex::default(),
        local: Mutex::default(),
        wake: Notify::new(),
        groups_made: tokio::sync::OnceCell::new(),
        managed: Mutex::default(),
    });
    orphans::recover(&shared);
    tokio::spawn(events::subscribe(shared.clone()));
    tokio::spawn(worker::run(shared.clone()));
    tokio::spawn(async move {
        while let Some(command) = command_rx.recv().await {
            let shared = shared.clone();
            tokio::spawn(async move { shared.handle(command).await });
        }
    });
    Ok(Queue {
        commands,
        events,
        home,
        shared: true,
    })
}

impl Shared {
    async fn handle(self: Arc<Self>, command: Command) {
        if let Command::Managed(managed) = command {
            *self.managed.lock().expect("managed") = managed;
            return;
        }
        // The groups are made once Redis first answers, whoever asks first.
        if let Err(e) = self.ensure_groups().await {
            return refuse(command, e);
        }
        match command {
            Command::Add(spec, reply) => {
                let _ = reply.send(self.add(*spec).await);
            }
            Command::List(filter, reply) => {
                let _ = reply.send(self.list(&filter).await);
            }
            Command::Get(id, reply) => {
                let _ = reply.send(self.link.job(id).await);
            }
            Command::Cancel(id, reply) => self.cancel(id, reply).await,
            Command::Retry(id, reply) => {
                let _ = reply.send(self.retry(id).await);
            }
            Command::Wait(id, reply) => self.wait(id, reply).await,
            Command::Pause(group, pause, reply) => {
                let _ = reply.send(self.pause(group, pause).await);
            }
            Command::Clean(filter, reply) => {
                let _ = reply.send(self.clean(filter).await);
            }
            Command::PutGroup(group, reply) => {
                let _ = reply.send(self.put_group(&group, false).await);
            }
            Command::Groups(reply) => {
                let _ = reply.send(self.link.groups().await);
            }
            Command::AddSchedule(spec, reply) => {
                let _ = reply.send(self.add_schedule(*spec).await);
            }
            Command::RemoveSchedule(name, reply) => {
                let _ = reply.send(self.remove_schedule(&name).await);
            }
            Command::Schedules(reply) => {
                let _ = reply.send(self.schedules().await);
            }
            // Limits the poll enforcer would hold: a Redis job's cgroup holds its limits
            // where the machine has cgroups; elsewhere they are not polled (yet).
            Command::Hosts(reply) => {
                let _ = reply.send(fleet::hosts(&self).await);
            }
            Command::Managed(_) => {}
            Command::Logs(query, reply) => {
                let _ = reply.send(output::read(&self, query).await);
            }
            Command::Polled(reply) => {
                let _ = reply.send(Vec::new());
            }
            Command::Breach(_, reply) => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    async fn add(&self, mut spec: JobSpec) -> Result<Job, EngineError> {
        let now = now_ms();
        spec.validate(now)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        self.limits
            .check_spec(&spec.limits)
            .map_err(|e| EngineError::Refused(format!("limits: {e}")))?;
        let groups = self.link.groups().await?;
        if !groups.iter().any(|g| g.name == spec.group) {
            return Err(unknown_group(
                &spec.group,
                groups.iter().map(|g| g.name.as_str()),
            ));
        }
        spec.after.sort_unstable();
        spec.after.dedup();
        let after: Vec<String> = spec.after.iter().map(u64::to_string).collect();
        let (after_any, priority, group) = (spec.after_any, spec.priority, spec.group.clone());
        let mut job = Job::new(0, spec, now);
        job.limit_status = self.limits.statuses(&job.spec.limits);
        let body = to_json(&job)?;
        let run_at = job.run_at_ms.map_or_else(String::new, |at| at.to_string());
        let (status, detail): (String, String) = self
            .link
            .run(&self.link.scripts.add, |s| {
                s.arg(now)
                    .arg(&body)
                    .arg(&group)
                    .arg(priority)
                    .arg(&run_at)
                    .arg(after.join(" "))
                    .arg(if after_any { "1" } else { "0" });
            })
            .await?;
        match status.as_str() {
            "ok" => self.link.job(detail.parse().unwrap_or(0)).await,
            _ => Err(EngineError::Invalid(detail)),
        }
    }

    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, EngineError> {
        let mut jobs = self.link.jobs().await?;
        jobs.retain(|j| filter.matches(j));
        Ok(jobs)
    }

    async fn cancel(&self, id: u64, reply: Reply<Job>) {
        let answer: Result<Vec<String>, EngineError> = self
            .link
            .run(&self.link.scripts.cancel, |s| {
                s.arg(id).arg(now_ms());
            })
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        match answer.first().map(String::as_str) {
            Some("done") => {
                let _ = reply.send(self.link.job(id).await);
            }
            // Its host ends it; the answer comes with the job's final event.
            Some("running") => self.wait(id, reply).await,
            Some("final") => {
                let state = answer.get(1).cloned().unwrap_or_default();
                let _ = reply.send(Err(EngineError::Refused(format!(
                    "job {id} is already {state}; nothing to cancel"
                ))));
            }
            _ => {
                let _ = reply.send(self.link.job(id).await);
            }
        }
    }

    async fn retry(&self, id: u64) -> Result<Job, EngineError> {
        let mut job = self.link.job(id).await?;
        if !matches!(job.state, JobState::Failed | JobState::Cancelled) {
            return Err(refused_retry(id, job.state));
        }
        job.retried_after = job.attempts.len() as u32;
        job.cancel_requested = false;
        job.stop_by_limit = false;
        let body = to_json(&job)?;
        let answer: Vec<String> = self
            .link
            .run(&self.link.scripts.retry, |s| {
                s.arg(id).arg(&body).arg(now_ms());
            })
            .await?;
        match (answer.first().map(String::as_str), answer.get(1)) {
            (Some("ok"), _) => self.link.job(id).await,
            (Some("state"), Some(state)) => {
                Err(refused_retry(id, state.parse().unwrap_or(job.state)))
            }
            _ => self.link.job(id).await,
        }
    }

    /// Answers `reply` once job `id` is final (at once when it is).
    async fn wait(&self, id: u64, reply: Reply<Job>) {
        self.waiters
            .lock()
            .expect("waiters")
            .entry(id)
            .or_default()
            .push(reply);
        // After registering: a final event from now on answers it too.
        match self.link.job(id).await {
            Ok(job) if !job.state.is_final() => {}
            result => self.answer_waiters(id, result),
        }
    }

    /// Answers everyone waiting for job `id` with `result`.
    fn answer_waiters(&self, id: u64, result: Result<Job, EngineError>) {
        let waiting = self.waiters.lock().expect("waiters").remove(&id);
        for reply in waiting.unwrap_or_default() {
            let copy = match &result {
                Ok(job) => Ok(job.clone()),
                Err(e) => Err(copy_error(e)),
            };
            let _ = reply.send(copy);
        }
    }

    async fn pause(&self, group: Option<String>, pause: bool) -> Result<Vec<Group>, EngineError> {
        let answer: Vec<String> = self
            .link
            .run(&self.link.scripts.groups, |s| {
                s.arg("pause").arg(if pause { "1" } else { "0" });
                if let Some(group) = &group {
                    s.arg(group);
                }
            })
            .await?;
        match answer.split_first() {
            Some((status, groups)) if status == "ok" => {
                groups.iter().map(|g| link::decode_group(g)).collect()
            }
            _ => Err(EngineError::NotFound(format!(
                "no group {:?}",
                answer.get(1).cloned().unwrap_or_default()
            ))),
        }
    }

    async fn clean(&self, filter: CleanFilter) -> Result<Vec<u64>, EngineError> {
        let now = now_ms();
        let ids: Vec<u64> = self
            .link
            .jobs()
            .await?
            .iter()
            .filter(|j| filter.selects(j, now))
            .map(|j| j.id)
            .collect();
        if ids.is_empty() {
            return Ok(ids);
        }
        let removed: Vec<u64> = self
            .link
            .run(&self.link.scripts.forget, |s| {
                s.arg(&ids);
            })
            .await?;
        self.remove_dirs(&removed);
        Ok(removed)
    }

    /// Removes this host's logs of jobs that are gone from the queue.
    fn remove_dirs(&self, ids: &[u64]) {
        for id in ids {
            let _ = std::fs::remove_dir_all(self.home.job_dir(*id));
        }
    }

    /// Creates or resizes a group (`only_if_missing`: creates it only).
    async fn put_group(&self, group: &Group, only_if_missing: bool) -> Result<Group, EngineError> {
        check_group_spec(group)?;
        let raw: String = self
            .link
            .run(&self.link.scripts.groups, |s| {
                s.arg("put")
                    .arg(&group.name)
                    .arg(group.parallel)
                    .arg(if only_if_missing { "1" } else { "0" });
            })
            .await?;
        link::decode_group(&raw)
    }

    /// The `default` group and `[queue.group.*]` (made once, when Redis first answers).
    async fn ensure_groups(&self) -> Result<(), EngineError> {
        self.groups_made
            .get_or_try_init(|| self.make_groups())
            .await
            .map(|_| ())
    }

    async fn make_groups(&self) -> Result<(), EngineError> {
        let default = Group {
            name: DEFAULT_GROUP.to_owned(),
            parallel: self.config.default_parallel.max(1),
            paused: false,
        };
        self.put_group(&default, true).await?;
        for (name, parallel) in &self.config.groups {
            let group = Group {
                name: name.clone(),
                parallel: *parallel,
                paused: false,
            };
            self.put_group(&group, false).await?;
        }
        Ok(())
    }
}

/// Answers `command` with `e` (Redis could not be reached to make the groups).
fn refuse(command: Command, e: EngineError) {
    match command {
        Command::Add(_, r) | Command::Get(_, r) | Command::Cancel(_, r) => drop(r.send(Err(e))),
        Command::Retry(_, r) | Command::Wait(_, r) => drop(r.send(Err(e))),
        Command::List(_, r) => drop(r.send(Err(e))),
        Command::Pause(_, _, r) | Command::Groups(r) => drop(r.send(Err(e))),
        Command::Clean(_, r) => drop(r.send(Err(e))),
        Command::PutGroup(_, r) => drop(r.send(Err(e))),
        Command::AddSchedule(_, r) | Command::RemoveSchedule(_, r) => drop(r.send(Err(e))),
        Command::Schedules(r) => drop(r.send(Err(e))),
        Command::Hosts(r) => drop(r.send(Err(e))),
        Command::Managed(_) => {}
        Command::Logs(_, r) => drop(r.send(Err(e))),
        Command::Polled(r) => drop(r.send(Vec::new())),
        Command::Breach(_, r) => drop(r.send(Err(e))),
    }
}

/// The same refusal for another waiter (an engine error is not `Clone`: it may carry the
/// core's error, which a queue request never does).
fn copy_error(e: &EngineError) -> EngineError {
    match e {
        EngineError::Invalid(m) => EngineError::Invalid(m.clone()),
        EngineError::NotFound(m) => EngineError::NotFound(m.clone()),
        EngineError::Refused(m) => EngineError::Refused(m.clone()),
        EngineError::Unavailable(m) => EngineError::Unavailable(m.clone()),
        other => EngineError::Internal(other.to_string()),
    }
}

fn to_json(job: &Job) -> Result<String, EngineError> {
    serde_json::to_string(job).map_err(|e| EngineError::Internal(format!("job: {e}")))
}

fn refused_retry(id: u64, state: JobState) -> EngineError {
    EngineError::Refused(format!(
        "job {id} is {state}; only failed or cancelled jobs can be retried"
    ))
}
