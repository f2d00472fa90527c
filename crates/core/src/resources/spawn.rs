//! Spawn refusal: the machine-wide maxima past which procward starts nothing more (the
//! specification's resource manager), and the one check every start and job goes through.

use serde::{Deserialize, Serialize};

use crate::supervisor::spec::SpecError;

/// `[limits]` in procward.toml; every field optional (`None`: no limit).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpawnLimits {
    /// System CPU use (all cores, 0-100 %) at or above which nothing more starts.
    #[serde(default)]
    pub max_cpu_percent: Option<f32>,
    /// Used memory (0-100 % of physical memory) at or above which nothing more starts.
    #[serde(default)]
    pub max_memory_percent: Option<f32>,
    /// Most managed processes running at once.
    #[serde(default)]
    pub max_processes: Option<u32>,
    /// Most jobs running at once over all groups (more stay queued).
    #[serde(default)]
    pub max_jobs: Option<u32>,
}

/// The machine and procward right now, as far as [`SpawnLimits::check`] needs to know.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Load {
    /// System CPU use, 0-100 % (`None`: not measured yet).
    pub cpu_percent: Option<f32>,
    /// Used memory, 0-100 % (`None`: not measured yet).
    pub memory_percent: Option<f32>,
    /// Managed processes running (or starting).
    pub processes: u32,
    /// Jobs running.
    pub jobs: u32,
}

/// A start refused by a limit: the words every interface shows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("refused by the limit {limit} = {max} in procward.toml [limits]: {what} is {current}")]
pub struct LimitExceeded {
    /// The `[limits]` key (`max_memory_percent`, ...).
    pub limit: &'static str,
    /// Its configured value, as written.
    pub max: String,
    /// What it measures (`used memory`).
    pub what: &'static str,
    /// The current value (`93.1%`).
    pub current: String,
}

/// What is being started: a managed process, or a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spawn {
    /// A managed process (start, restart, up, an ad-hoc start).
    Process,
    /// A job's attempt.
    Job,
}

impl SpawnLimits {
    /// Whether any limit is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether the CPU or memory limit needs system figures.
    pub fn needs_system(&self) -> bool {
        self.max_cpu_percent.is_some() || self.max_memory_percent.is_some()
    }

    /// Checks the ranges; errors name the key.
    pub fn validate(&self) -> Result<(), SpecError> {
        for (field, value) in [
            ("max_cpu_percent", self.max_cpu_percent),
            ("max_memory_percent", self.max_memory_percent),
        ] {
            if let Some(p) = value
                && !(p > 0.0 && p <= 100.0)
            {
                return Err(SpecError::Invalid {
                    field,
                    reason: format!("{p} is outside 0 (exclusive) to 100 percent"),
                });
            }
        }
        for (field, value) in [
            ("max_processes", self.max_processes),
            ("max_jobs", self.max_jobs),
        ] {
            if value == Some(0) {
                return Err(SpecError::Invalid {
                    field,
                    reason: "0 would refuse everything; remove the key for no limit".into(),
                });
            }
        }
        Ok(())
    }

    /// Whether starting one more `what` now would exceed a limit; the first limit hit is
    /// the error. A figure not measured yet never refuses (a daemon that just started has
    /// no CPU reading; the next start has one).
    pub fn check(&self, what: Spawn, load: &Load) -> Result<(), LimitExceeded> {
        let count = match what {
            Spawn::Process => self.max_processes.map(|max| {
                (
                    "max_processes",
                    "managed processes running",
                    max,
                    load.processes,
                )
            }),
            Spawn::Job => self
                .max_jobs
                .map(|max| ("max_jobs", "jobs running", max, load.jobs)),
        };
        if let Some((limit, what, max, current)) = count
            && current >= max
        {
            return Err(LimitExceeded {
                limit,
                max: max.to_string(),
                what,
                current: current.to_string(),
            });
        }
        let percents = [
            (
                "max_memory_percent",
                "used memory",
                self.max_memory_percent,
                load.memory_percent,
            ),
            (
                "max_cpu_percent",
                "system CPU use",
                self.max_cpu_percent,
                load.cpu_percent,
            ),
        ];
        for (limit, what, max, current) in percents {
            if let (Some(max), Some(current)) = (max, current)
                && current >= max
            {
                return Err(LimitExceeded {
                    limit,
                    max: format!("{max}"),
                    what,
                    current: format!("{current:.1}%"),
                });
            }
        }
        Ok(())
    }
}
