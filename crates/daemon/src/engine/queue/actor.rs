//! The queue actor: owns every job and group, takes one request or event at a time, and
//! after each one starts what may start (free slot in an unpaused group, highest priority
//! first, oldest first within a priority, dependencies met).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use procward_core::queue::{Group, Job, JobState, Schedule};
use procward_core::supervisor::shim::{HandedOver, Launched};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::run::Running;
use super::store::{Store, StoreError};
use super::trash::Trash;
use super::{Command, JobEvent, Queue};
use crate::engine::actor::entry::unix_ms;
use crate::engine::error::EngineError;
use crate::engine::limits::Limits;
use crate::engine::reaper::OwnedChildren;
use crate::engine::watch::{ExitWatcher, Exited};
use crate::home::Home;
use procward_core::resources::Spawn;

/// The queue's settings (`[queue]` in procward.toml).
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Groups to create or resize at start (`[queue.group.NAME] parallel = N`).
    pub groups: Vec<(String, u32)>,
    /// Completed jobs kept (the most recent), so `wait` and `show` still find them.
    pub keep_completed: usize,
    /// `parallel` of the `default` group when it is first created.
    pub default_parallel: u32,
    /// Where the queue lives (`[queue] backend`).
    pub backend: QueueBackend,
}

/// Where the queue's jobs live.
#[derive(Debug, Clone, Default)]
pub enum QueueBackend {
    /// In this daemon's home (SQLite): the default.
    #[default]
    Embedded,
    /// On a Redis server several daemons share (see [`super::redis`]).
    Redis(super::RedisConfig),
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            groups: Vec::new(),
            keep_completed: 100,
            default_parallel: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            backend: QueueBackend::Embedded,
        }
    }
}

/// Events the actor sends itself from the exit watcher and timers.
#[derive(Debug)]
pub(crate) enum Internal {
    /// The attempt's shim exited, or handed its exit record over (to be acknowledged once
    /// saved).
    Exited {
        id: u64,
        attempt: u32,
        handed_over: Option<HandedOver>,
    },
    /// The attempt's shim reported its child started (or why not), with the channel its
    /// exit will come on.
    Reported {
        id: u64,
        attempt: u32,
        launched: Box<Result<(Launched, Option<OwnedFd>), String>>,
    },
    /// A delayed job's time may have come.
    Due { id: u64 },
    /// The attempt ran past its timeout: SIGTERM to its group.
    Timeout { id: u64, attempt: u32 },
    /// The grace period after SIGTERM passed: SIGKILL to its group.
    KillDue { id: u64, attempt: u32 },
    /// A schedule's fire time `at` came.
    ScheduleDue { name: String, at: u64 },
    /// Jobs were held by `[limits]`: look again whether they may start.
    Recheck,
}

impl From<Exited> for Internal {
    fn from(exited: Exited) -> Self {
        Internal::Exited {
            id: exited.name.parse().unwrap_or(0),
            attempt: exited.generation as u32,
            handed_over: exited.handed_over,
        }
    }
}

pub(super) type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// The actor's state.
pub(crate) struct Actor {
    pub(super) home: Home,
    pub(super) exe: PathBuf,
    pub(super) owned: OwnedChildren,
    pub(super) store: Store,
    pub(super) jobs: BTreeMap<u64, Job>,
    pub(super) groups: BTreeMap<String, Group>,
    /// Per group: queued jobs whose dependencies are met, best first.
    pub(super) ready: HashMap<String, BTreeSet<(Reverse<u32>, u64)>>,
    pub(super) running: HashMap<u64, Running>,
    pub(super) running_count: HashMap<String, u32>,
    /// Jobs waiting on each job.
    pub(super) dependents: HashMap<u64, Vec<u64>>,
    /// `wait` (and `cancel` of running jobs) callers, answered when the job is final.
    pub(super) waiters: HashMap<u64, Vec<Reply<Job>>>,
    pub(super) internal: mpsc::UnboundedSender<Internal>,
    pub(super) watcher: ExitWatcher<Internal>,
    pub(super) events: broadcast::Sender<JobEvent>,
    pub(super) last_id: u64,
    pub(super) keep_completed: usize,
    pub(super) completed: VecDeque<u64>,
    pub(super) schedules: BTreeMap<String, Schedule>,
    /// The spawn gate of `[limits]` (`max_jobs`, CPU and memory maxima).
    pub(super) limits: Limits,
    /// A [`Internal::Recheck`] is on its way (jobs are held by a limit).
    pub(super) recheck_pending: bool,
    /// Deletes forgotten jobs' folders off the actor.
    pub(super) trash: Trash,
    /// Saves that failed so far: a shim's handed-over exit is acknowledged only if none
    /// failed meanwhile (else the shim writes its status file too).
    pub(super) failed_saves: u64,
    /// Exits handed over in the current batch of events, acknowledged once it commits.
    pub(super) pending_acks: Vec<HandedOver>,
}

/// Now, in Unix milliseconds.
pub(super) fn now_ms() -> u64 {
    unix_ms(SystemTime::now())
}

pub(super) fn store_error(e: StoreError) -> EngineError {
    EngineError::Internal(e.to_string())
}

/// Opens the store under `home`, restores every job (re-adopting running ones through
/// their shims) and starts the actor on the current runtime.
pub fn spawn(
    home: Home,
    exe: PathBuf,
    owned: OwnedChildren,
    config: QueueConfig,
    limits: Limits,
) -> Result<Queue, EngineError> {
    if let QueueBackend::Redis(redis) = &config.backend {
        let redis = redis.clone();
        return super::redis::spawn(home, exe, owned, config, redis, limits);
    }
    let store = Store::open(&home.queue_db()).map_err(store_error)?;
    let loaded = store.load().map_err(store_error)?;
    let (internal, mut internal_rx) = mpsc::unbounded_channel();
    let watcher = ExitWatcher::start(internal.clone())
        .map_err(|e| EngineError::Internal(format!("cannot watch job exits: {e}")))?;
    let (events, _) = broadcast::channel(4096);
    let (commands, mut command_rx) = mpsc::channel(256);
    let handle_home = home.clone();
    let mut actor = Actor {
        home,
        exe,
        owned,
        store,
        jobs: BTreeMap::new(),
        groups: BTreeMap::new(),
        ready: HashMap::new(),
        running: HashMap::new(),
        running_count: HashMap::new(),
        dependents: HashMap::new(),
        waiters: HashMap::new(),
        internal,
        watcher,
        events: events.clone(),
        last_id: loaded.last_id,
        keep_completed: config.keep_completed,
        completed: VecDeque::new(),
        schedules: BTreeMap::new(),
        limits,
        recheck_pending: false,
        trash: Trash::new(&handle_home.jobs_dir()),
        failed_saves: 0,
        pending_acks: Vec::new(),
    };
    actor.restore(loaded, &config)?;
    tokio::spawn(async move {
        actor.schedule();
        loop {
            tokio::select! {
                Some(command) = command_rx.recv() => actor.handle(command),
                Some(event) = internal_rx.recv() => actor.handle_batch(event, &mut internal_rx),
                else => break,
            }
            actor.schedule();
        }
    });
    Ok(Queue {
        commands,
        events,
        home: handle_home,
        shared: false,
    })
}

impl Actor {
    fn handle(&mut self, command: Command) {
        match command {
            Command::Add(spec, reply) => {
                let _ = reply.send(self.add(*spec));
            }
            Command::List(filter, reply) => {
                let _ = reply.send(Ok(self.list(&filter)));
            }
            Command::Get(id, reply) => {
                let _ = reply.send(self.job(id).cloned());
            }
            Command::Cancel(id, reply) => self.cancel(id, reply),
            Command::Retry(id, reply) => {
                let _ = reply.send(self.retry(id));
            }
            Command::Wait(id, reply) => match self.job(id) {
                Ok(job) if job.state.is_final() => {
                    let _ = reply.send(Ok(job.clone()));
                }
                Ok(_) => self.waiters.entry(id).or_default().push(reply),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Command::Pause(group, pause, reply) => {
                let _ = reply.send(self.pause(group, pause));
            }
            Command::Clean(filter, reply) => {
                let _ = reply.send(self.clean(filter));
            }
            Command::PutGroup(group, reply) => {
                let _ = reply.send(self.put_group(group));
            }
            Command::Groups(reply) => {
                let _ = reply.send(Ok(self.groups.values().cloned().collect()));
            }
            Command::AddSchedule(spec, reply) => {
                let _ = reply.send(self.add_schedule(*spec));
            }
            Command::Schedules(reply) => {
                let _ = reply.send(Ok(self.schedules.values().cloned().collect()));
            }
            Command::RemoveSchedule(name, reply) => {
                let _ = reply.send(self.remove_schedule(&name));
            }
            Command::Hosts(reply) => {
                let running = self.running.len() as u32;
                let _ = reply.send(Ok(vec![super::HostInfo::here(
                    &super::host_name(),
                    running,
                )]));
            }
            // The embedded queue's host view reads the supervisor when asked.
            Command::Managed(_) => {}
            // Logs are read from this home's files (see `logs`), never through the actor.
            Command::Logs(_, reply) => {
                let _ = reply.send(Err(EngineError::Internal(
                    "the embedded queue's logs are read from its files".into(),
                )));
            }
            Command::Polled(reply) => {
                let _ = reply.send(self.polled());
            }
            Command::Breach(breach, reply) => {
                let _ = reply.send(self.poll_breach(*breach));
            }
        }
    }

    pub(super) fn handle_internal(&mut self, event: Internal) {
        match event {
            Internal::Exited {
                id,
                attempt,
                handed_over,
            } => self.on_exit(id, attempt, handed_over),
            Internal::Reported {
                id,
                attempt,
                launched,
            } => self.on_reported(id, attempt, *launched),
            Internal::Due { id } => self.on_due(id),
            Internal::Timeout { id, attempt } => self.on_timeout(id, attempt),
            Internal::KillDue { id, attempt } => self.on_kill_due(id, attempt),
            Internal::ScheduleDue { name, at } => self.on_schedule_due(&name, at),
            Internal::Recheck => self.recheck_pending = false,
        }
    }

    pub(super) fn job(&self, id: u64) -> Result<&Job, EngineError> {
        self.jobs.get(&id).ok_or_else(|| {
            EngineError::NotFound(format!(
                "no job {id} (`procward queue list` shows the jobs)"
            ))
        })
    }

    /// Puts a queued or delayed job where it waits: a timer for a delayed one; for a
    /// queued one the ready set of its group, or nothing while dependencies run, or
    /// failed when one of them failed.
    pub(super) fn admit(&mut self, id: u64) {
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        match job.state {
            JobState::Delayed => {
                let wait = job.run_at_ms.unwrap_or(0).saturating_sub(now_ms());
                let internal = self.internal.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    let _ = internal.send(Internal::Due { id });
                });
            }
            JobState::Queued => match self.dependencies_of(job) {
                Dependencies::Met => {
                    let key = (Reverse(job.spec.priority), id);
                    self.ready
                        .entry(job.spec.group.clone())
                        .or_default()
                        .insert(key);
                }
                Dependencies::Pending => {}
                Dependencies::Broken(dep, state) => {
                    self.set_final(id, JobState::Failed, format!("dependency {dep} {state}"));
                }
            },
            _ => {}
        }
    }

    fn dependencies_of(&self, job: &Job) -> Dependencies {
        let mut pending = false;
        for dep in &job.spec.after {
            // A dependency removed by `clean` or `keep_completed` had ended.
            let Some(state) = self.jobs.get(dep).map(|d| d.state) else {
                continue;
            };
            match state {
                JobState::Completed => {}
                s if s.is_final() && job.spec.after_any => {}
                s if s.is_final() => return Dependencies::Broken(*dep, s),
                _ => pending = true,
            }
        }
        if pending {
            Dependencies::Pending
        } else {
            Dependencies::Met
        }
    }

    fn on_due(&mut self, id: u64) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        if job.state != JobState::Delayed {
            return; // cancelled meanwhile
        }
        if job.run_at_ms.is_some_and(|at| at > now_ms()) {
            // Early: the wall clock stepped back since the timer was armed (or an older
            // timer of the job fired). Wait again for the time left.
            self.admit(id);
            return;
        }
        job.state = JobState::Queued;
        job.run_at_ms = None;
        self.save(id);
        self.emit(id);
        self.admit(id);
    }

    /// Starts ready jobs while their groups have free slots.
    fn schedule(&mut self) {
        let mut starts = Vec::new();
        for (name, group) in &self.groups {
            if group.paused {
                continue;
            }
            let Some(ready) = self.ready.get_mut(name) else {
                continue;
            };
            let running = self.running_count.get(name).copied().unwrap_or(0);
            let free = group.parallel.saturating_sub(running);
            for _ in 0..free {
                let Some((_, id)) = ready.pop_first() else {
                    break;
                };
                starts.push(id);
            }
        }
        let mut running: u32 = self.running_count.values().sum();
        let mut held = Vec::new();
        for id in starts {
            match self.limits.check_spawn(Spawn::Job, running) {
                Ok(()) => {
                    self.start_attempt(id);
                    running += 1;
                }
                Err(refused) => held.push((id, refused.to_string())),
            }
        }
        if !held.is_empty() {
            self.hold(held);
        }
    }

    /// Puts jobs a limit refused back among the ready ones, each with the limit as its
    /// reason, and looks again in a second.
    fn hold(&mut self, held: Vec<(u64, String)>) {
        for (id, reason) in held {
            let Some(job) = self.jobs.get_mut(&id) else {
                continue;
            };
            let key = (Reverse(job.spec.priority), id);
            let group = job.spec.group.clone();
            let reason = format!("held: {reason}");
            let changed = job.reason != reason;
            job.reason = reason;
            self.ready.entry(group).or_default().insert(key);
            if changed {
                self.emit(id);
            }
        }
        if !self.recheck_pending {
            self.recheck_pending = true;
            let internal = self.internal.clone();
            tokio::spawn(async move {
                tokio::time::sleep(crate::engine::limits::poll::PERIOD).await;
                let _ = internal.send(Internal::Recheck);
            });
        }
    }

    pub(super) fn slot_taken(&mut self, group: &str) {
        *self.running_count.entry(group.to_owned()).or_default() += 1;
    }

    pub(super) fn slot_freed(&mut self, group: &str) {
        if let Some(n) = self.running_count.get_mut(group) {
            *n = n.saturating_sub(1);
        }
    }

    pub(super) fn emit(&self, id: u64) {
        if let Some(job) = self.jobs.get(&id) {
            let _ = self.events.send(JobEvent::of(job));
        }
    }
}

/// Whether a queued job may start.
enum Dependencies {
    Met,
    Pending,
    Broken(u64, JobState),
}
