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
mod report;
mod requests;
mod schedules;
mod scripts;
mod worker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procward_core::queue::Job;
use tokio::sync::{Notify, broadcast, mpsc};

use super::actor::{QueueConfig, Reply};
use super::{Command, JobEvent, Queue};
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
    /// Deletes this host's files of jobs gone from the queue, off the request's path.
    trash: super::trash::Trash,
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
        trash: super::trash::Trash::new(&home.jobs_dir()),
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
            Command::Hosts(reply) => {
                let _ = reply.send(fleet::hosts(&self).await);
            }
            Command::Managed(_) => {}
            Command::Logs(query, reply) => {
                let _ = reply.send(output::read(&self, query).await);
            }
            // Limits the poll enforcer would hold: a Redis job's cgroup holds its limits
            // where the machine has cgroups; elsewhere they are not polled (yet).
            Command::Polled(reply) => {
                let _ = reply.send(Vec::new());
            }
            Command::Breach(_, reply) => {
                let _ = reply.send(Ok(()));
            }
        }
    }
}

/// `value` (a job or a schedule, named by `what` in the error) as the JSON kept in Redis.
fn to_json(what: &str, value: &impl serde::Serialize) -> Result<String, EngineError> {
    serde_json::to_string(value).map_err(|e| EngineError::Internal(format!("{what}: {e}")))
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
