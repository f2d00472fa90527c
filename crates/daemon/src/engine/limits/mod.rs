//! Resource limits in the engine: the one spawn gate every start and job passes
//! ([`Limits::check_spawn`]), what this machine can enforce per limit
//! ([`Limits::statuses`], [`Limits::check_spec`]) and the poll enforcer for limits no
//! cgroup holds ([`poll`]).
//!
//! Why here and not in a transport: gRPC, MCP, socket.io and the CLI all reach the
//! engine, so a start refused by `[limits]` is refused with the same words through each.

pub mod gauge;
pub mod poll;

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
    /// Nothing enforced by cgroups (made unavailable, or not writable): every limit polled.
    pub fn poll_only(why: impl Into<String>) -> Self {
        Self {
            cgroup: Vec::new(),
            why_poll: why.into(),
        }
    }
}

/// The engine's limits: `[limits]` of procward.toml, the machine's capability and the
/// gauge of system figures the spawn gate reads.
#[derive(Debug, Clone)]
pub struct Limits {
    spawn: SpawnLimits,
    capability: Capability,
    gauge: Gauge,
}

impl Limits {
    /// Limits from the configuration, the probed capability and a gauge (started only
    /// when a CPU or memory maximum needs system figures).
    pub fn new(spawn: SpawnLimits, capability: Capability, gauge: Gauge) -> Self {
        Self {
            spawn,
            capability,
            gauge,
        }
    }

    /// No spawn limits; every per-process limit polled (tests of the engine).
    pub fn unlimited() -> Self {
        Self::new(
            SpawnLimits::default(),
            Capability::poll_only("cgroups not probed"),
            Gauge::idle(),
        )
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
