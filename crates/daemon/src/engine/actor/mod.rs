//! The supervisor actor: the one owner of all managed-process state.
//!
//! Requests arrive over a channel ([`Command`]), and so do the actor's own events
//! ([`Internal`]: a run ended, a restart is due, a stop timed out, a health check
//! changed). Handling one message at a time means no locks, and every state change goes
//! through the lifecycle table in `procward_core::supervisor::state`.

mod adopt;
mod deferred;
mod disk;
pub mod entry;
mod exit;
mod lifecycle;
mod reload;
mod stop;
mod triggers;
mod units;

use std::collections::BTreeMap;
use std::path::PathBuf;

use procward_core::Signal;
use procward_core::supervisor::spec::{ProcessSpec, replica};
use procward_core::supervisor::view::ManagedView;
use procward_core::sys::UsageSampler;
use tokio::sync::{mpsc, oneshot};

use self::entry::{Entry, Waiter};
use crate::engine::error::{Result, SupervisorError};
use crate::engine::limits::Limits;
use crate::engine::reaper::OwnedChildren;
use crate::engine::registry::{Record, Registry};
use crate::engine::watch::{ExitWatcher, Exited};
use crate::home::Home;

/// How the reason of a process a limit stopped begins.
pub(super) const LIMIT_STOP: &str = "stopped by a limit:";

/// A managed process's CPU and memory reading is served again for this long: a burst of
/// `list` calls costs no `/proc` reads, and CPU is measured over at least this window.
const USAGE_MAX_AGE: std::time::Duration = std::time::Duration::from_millis(500);

/// A request to the actor, with where to send the answer.
#[derive(Debug)]
pub enum Command {
    /// Register (and, with autostart, start) a new process.
    Start {
        spec: Box<ProcessSpec>,
        reply: oneshot::Sender<Result<ManagedView>>,
    },
    /// Stop; answered once the process (and its group) is gone.
    Stop { name: String, reply: Waiter },
    /// Stop if running, then start; answered once started again.
    Restart { name: String, reply: Waiter },
    /// Start a new run, and stop the current one once the new one is ready.
    Reload { name: String, reply: Waiter },
    /// Give up a reload whose new run is not ready yet; the old run stays.
    AbortReload { name: String },
    /// Record a new replica count in a replica's spec (no restart: it changes nothing
    /// the running process sees).
    SetInstances {
        name: String,
        instances: u32,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Forget a stopped process.
    Remove {
        name: String,
        reply: oneshot::Sender<Result<()>>,
    },
    /// SIGSTOP the group.
    Pause { name: String, reply: Waiter },
    /// SIGCONT the group.
    Resume { name: String, reply: Waiter },
    /// Any signal to the group.
    Signal {
        name: String,
        signal: Signal,
        reply: Waiter,
    },
    /// Every process.
    List {
        /// Also measure metrics (descriptors, I/O, tree sums): costs a process-table walk.
        metrics: bool,
        reply: oneshot::Sender<Vec<ManagedView>>,
    },
    /// What a name stands for: the process of that name, or the replicas of the set it
    /// names (see `replica::members`); empty when unknown. Cheap: no spec is copied.
    Members {
        name: String,
        reply: oneshot::Sender<Vec<String>>,
    },
    /// Every process's spec, without sampling usage or reading log state: what a new
    /// request is validated against, on the start path.
    Specs {
        reply: oneshot::Sender<Vec<ProcessSpec>>,
    },
    /// One process.
    Status { name: String, reply: Waiter },
    /// Answered once the process passes its health check (at once without one).
    WaitHealthy { name: String, reply: Waiter },
    /// Record a limit breach (its words, counted) on a process; `stopped_reason` also
    /// becomes its reason when it is not running (a breach whose action was `stop`).
    Breach {
        name: String,
        note: String,
        stopped_reason: bool,
        reply: oneshot::Sender<Result<()>>,
    },
    /// How many processes run or are starting (for `[limits] max_processes`).
    Active { reply: oneshot::Sender<u32> },
    /// Persist everything and stop the actor; managed processes keep running.
    Shutdown { reply: oneshot::Sender<()> },
}

/// Events the actor sends itself from watcher tasks and timers. `generation` ties an
/// event to one run, so a late event from an earlier run is ignored.
#[derive(Debug)]
pub enum Internal {
    /// The run's shim (or, after re-adoption without a shim, its process) exited.
    Exited { name: String, generation: u64 },
    /// A back-off delay passed.
    RestartDue { name: String, generation: u64 },
    /// The stop timeout passed: SIGKILL the group.
    StopTimeout { name: String, generation: u64 },
    /// The stopped group has no members left.
    GroupGone { name: String, generation: u64 },
    /// A health or readiness check changed its verdict.
    Health {
        name: String,
        generation: u64,
        check: crate::engine::health::Check,
        healthy: bool,
        detail: String,
    },
    /// A restart the spec asks for: a watched file changed (and then nothing for the
    /// debounce time), or `cron_restart` fired.
    Trigger {
        name: String,
        generation: u64,
        why: String,
    },
}

impl From<Exited> for Internal {
    fn from(exited: Exited) -> Self {
        Internal::Exited {
            name: exited.name,
            generation: exited.generation,
        }
    }
}

/// The actor's state.
pub struct Actor {
    home: Home,
    exe: PathBuf,
    owned: OwnedChildren,
    registry: Registry,
    entries: BTreeMap<String, Entry>,
    events: mpsc::UnboundedSender<Internal>,
    watcher: ExitWatcher<Internal>,
    sampler: UsageSampler,
    /// When the shims' log reports were last read (see `disk::refresh_disk_state`).
    log_states_read_at: Option<std::time::Instant>,
    /// How limits are enforced here (for each entry's `limit_statuses`).
    limits: Limits,
    /// What the last message left for after its reply (`deferred.rs`).
    deferred: Vec<deferred::Deferred>,
}

/// Runs blocking `f` (waiting for a shim's report) from the actor's task without stalling
/// the runtime: on a multi-thread runtime the worker's other tasks move to another
/// thread meanwhile; elsewhere (single-threaded tests) it simply runs.
fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Starts the actor on the current runtime, restoring `records` (re-adopting processes
/// that are still running); returns the channel to send it commands.
pub fn spawn(
    home: Home,
    exe: PathBuf,
    owned: OwnedChildren,
    records: Vec<Record>,
    limits: Limits,
) -> mpsc::Sender<Command> {
    let (commands, mut command_rx) = mpsc::channel(256);
    let (events, mut event_rx) = mpsc::unbounded_channel();
    let registry = Registry::new(home.registry_dir());
    let watcher = ExitWatcher::start(events.clone()).expect("cannot start the exit watcher thread");
    let mut actor = Actor {
        home,
        exe,
        owned,
        registry,
        entries: BTreeMap::new(),
        events,
        watcher,
        log_states_read_at: None,
        sampler: UsageSampler::new(),
        limits,
        deferred: Vec::new(),
    };
    tokio::spawn(async move {
        actor.restore(records);
        actor.run_deferred();
        loop {
            tokio::select! {
                Some(command) = command_rx.recv() => {
                    if let Command::Shutdown { reply } = command {
                        // A reload cut short: the new run is the one recorded.
                        let names: Vec<String> = actor.entries.keys().cloned().collect();
                        for name in names {
                            actor.drop_reload(&name);
                        }
                        actor.persist_all();
                        actor.release_units();
                        // A change the disk refused gets a last chance to be saved.
                        actor.registry.flush(std::time::Duration::from_secs(2));
                        let _ = reply.send(());
                        break;
                    }
                    actor.handle(command);
                }
                Some(event) = event_rx.recv() => actor.handle_internal(event),
                else => break,
            }
            if actor.has_deferred() {
                // The request task a reply woke waits in this worker's LIFO slot, which no
                // other worker may take, until this task yields: let the reply go out
                // first, then finish what the message left.
                tokio::task::yield_now().await;
                actor.run_deferred();
            }
        }
    });
    commands
}

impl Actor {
    fn handle(&mut self, command: Command) {
        match command {
            Command::Start { spec, reply } => {
                let _ = reply.send(self.start(*spec));
            }
            Command::Stop { name, reply } => self.stop(&name, reply, None),
            Command::Restart { name, reply } => self.restart(&name, reply),
            Command::Reload { name, reply } => self.reload(&name, reply),
            Command::AbortReload { name } => self.abort_reload(&name),
            Command::SetInstances {
                name,
                instances,
                reply,
            } => {
                let result = self.entry_mut(&name).map(|e| e.spec.instances = instances);
                self.persist(&name);
                let _ = reply.send(result);
            }
            Command::Remove { name, reply } => {
                let _ = reply.send(self.remove(&name));
            }
            Command::Pause { name, reply } => {
                let _ = reply.send(self.pause(&name, true));
            }
            Command::Resume { name, reply } => {
                let _ = reply.send(self.pause(&name, false));
            }
            Command::Signal {
                name,
                signal,
                reply,
            } => {
                let _ = reply.send(self.signal(&name, signal));
            }
            Command::List { metrics, reply } => {
                self.refresh_usage(None);
                let mut views: Vec<ManagedView> = self.entries.values().map(Entry::view).collect();
                if metrics {
                    self.add_metrics(&mut views);
                }
                let _ = reply.send(views);
            }
            Command::Members { name, reply } => {
                let names = self.entries.keys().map(String::as_str);
                let _ = reply.send(replica::members(&name, names));
            }
            Command::Specs { reply } => {
                let _ = reply.send(self.entries.values().map(|e| e.spec.clone()).collect());
            }
            Command::Status { name, reply } => {
                self.refresh_usage(Some(&name));
                let view = self.entry(&name).map(|e| e.view()).map(|view| {
                    let mut views = [view];
                    self.add_metrics(&mut views);
                    let [view] = views;
                    view
                });
                let _ = reply.send(view);
            }
            Command::WaitHealthy { name, reply } => self.wait_healthy(&name, reply),
            Command::Breach {
                name,
                note,
                stopped_reason,
                reply,
            } => {
                let result = self.entry_mut(&name).map(|entry| {
                    entry.limit_breaches += 1;
                    if stopped_reason {
                        // Kept by the stop that follows (see `finish_stop`).
                        entry.reason = format!("{LIMIT_STOP} {note}");
                    }
                    entry.limit_breach = note;
                });
                let _ = reply.send(result);
            }
            Command::Active { reply } => {
                let active = self.entries.values().filter(|e| e.state.is_alive()).count();
                let _ = reply.send(active as u32);
            }
            Command::Shutdown { .. } => unreachable!("handled by the loop"),
        }
    }

    fn handle_internal(&mut self, event: Internal) {
        match event {
            Internal::Exited { name, generation } => self.on_exit(&name, generation),
            Internal::RestartDue { name, generation } => self.on_restart_due(&name, generation),
            Internal::StopTimeout { name, generation } => self.on_stop_timeout(&name, generation),
            Internal::GroupGone { name, generation } => self.on_group_gone(&name, generation),
            Internal::Health {
                name,
                generation,
                check,
                healthy,
                detail,
            } => {
                self.on_health(&name, generation, check, healthy, detail);
            }
            Internal::Trigger {
                name,
                generation,
                why,
            } => self.on_trigger(&name, generation, &why),
        }
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        self.entries
            .get(name)
            .ok_or_else(|| SupervisorError::UnknownName(name.to_owned()))
    }

    fn entry_mut(&mut self, name: &str) -> Result<&mut Entry> {
        self.entries
            .get_mut(name)
            .ok_or_else(|| SupervisorError::UnknownName(name.to_owned()))
    }

    /// Writes one entry to the registry; a failure is logged (the process keeps running).
    fn persist(&self, name: &str) {
        if let Some(entry) = self.entries.get(name)
            && let Err(e) = self.registry.save(&entry.record())
        {
            tracing::error!(%name, error = %e, "cannot persist registry entry");
        }
    }

    fn persist_all(&self) {
        for name in self.entries.keys() {
            self.persist(name);
        }
    }

    /// Measures CPU and memory of every running process (or only `only`), reusing a
    /// reading younger than [`USAGE_MAX_AGE`]: CPU is per process since its previous
    /// reading.
    fn refresh_usage(&mut self, only: Option<&str>) {
        let pids: Vec<u32> = self
            .entries
            .iter()
            .filter(|(name, _)| only.is_none_or(|only| only == name.as_str()))
            .filter_map(|(_, e)| e.run.as_ref())
            .map(|r| r.record.child_pid)
            .collect();
        let usage: BTreeMap<u32, (f32, u64)> = self
            .sampler
            .usage_of(&pids, USAGE_MAX_AGE)
            .into_iter()
            .map(|u| (u.pid, (u.cpu_percent, u.memory_rss)))
            .collect();
        for (name, entry) in &mut self.entries {
            if only.is_some_and(|only| only != name.as_str()) {
                continue;
            }
            if let Some(run) = &entry.run {
                entry.usage = usage
                    .get(&run.record.child_pid)
                    .copied()
                    .unwrap_or_default();
            }
        }
        self.refresh_disk_state();
    }

    /// Adds each running view's metrics and its tree's (see `procward_core::sys::metrics`):
    /// one walk of the process table for all of them.
    fn add_metrics(&mut self, views: &mut [ManagedView]) {
        let roots: Vec<u32> = views.iter().filter_map(|v| v.pid).collect();
        let measured = self.sampler.metrics_of(&roots, USAGE_MAX_AGE);
        for view in views {
            if let Some(m) = view.pid.and_then(|pid| measured.get(&pid)) {
                view.metrics = Some(m.main);
                view.tree = Some(m.tree);
            }
        }
    }
}
