//! Resource limits in the engine: the one spawn gate every start and job passes
//! ([`Limits::check_spawn`]), what this machine can enforce per limit
//! ([`Limits::statuses`], [`Limits::check_spec`]) and the poll enforcer for limits no
//! cgroup holds ([`poll`]).
//!
//! Why here and not in a transport: gRPC, MCP, socket.io and the CLI all reach the
//! engine, so a start refused by `[limits]` is refused with the same words through each.

pub mod gauge;
pub mod poll;

use crate::engine::audit::{Audit, Caller, Interface, Outcome, Target};
use procward_core::cgroup::{CgroupError, Cgroups, Controller, Spares, Unit, UnitLimits};
use procward_core::resources::BreachAction;
use procward_core::resources::{
    Enforcement, LimitExceeded, LimitKind, Load, ResourceLimits, Spawn, SpawnLimits,
};
use procward_core::supervisor::view::LimitStatus;

pub use gauge::Gauge;

/// What the daemon can enforce in a cgroup, found once at start.
#[derive(Debug, Clone, Default)]
pub struct Capability {
    /// Limits a cgroup enforces here (the others are polled).
    pub cgroup: Vec<LimitKind>,
    /// Why some limits can only be polled (for error messages and `daemon status`).
    pub why_poll: String,
}

impl Capability {
    /// What `cgroups` enforce: `memory_max` and `pids_max` and `cpu_max` with their
    /// controllers, `memory_high` only in v2 (v1 has no reclaim threshold like it).
    pub fn of(cgroups: &Cgroups) -> Self {
        let mut cgroup = Vec::new();
        if cgroups.enforces(Controller::Memory) {
            cgroup.push(LimitKind::MemoryMax);
        }
        if cgroups.enforces_v2(Controller::Memory) {
            cgroup.push(LimitKind::MemoryHigh);
        }
        if cgroups.enforces(Controller::Cpu) {
            cgroup.push(LimitKind::CpuMax);
        }
        if cgroups.enforces(Controller::Pids) {
            cgroup.push(LimitKind::PidsMax);
        }
        Self {
            cgroup,
            why_poll: cgroups.describe(),
        }
    }
}

/// The engine's limits: `[limits]` of procward.toml, the machine's capability and the
/// gauge of system figures the spawn gate reads.
#[derive(Debug, Clone)]
pub struct Limits {
    spawn: SpawnLimits,
    capability: Capability,
    cgroups: Cgroups,
    /// Empty units kept for the job attempts that need no limit.
    spares: Spares,
    gauge: Gauge,
    audit: Audit,
}

impl Limits {
    /// Limits from the configuration, the probed cgroups and a gauge (started only when
    /// a CPU or memory maximum needs system figures).
    /// Breaches are recorded in `audit` (interface `limits`, caller the daemon).
    pub fn new(spawn: SpawnLimits, cgroups: Cgroups, gauge: Gauge, audit: Audit) -> Self {
        Self {
            spawn,
            capability: Capability::of(&cgroups),
            spares: Spares::new(&cgroups),
            cgroups,
            gauge,
            audit,
        }
    }

    /// Records a breach and its action in the audit log (`limit-restart`, `limit-stop`,
    /// `limit-notify`), whichever enforcer found it.
    pub fn record_breach(&self, name: &str, note: &str, action: BreachAction, ok: bool) {
        let caller = Caller::daemon(Interface::Limits);
        let outcome = if ok { Outcome::Ok } else { Outcome::Failed };
        let what = format!("limit-{action}");
        self.audit
            .record(&caller, &what, Target::name(name), outcome, note);
    }

    /// No spawn limits; no cgroups, every per-process limit polled (tests of the engine).
    pub fn unlimited() -> Self {
        Self::new(
            SpawnLimits::default(),
            Cgroups::disabled("cgroups not probed"),
            Gauge::idle(),
            Audit::disabled(),
        )
    }

    /// The machine's cgroups (units for managed processes).
    pub fn cgroups(&self) -> &Cgroups {
        &self.cgroups
    }

    /// [`Limits::unit_for`] for a job's attempt: one without a limit gets a kept empty
    /// unit ([`Spares`]: no cgroup made and removed per attempt), whose name the attempt's
    /// record keeps; one with limits gets a unit named `name`.
    pub fn attempt_unit(
        &self,
        name: &str,
        limits: &ResourceLimits,
    ) -> Result<Option<Unit>, String> {
        match self.spares.take(&unit_limits(limits)) {
            Some(Ok(unit)) => Ok(Some(unit)),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "no spare unit; making one by name");
                self.unit_for(name, limits)
            }
            None => self.unit_for(name, limits),
        }
    }

    /// After a run: a spare unit that was `empty` goes back to the spares, any other is
    /// removed.
    pub fn release_unit(&self, unit: &Unit, empty: bool) -> Result<(), CgroupError> {
        self.spares.give_back(unit, empty)
    }

    /// Removes the spare units (the daemon is stopping).
    pub fn clear_spares(&self) {
        self.spares.clear();
    }

    /// The cgroup unit for a run of a process named `name` with `limits`: `Ok(None)` when
    /// this machine has no cgroups; an error only when a limit that needs the unit could
    /// not be set (a process without limits runs without a unit instead, with a warning).
    pub fn unit_for(&self, name: &str, limits: &ResourceLimits) -> Result<Option<Unit>, String> {
        if !self.cgroups.tracks() {
            return Ok(None);
        }
        match self.cgroups.create(name, &unit_limits(limits)) {
            Ok(unit) => Ok(Some(unit)),
            Err(e)
                if limits
                    .kinds()
                    .iter()
                    .any(|k| self.enforcement(*k) == Enforcement::Cgroup) =>
            {
                Err(format!("cannot make its cgroup: {e}"))
            }
            Err(e) => {
                tracing::warn!(%name, error = %e, "running without a cgroup");
                Ok(None)
            }
        }
    }

    /// The configured maxima.
    pub fn spawn_limits(&self) -> &SpawnLimits {
        &self.spawn
    }

    /// How per-process limits are enforced here, in one line for `daemon status`.
    pub fn describe(&self) -> String {
        let cgroup: Vec<&str> = self.capability.cgroup.iter().map(|k| k.field()).collect();
        match cgroup.is_empty() {
            true => format!("poll: {}", self.capability.why_poll),
            false => format!(
                "cgroup: {} ({}); others polled",
                cgroup.join(", "),
                self.capability.why_poll
            ),
        }
    }

    /// How `kind` is enforced on this machine.
    pub fn enforcement(&self, kind: LimitKind) -> Enforcement {
        if self.capability.cgroup.contains(&kind) {
            Enforcement::Cgroup
        } else {
            Enforcement::Poll
        }
    }

    /// How each limit set in `limits` is enforced.
    pub fn statuses(&self, limits: &ResourceLimits) -> Vec<LimitStatus> {
        limits
            .kinds()
            .into_iter()
            .map(|limit| LimitStatus {
                limit,
                enforcement: self.enforcement(limit),
            })
            .collect()
    }

    /// Refuses a hard limit this machine can only poll, unless `best_effort` accepts the
    /// overshoot; the message names the field and says why.
    pub fn check_spec(&self, limits: &ResourceLimits) -> Result<(), String> {
        if limits.best_effort {
            return Ok(());
        }
        let polled: Vec<&str> = limits
            .kinds()
            .into_iter()
            .filter(|k| k.is_hard() && self.enforcement(*k) == Enforcement::Poll)
            .map(LimitKind::field)
            .collect();
        if polled.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{}: can only be polled on this machine ({}), so a fast process can overshoot \
             it; set best_effort (--best-effort) to accept that",
            polled.join(", "),
            self.capability.why_poll
        ))
    }

    /// Whether starting one more `what` now would exceed `[limits]`; `running` counts
    /// what already runs (managed processes or jobs).
    pub fn check_spawn(&self, what: Spawn, running: u32) -> Result<(), LimitExceeded> {
        if self.spawn.is_empty() {
            return Ok(());
        }
        let (cpu_percent, memory_percent) = self.gauge.percents();
        let load = Load {
            cpu_percent,
            memory_percent,
            processes: if what == Spawn::Process { running } else { 0 },
            jobs: if what == Spawn::Job { running } else { 0 },
        };
        self.spawn.check(what, &load)
    }
}

/// What of `limits` a cgroup unit holds.
fn unit_limits(limits: &ResourceLimits) -> UnitLimits {
    UnitLimits {
        memory_max: limits.memory_max,
        memory_high: limits.memory_high,
        cpu_max_percent: limits.cpu_max,
        pids_max: limits.pids_max,
    }
}
