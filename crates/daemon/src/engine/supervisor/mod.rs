//! The transport-free face of the supervisor: async methods that every interface (gRPC
//! now; MCP and the web later) calls. Multi-step operations (replace, delete, up, down)
//! are sequenced here, so the actor only ever handles one small step at a time.

use std::path::Path;
use std::time::Duration;

use procward_core::Signal;
use procward_core::supervisor::compose::{check_request, needs_registered};
use procward_core::supervisor::spec::ProcessSpec;
use procward_core::supervisor::state::State;
use procward_core::supervisor::view::ManagedView;
use tokio::sync::{mpsc, oneshot};

mod replicas;

use crate::engine::actor::Command;
use crate::engine::error::{Result, SupervisorError};
use crate::engine::limits::Limits;
use procward_core::resources::{BreachAction, Spawn};
use procward_core::supervisor::spec::replica;

/// A cheap, cloneable handle on the supervisor actor.
#[derive(Debug, Clone)]
pub struct Supervisor {
    commands: mpsc::Sender<Command>,
    limits: Limits,
}

impl Supervisor {
    /// Wraps the actor's command channel; starts pass `limits`' spawn gate.
    pub(crate) fn new(commands: mpsc::Sender<Command>, limits: Limits) -> Self {
        Self { commands, limits }
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| SupervisorError::ShuttingDown)?;
        answer.await.map_err(|_| SupervisorError::ShuttingDown)
    }

    /// The one validation of every start and up, whichever interface it came from: each
    /// spec valid, names unique, dependencies registered or in the request, no cycle
    /// ([`check_request`]). Returns the specs in start order; on error nothing changed and
    /// the message names the field (`depends_on: ...`).
    ///
    /// The registered specs are copied from the actor only when a spec has dependencies
    /// to resolve ([`needs_registered`]): a plain start costs the same with 1,000
    /// processes registered as with none.
    async fn check(&self, specs: Vec<ProcessSpec>) -> Result<Vec<ProcessSpec>> {
        let registered = match needs_registered(&specs) {
            true => self.specs().await?,
            false => Vec::new(),
        };
        let specs = check_request(&registered, specs).map_err(|e| {
            let field = e.field().unwrap_or("spec");
            SupervisorError::Invalid(format!("{field}: {e}"))
        })?;
        for spec in &specs {
            self.limits
                .check_spec(&spec.limits)
                .map_err(|e| SupervisorError::State(format!("'{}': {e}", spec.name)))?;
        }
        Ok(specs)
    }

    /// Every registered spec, without sampling anything (what the poll enforcer looks
    /// through each second).
    pub async fn specs(&self) -> Result<Vec<ProcessSpec>> {
        self.call(|reply| Command::Specs { reply }).await
    }

    /// The limits every start passes and how this machine enforces them.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The spawn gate of `[limits]`: refused while the machine or procward is at a
    /// maximum, with the limit and the current value in the words.
    async fn gate(&self, starting: u32) -> Result<()> {
        if self.limits.spawn_limits().is_empty() || starting == 0 {
            return Ok(());
        }
        let active = self.call(|reply| Command::Active { reply }).await?;
        // Each process of an `up` counts: the last one must fit too.
        self.limits
            .check_spawn(Spawn::Process, active + starting - 1)
            .map_err(|e| SupervisorError::Limit(e.to_string()))
    }

    /// Applies a limit breach found by an enforcer: records it on the process (shown in
    /// its status) and restarts it, stops it (the breach as its reason) or only notes it.
    pub async fn breach(&self, name: &str, note: &str, action: BreachAction) -> Result<()> {
        let record = |stopped_reason| {
            self.call(move |reply| Command::Breach {
                name: name.to_owned(),
                note: format!("{note} ({action})"),
                stopped_reason,
                reply,
            })
        };
        match action {
            BreachAction::Notify => record(false).await?,
            BreachAction::Restart => {
                record(false).await??;
                self.restart_one(name).await.map(drop)
            }
            // The reason first, so that whoever sees it stopped sees why.
            BreachAction::Stop => {
                record(true).await??;
                self.stop_one(name).await.map(drop)
            }
        }
    }

    /// Registers and starts a process. With `replace`, an existing process of the same
    /// name is kept when its spec is unchanged and it runs, and replaced otherwise.
    /// Refused (nothing changes) unless [`Self::check`] passes.
    ///
    /// A spec with `instances` above 1 starts its replicas `NAME:0..N-1`; the answer is
    /// replica 0's view. With `replace`, registered members of the set it no longer has
    /// (a plain process of that name, replicas past N) are deleted.
    pub async fn start(&self, spec: ProcessSpec, replace: bool) -> Result<ManagedView> {
        refuse_replica_name(&spec.name)?;
        let base = spec.name.clone();
        let specs = self.check(vec![spec]).await?;
        if !replace {
            // The name, or a set of that name (`web:0`), is taken: by names only, no specs.
            match self.members(&base).await {
                Ok(_) => return Err(SupervisorError::Duplicate(base)),
                Err(SupervisorError::UnknownName(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let starting = specs.iter().filter(|s| s.autostart).count() as u32;
        self.gate(starting).await?;
        let mut views = self.start_set(&base, specs, replace).await?;
        Ok(views.remove(0))
    }

    /// Starts the checked members of one set (or one plain process), after deleting, with
    /// `replace`, what is registered under its base name and not among them.
    async fn start_set(
        &self,
        base: &str,
        specs: Vec<ProcessSpec>,
        replace: bool,
    ) -> Result<Vec<ManagedView>> {
        if replace {
            self.delete_stale(&[base], &specs).await?;
        }
        let mut views = Vec::with_capacity(specs.len());
        for spec in specs {
            views.push(self.start_checked(spec, replace).await?);
        }
        Ok(views)
    }

    /// Deletes what is registered under one of `bases` (a plain process of that name, or
    /// replicas of that set) and is not among `keep`: what a replacing start or an `up`
    /// no longer has.
    async fn delete_stale(&self, bases: &[impl AsRef<str>], keep: &[ProcessSpec]) -> Result<()> {
        for stale in self.specs().await? {
            let base = replica::base_of(&stale.name);
            let gone = bases.iter().any(|b| b.as_ref() == base)
                && !keep.iter().any(|s| s.name == stale.name);
            if gone {
                self.delete_one(&stale.name).await?;
            }
        }
        Ok(())
    }

    /// Registers and starts a process that must not stay registered when it cannot run (an
    /// ad-hoc `StartProcess`): on a spawn failure it is deleted again, with the log folder
    /// its start created, so a failed start leaves nothing behind.
    pub async fn start_or_discard(&self, mut spec: ProcessSpec) -> Result<ManagedView> {
        refuse_replica_name(&spec.name)?;
        spec.instances = 1;
        let spec = self.check(vec![spec]).await?.remove(0);
        self.gate(1).await?;
        let name = spec.name.clone();
        let result = self.start_checked(spec, false).await;
        if let Err(SupervisorError::Spawn { .. }) = &result {
            let log = self.status_one(&name).await.ok().map(|v| v.stdout_log);
            let _ = self.delete_one(&name).await;
            // `logs/NAME/stdout.log`: the folder is the log's parent, named after the process.
            if let Some(dir) = log.as_deref().map(Path::new).and_then(Path::parent)
                && dir.ends_with(&name)
            {
                remove_if_only_empty_logs(dir);
            }
        }
        result
    }

    async fn start_checked(&self, spec: ProcessSpec, replace: bool) -> Result<ManagedView> {
        if replace && let Ok(current) = self.status_one(&spec.name).await {
            let active = matches!(
                current.state,
                State::Running | State::Paused | State::Pending | State::Starting
            );
            if current.spec == spec && active {
                return Ok(current);
            }
            self.delete_one(&spec.name).await?;
        }
        self.call(|reply| Command::Start {
            spec: Box::new(spec),
            reply,
        })
        .await?
    }

    /// Stops a process and waits until its whole group is gone.
    async fn stop_one(&self, name: &str) -> Result<ManagedView> {
        self.call(|reply| Command::Stop {
            name: name.to_owned(),
            reply,
        })
        .await?
    }

    /// Stops (if needed) and starts again, resetting the back-off.
    async fn restart_one(&self, name: &str) -> Result<ManagedView> {
        self.call(|reply| Command::Restart {
            name: name.to_owned(),
            reply,
        })
        .await?
    }

    /// Stops one process and forgets it (its logs stay on disk).
    async fn delete_one(&self, name: &str) -> Result<()> {
        self.stop_one(name).await?;
        self.call(|reply| Command::Remove {
            name: name.to_owned(),
            reply,
        })
        .await?
    }

    /// SIGSTOP to the group.
    async fn pause_one(&self, name: &str) -> Result<ManagedView> {
        self.call(|reply| Command::Pause {
            name: name.to_owned(),
            reply,
        })
        .await?
    }

    /// SIGCONT to the group.
    async fn resume_one(&self, name: &str) -> Result<ManagedView> {
        self.call(|reply| Command::Resume {
            name: name.to_owned(),
            reply,
        })
        .await?
    }

    /// Any signal to the group.
    async fn signal_one(&self, name: &str, signal: Signal) -> Result<ManagedView> {
        self.call(|reply| Command::Signal {
            name: name.to_owned(),
            signal,
            reply,
        })
        .await?
    }

    /// Every managed process, sorted by name.
    pub async fn list(&self) -> Result<Vec<ManagedView>> {
        self.call(|reply| Command::List {
            metrics: false,
            reply,
        })
        .await
    }

    /// Every managed process with its metrics and its tree's (costlier than [`Self::list`]:
    /// a walk of the process table and a few `/proc` reads per running process).
    pub async fn list_with_metrics(&self) -> Result<Vec<ManagedView>> {
        self.call(|reply| Command::List {
            metrics: true,
            reply,
        })
        .await
    }

    /// One managed process exactly by its name (a replica's included).
    async fn status_one(&self, name: &str) -> Result<ManagedView> {
        self.call(|reply| Command::Status {
            name: name.to_owned(),
            reply,
        })
        .await?
    }

    /// Waits until a process is ready: its readiness check passes, or its health check
    /// without one (at once without either).
    pub async fn wait_healthy(&self, name: &str, timeout: Duration) -> Result<ManagedView> {
        let wait = self.call(|reply| Command::WaitHealthy {
            name: name.to_owned(),
            reply,
        });
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result?,
            Err(_) => Err(SupervisorError::State(format!(
                "'{name}' did not become ready within {timeout:?}"
            ))),
        }
    }

    /// Starts `specs` in dependency order (as given where that allows); a process that
    /// others depend on and that has a health check must be healthy before they start.
    /// The whole set is checked first, so a bad set starts nothing.
    pub async fn up(&self, specs: Vec<ProcessSpec>) -> Result<Vec<ManagedView>> {
        for spec in &specs {
            refuse_replica_name(&spec.name)?;
        }
        let bases: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
        let specs = self.check(specs).await?;
        // Members a set no longer has (it shrank, or was a plain process) go first.
        self.delete_stale(&bases, &specs).await?;
        let mut started = Vec::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            let running = matches!(self.status_one(&spec.name).await, Ok(v) if v.state.is_alive());
            if spec.autostart && !running {
                self.gate(1).await?;
            }
            let view = self.start_checked(spec.clone(), true).await?;
            let needed = specs[index + 1..].iter().any(|later| {
                later
                    .depends_on
                    .iter()
                    .any(|d| replica::names(d, &spec.name))
            });
            let view = match patience(spec) {
                Some(patience) if needed => self.wait_healthy(&spec.name, patience).await?,
                _ => view,
            };
            started.push(view);
        }
        Ok(started)
    }

    /// Stops `names` in the given order (all processes, in reverse name order, when empty);
    /// names that are not registered are skipped.
    pub async fn down(&self, names: Vec<String>) -> Result<Vec<ManagedView>> {
        let names = if names.is_empty() {
            self.list()
                .await?
                .into_iter()
                .rev()
                .map(|v| v.spec.name)
                .collect()
        } else {
            names
        };
        let mut stopped = Vec::with_capacity(names.len());
        for name in names {
            match self.stop_all(&name).await {
                Ok(views) => stopped.extend(views),
                // Part of a file that was never brought up: nothing to stop.
                Err(SupervisorError::UnknownName(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(stopped)
    }

    /// Persists everything and stops the actor; managed processes keep running.
    pub async fn shutdown(&self) -> Result<()> {
        self.call(|reply| Command::Shutdown { reply }).await
    }
}

/// How long to wait for a process to become ready after it starts: its readiness check's
/// (or health check's) start period and retries, with room to spare; `None` without a
/// check (ready at once).
fn patience(spec: &ProcessSpec) -> Option<Duration> {
    let check = spec.readiness.as_ref().or(spec.health.as_ref())?;
    Some(
        check.start_period
            + (check.interval + check.timeout) * (check.retries.max(1) + 1)
            + Duration::from_secs(30),
    )
}

/// Refuses a replica's name (`web:0`) as the name of a new process: the daemon makes
/// replicas itself from `instances`.
fn refuse_replica_name(name: &str) -> Result<()> {
    replica::refuse_replica_name(name).map_err(|e| SupervisorError::Invalid(e.to_string()))
}

/// Removes a log folder that holds nothing but empty files (what a start that never ran
/// leaves); a folder with any output in it is kept, since logs outlive their process.
fn remove_if_only_empty_logs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let only_empty = entries
        .flatten()
        .all(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() == 0));
    if only_empty {
        let _ = std::fs::remove_dir_all(dir);
    }
}
