//! The engine: everything the daemon can do, with no transport in sight. Every door
//! (gRPC, MCP, socket.io and the dashboard, the CLI's daemon calls) is a thin translation
//! of it, so each rule (validation, the kill policy, log limits) lives here once.
//!
//! Inside, one actor ([`actor`]) owns all supervisor state; [`supervisor::Supervisor`]
//! is its cloneable handle and sequences multi-step operations. Around it: the registry
//! that survives restarts ([`registry`]), the one sampling timer ([`sampling`]), live
//! terminal sessions ([`session`]), health checks ([`health`]), the subreaper
//! ([`reaper`]), the pidfd exit watcher ([`watch`]) and the kill policy ([`kill_policy`]).
//!
//! [`Engine`] is the API the transports call: managed processes ([`Engine::supervisor`]),
//! the machine's processes and ports ([`system`]), kills under the one policy
//! ([`kills`]), logs as streams ([`logs`]) and ad-hoc starts ([`adhoc`]). Its errors
//! ([`EngineError`]) carry the words every door shows; each transport only picks its own
//! code for them.
//!
//! Destructive actions (kill, stop, restart, delete, signal, queue cancel) are asked of
//! the engine with a [`audit::Caller`] ([`actions`], [`kills`]) and recorded in the
//! audit log ([`audit`]) here, once, whichever door they came through.

pub mod actions;
pub(crate) mod actor;
pub mod adhoc;
pub mod audit;
pub mod checks;
pub mod error;
pub mod file_watch;
pub mod health;
pub mod kill_policy;
pub mod kills;
pub mod limits;
pub mod logs;
pub mod pids;
pub mod queue;
pub mod reaper;
pub mod registry;
pub mod sampling;
pub mod session;
pub mod supervisor;
pub mod system;
pub mod watch;

pub use error::{EngineError, SupervisorError};
pub use supervisor::Supervisor;

use std::path::PathBuf;

use audit::Audit;
use kill_policy::KillPolicy;
use pids::PidBook;
use procward_core::cgroup::Cgroups;
use reaper::OwnedChildren;
use registry::Registry;
use sampling::Sampling;

use crate::home::Home;

/// What procward.toml (and the environment) set for the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `[queue]`: groups and retention.
    pub queue: queue::QueueConfig,
    /// `[limits]`: the maxima past which nothing more starts.
    pub spawn_limits: procward_core::resources::SpawnLimits,
    /// Whether to enforce limits in cgroups where the machine allows (`false` with
    /// `PROCWARD_CGROUPS=off`: every limit is polled).
    pub cgroups: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            queue: queue::QueueConfig::default(),
            spawn_limits: Default::default(),
            cgroups: std::env::var_os("PROCWARD_CGROUPS").is_none_or(|v| v != "off"),
        }
    }
}

/// The daemon's whole API, free of any transport; cheap to clone (every clone is the same
/// engine).
#[derive(Debug, Clone)]
pub struct Engine {
    supervisor: Supervisor,
    queue: queue::Queue,
    sampling: Sampling,
    pids: PidBook,
    policy: KillPolicy,
    audit: Audit,
}

impl Engine {
    /// The engine over `supervisor` (managed processes), `queue` (jobs) and `sampling`
    /// (the machine).
    pub fn new(supervisor: Supervisor, queue: queue::Queue, sampling: Sampling) -> Self {
        Self {
            policy: KillPolicy::new(supervisor.clone()),
            supervisor,
            queue,
            sampling,
            pids: PidBook::default(),
            audit: Audit::disabled(),
        }
    }

    /// The same engine, recording destructive actions through `audit`.
    pub fn with_audit(mut self, audit: Audit) -> Self {
        self.audit = audit;
        self
    }

    /// The audit log every destructive action is recorded in (see [`audit`]); other
    /// parts of the daemon (resource limits) record their own actions through it.
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// The engine over `home`: its registry's processes re-adopted (or restarted by their
    /// policies), shims run by `exe` (`procward shim`), children spawned through `owned`.
    /// What the daemon does at startup, and what tests of the engine do without one.
    pub fn launch(home: Home, exe: PathBuf, owned: OwnedChildren) -> Result<Self, EngineError> {
        Self::launch_with(home, exe, owned, EngineConfig::default())
    }

    /// [`Engine::launch`] with the settings from procward.toml.
    pub fn launch_with(
        home: Home,
        exe: PathBuf,
        owned: OwnedChildren,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let records = Registry::synchronous(home.registry_dir())
            .load()
            .map_err(|e| EngineError::Internal(format!("cannot read the registry: {e}")))?;
        tracing::info!(home = %home.root().display(), processes = records.len(), "engine starting");
        let sampling = Sampling::spawn();
        let gauge = match config.spawn_limits.needs_system() {
            true => limits::Gauge::spawn(&sampling),
            false => limits::Gauge::idle(),
        };
        let cgroups = match config.cgroups {
            true => Cgroups::probe(&home.cgroup_namespace()),
            false => Cgroups::disabled("cgroups are turned off (PROCWARD_CGROUPS=off)"),
        };
        tracing::info!(cgroups = %cgroups.describe(), "resource limits");
        let audit = Audit::open(audit::file::audit_path(home.root()));
        let limits = limits::Limits::new(config.spawn_limits, cgroups, gauge, audit.clone());
        let shared_queue = matches!(config.queue.backend, queue::QueueBackend::Redis(_));
        let queue = queue::spawn(
            home.clone(),
            exe.clone(),
            owned.clone(),
            config.queue,
            limits.clone(),
        )?;
        let commands = actor::spawn(home, exe, owned, records, limits.clone());
        let supervisor = Supervisor::new(commands, limits.clone());
        limits::poll::spawn(supervisor.clone(), queue.clone(), limits);
        if shared_queue {
            spawn_fleet_report(supervisor.clone(), queue.clone());
        }
        Ok(Self::new(supervisor, queue, sampling).with_audit(audit))
    }

    /// Managed processes: start, stop, restart, delete, list, up and down, each validated
    /// by the supervisor's one check.
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// The job queue: add, list, cancel, retry, wait, groups, events.
    pub fn queue(&self) -> &queue::Queue {
        &self.queue
    }

    /// The fleet view: every daemon sharing the queue, this one's managed processes read
    /// now (the others' as they last registered).
    pub async fn hosts(&self) -> Result<Vec<queue::HostInfo>, EngineError> {
        let mut hosts = self.queue.hosts().await?;
        let own = std::process::id();
        if let Some(here) = hosts.iter_mut().find(|h| h.pid == own && h.alive) {
            here.managed = self
                .supervisor
                .list_with_metrics()
                .await?
                .iter()
                .map(queue::HostProcess::of)
                .collect();
        }
        Ok(hosts)
    }
}

/// How often a daemon on a shared queue tells it its managed processes.
const FLEET_REPORT: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps the queue's registration of this host's managed processes current.
fn spawn_fleet_report(supervisor: Supervisor, queue: queue::Queue) {
    tokio::spawn(async move {
        loop {
            if let Ok(views) = supervisor.list_with_metrics().await {
                let managed = views.iter().map(queue::HostProcess::of).collect();
                queue.report_managed(managed).await;
            }
            tokio::time::sleep(FLEET_REPORT).await;
        }
    });
}
