//! Resource limits: what one managed process may use ([`ResourceLimits`], in its spec and
//! procward.toml) and what the whole machine may be at before procward starts anything
//! more ([`SpawnLimits`], `[limits]` in procward.toml).
//!
//! Both are plain values checked here once ([`ResourceLimits::validate`],
//! [`SpawnLimits::validate`], [`SpawnLimits::check`]), so the CLI, procward.toml, gRPC,
//! MCP and the web refuse the same values with the same words. How a per-process limit is
//! enforced (a cgroup, or polling the process tree) is the daemon's choice at start time
//! and is reported per limit as an [`Enforcement`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::supervisor::spec::{SpecError, parse_size};

mod inputs;
mod spawn;
pub mod tree;
pub use inputs::LimitInputs;
pub use spawn::{LimitExceeded, Load, Spawn, SpawnLimits};

/// Smallest `memory_max`/`memory_high`: below this a process cannot even load a runtime.
pub const MIN_MEMORY: u64 = 1 << 20;
/// Largest `memory_max`/`memory_high` (16 TiB); beyond is a typo.
pub const MAX_MEMORY: u64 = 1 << 44;
/// Largest `cpu_max` in percent of one core (1,000 cores).
pub const MAX_CPU_PERCENT: u32 = 100_000;
/// Largest `pids_max`: the kernel's own ceiling (`PID_MAX_LIMIT`).
pub const MAX_PIDS: u32 = 4_194_304;

/// What procward does when a process goes over a limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BreachAction {
    /// Stop it and start it again (pm2's `max_memory_restart`), whatever its restart
    /// policy says.
    #[default]
    Restart,
    /// Stop it and leave it stopped, with the limit as the reason.
    Stop,
    /// Leave it running; say so in its status and as an event.
    Notify,
}

impl BreachAction {
    /// The word used in specs, flags and status (`restart`, `stop`, `notify`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restart => "restart",
            Self::Stop => "stop",
            Self::Notify => "notify",
        }
    }

    /// Parses `restart`, `stop` or `notify`; errors name the field `on_breach`.
    pub fn parse(input: &str) -> Result<Self, SpecError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "restart" => Ok(Self::Restart),
            "stop" => Ok(Self::Stop),
            "notify" => Ok(Self::Notify),
            _ => Err(invalid(
                "on_breach",
                format!("{input:?} is not an action; use restart, stop or notify"),
            )),
        }
    }
}

impl fmt::Display for BreachAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one limit is enforced on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// By the kernel, in the process's own cgroup: no overshoot.
    Cgroup,
    /// By the daemon, reading the process tree on its sampling timer (about once a
    /// second): a fast-growing process can overshoot between two readings.
    Poll,
}

impl Enforcement {
    /// `cgroup` or `poll`, as `status` and `list --json` show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cgroup => "cgroup",
            Self::Poll => "poll",
        }
    }
}

/// The limits of one managed process; every field is optional (`None`: no limit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceLimits {
    /// Hard memory ceiling for the whole process tree, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_max: Option<u64>,
    /// Soft memory ceiling in bytes: the kernel reclaims (throttles) above it in a cgroup;
    /// polled, going over it only notifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_high: Option<u64>,
    /// CPU ceiling in percent of one core (`150` = one and a half cores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_max: Option<u32>,
    /// Most processes (and threads) the tree may have at once: holds a fork bomb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_max: Option<u32>,
    /// What to do on a breach (default `restart`).
    #[serde(default, skip_serializing_if = "is_default_action")]
    pub on_breach: BreachAction,
    /// Accept hard limits (`memory_max`, `cpu_max`, `pids_max`) that this machine can only
    /// poll; without it such a spec is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub best_effort: bool,
}

fn is_default_action(action: &BreachAction) -> bool {
    *action == BreachAction::default()
}

/// A limit of a [`ResourceLimits`], to say which one is enforced how or was breached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// `memory_max`.
    MemoryMax,
    /// `memory_high`.
    MemoryHigh,
    /// `cpu_max`.
    CpuMax,
    /// `pids_max`.
    PidsMax,
}

impl LimitKind {
    /// The field's name in specs and procward.toml.
    pub fn field(self) -> &'static str {
        match self {
            Self::MemoryMax => "memory_max",
            Self::MemoryHigh => "memory_high",
            Self::CpuMax => "cpu_max",
            Self::PidsMax => "pids_max",
        }
    }

    /// Whether the limit is a hard ceiling (refused when only polled, unless best effort).
    pub fn is_hard(self) -> bool {
        !matches!(self, Self::MemoryHigh)
    }
}

impl ResourceLimits {
    /// Whether no limit is set (the default: nothing to enforce).
    pub fn is_empty(&self) -> bool {
        self.kinds().is_empty()
    }

    /// Whether every field has its default (nothing set, default action, not best
    /// effort), so a spec without limits serializes without a `limits` key.
    pub fn is_unset(&self) -> bool {
        *self == Self::default()
    }

    /// The limits that are set.
    pub fn kinds(&self) -> Vec<LimitKind> {
        let mut kinds = Vec::new();
        if self.memory_max.is_some() {
            kinds.push(LimitKind::MemoryMax);
        }
        if self.memory_high.is_some() {
            kinds.push(LimitKind::MemoryHigh);
        }
        if self.cpu_max.is_some() {
            kinds.push(LimitKind::CpuMax);
        }
        if self.pids_max.is_some() {
            kinds.push(LimitKind::PidsMax);
        }
        kinds
    }

    /// Checks ranges and their relation; errors name the field and say the allowed range.
    pub fn validate(&self) -> Result<(), SpecError> {
        for (field, value) in [
            ("memory_max", self.memory_max),
            ("memory_high", self.memory_high),
        ] {
            if let Some(bytes) = value
                && !(MIN_MEMORY..=MAX_MEMORY).contains(&bytes)
            {
                return Err(invalid(
                    field,
                    format!("{bytes} bytes is outside 1MiB to 16TiB"),
                ));
            }
        }
        if let (Some(high), Some(max)) = (self.memory_high, self.memory_max)
            && high > max
        {
            return Err(invalid(
                "memory_high",
                format!("{high} bytes is above memory_max ({max} bytes)"),
            ));
        }
        if let Some(cpu) = self.cpu_max
            && !(1..=MAX_CPU_PERCENT).contains(&cpu)
        {
            return Err(invalid(
                "cpu_max",
                format!("{cpu}% is outside 1% to {MAX_CPU_PERCENT}%"),
            ));
        }
        if let Some(pids) = self.pids_max
            && !(1..=MAX_PIDS).contains(&pids)
        {
            return Err(invalid(
                "pids_max",
                format!("{pids} is outside 1 to {MAX_PIDS}"),
            ));
        }
        Ok(())
    }
}

/// Parses a memory limit (`512M`, `1GiB`, bytes) and checks its range; errors name `field`.
pub fn parse_memory(field: &'static str, input: &str) -> Result<u64, SpecError> {
    let bytes = parse_size(input).map_err(|e| invalid(field, size_reason(&e)))?;
    if !(MIN_MEMORY..=MAX_MEMORY).contains(&bytes) {
        return Err(invalid(
            field,
            format!("{input:?} is outside 1MiB to 16TiB"),
        ));
    }
    Ok(bytes)
}

fn size_reason(e: &SpecError) -> String {
    match e {
        SpecError::Invalid { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// A size in binary units with one decimal (`64.0MiB`, `512B`), as limits and breaches
/// are shown.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

/// Parses a CPU limit: `150%` or `150` (percent of one core), or `1.5cores`; errors name
/// the field `cpu_max`.
pub fn parse_cpu(input: &str) -> Result<u32, SpecError> {
    let s = input.trim();
    let bad = || {
        invalid(
            "cpu_max",
            format!("{input:?} is not a CPU limit; use a percentage of one core such as 150%"),
        )
    };
    let (number, scale) = if let Some(n) = s.strip_suffix('%') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("cores").or_else(|| s.strip_suffix("core")) {
        (n, 100.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let percent = value * scale;
    if !percent.is_finite() || percent < 1.0 || percent > f64::from(MAX_CPU_PERCENT) {
        return Err(invalid(
            "cpu_max",
            format!("{input:?} is outside 1% to {MAX_CPU_PERCENT}%"),
        ));
    }
    Ok(percent.round() as u32)
}

/// Parses `pids_max` (a count from 1 to 4,194,304).
pub fn parse_pids(input: &str) -> Result<u32, SpecError> {
    let pids: u32 = input
        .trim()
        .parse()
        .map_err(|_| invalid("pids_max", format!("{input:?} is not a whole number")))?;
    if !(1..=MAX_PIDS).contains(&pids) {
        return Err(invalid(
            "pids_max",
            format!("{pids} is outside 1 to {MAX_PIDS}"),
        ));
    }
    Ok(pids)
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        field,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests;
