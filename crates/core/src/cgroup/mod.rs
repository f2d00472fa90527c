//! Cgroups for managed processes: one unit (a cgroup in each hierarchy procward can
//! write) per process, so its limits are held by the kernel and its whole tree, including
//! processes that left its process group or session, can be listed and killed.
//!
//! Machines differ, so [`Cgroups::probe`] finds out once what this one allows: the unified
//! (v2) hierarchy for tracking and `cgroup.kill`, and for each [controller](Controller)
//! the v2 hierarchy when the controller can be enabled there, else its v1 hierarchy (a
//! hybrid machine binds memory, pids and cpu to v1). Everything is created under the
//! caller's own cgroup in each hierarchy, in a directory named per procward home, and
//! nothing else is touched. What cannot be used is recorded with the reason, which the
//! daemon shows; its limits are then polled instead.
//!
//! The process is placed before it execs without `pre_exec`: the shim [`Unit::join`]s the
//! unit, spawns the child (which inherits the cgroups) and [`Unit::leave`]s again.

mod files;
mod probe;
mod spares;
mod unit;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use spares::Spares;
pub use unit::{Placement, Unit, UnitLimits};

/// A resource controller procward sets limits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Controller {
    /// `memory_max`, `memory_high`.
    Memory,
    /// `pids_max`.
    Pids,
    /// `cpu_max`.
    Cpu,
}

impl Controller {
    /// Every controller, in the order they are reported.
    pub const ALL: [Controller; 3] = [Self::Memory, Self::Pids, Self::Cpu];

    /// The kernel's name of the controller.
    pub fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Pids => "pids",
            Self::Cpu => "cpu",
        }
    }
}

/// Where one controller's limits are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerDir {
    /// The controller.
    pub controller: Controller,
    /// The base directory its units are made in.
    pub base: PathBuf,
    /// Whether that is the unified (v2) hierarchy.
    pub v2: bool,
}

/// What this machine lets procward do with cgroups, found once at daemon start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cgroups {
    /// The v2 base directory units are made in (`<own cgroup>/<namespace>`), when writable.
    v2: Option<PathBuf>,
    /// Where each usable controller's units are made.
    controllers: Vec<ControllerDir>,
    /// Why something is not usable (empty when everything is).
    why_not: Vec<String>,
}

/// A cgroup operation that failed; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Reading or writing a cgroup file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// Cgroups cannot be used here (turned off, not mounted or not writable).
    #[error("cgroups are not available: {0}")]
    Unavailable(String),
    /// A unit name that cannot be a directory name.
    #[error("invalid cgroup unit name {0:?}")]
    InvalidName(String),
}

impl Cgroups {
    /// Probes the machine; never fails: what is not usable is recorded with the reason.
    /// `namespace` names the directory made under the caller's own cgroup in each
    /// hierarchy (one per procward home, e.g. `procward-1a2b3c4d`).
    pub fn probe(namespace: &str) -> Self {
        probe::probe(namespace)
    }

    /// Cgroups made unavailable (`PROCWARD_CGROUPS=off`): nothing tracked, every limit
    /// polled.
    pub fn disabled(reason: &str) -> Self {
        Self {
            v2: None,
            controllers: Vec::new(),
            why_not: vec![reason.to_owned()],
        }
    }

    /// Whether a process tree can be put in a unit of its own and killed whole.
    pub fn tracks(&self) -> bool {
        self.v2.is_some() || !self.controllers.is_empty()
    }

    /// Whether `controller`'s limits are set in a cgroup here.
    pub fn enforces(&self, controller: Controller) -> bool {
        self.controllers.iter().any(|c| c.controller == controller)
    }

    /// Whether `controller` is enforced in the v2 hierarchy (`memory_high` needs v2:
    /// v1 has no reclaim threshold of the same meaning).
    pub fn enforces_v2(&self, controller: Controller) -> bool {
        self.controllers
            .iter()
            .any(|c| c.controller == controller && c.v2)
    }

    /// One line for `procward daemon status`: what is used where, and why not the rest.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v2) = &self.v2 {
            parts.push(format!("cgroup2 at {}", v2.display()));
        }
        for c in &self.controllers {
            let kind = if c.v2 { "v2" } else { "v1" };
            parts.push(format!("{} via cgroup {kind}", c.controller.name()));
        }
        parts.extend(self.why_not.iter().cloned());
        if parts.is_empty() {
            "cgroups unused".to_owned()
        } else {
            parts.join("; ")
        }
    }

    /// Why some part is not usable (empty when everything is).
    pub fn why_not(&self) -> String {
        self.why_not.join("; ")
    }

    /// Creates (or re-opens: idempotent) the unit `name` and writes its limits; a limit
    /// whose controller is not enforced here is left to the caller to poll.
    /// Only the hierarchies a set limit needs are used (plus v2 for tracking), so a
    /// process without limits costs one directory.
    pub fn create(&self, name: &str, limits: &UnitLimits) -> Result<Unit, CgroupError> {
        let unit = self.unit(name, |c| limits.needs(c))?;
        unit.make(limits)?;
        Ok(unit)
    }

    /// The unit `name` as a daemon made it before (after a restart: the same
    /// directories, those that exist), when it exists.
    pub fn open(&self, name: &str) -> Option<Unit> {
        let unit = self
            .unit(name, |c| {
                self.controllers
                    .iter()
                    .any(|d| d.controller == c && d.base.join(name).is_dir())
            })
            .ok()?;
        unit.tracking_dir().is_dir().then_some(unit)
    }

    /// The unit `name` with the controllers `wanted` says (without v2, at least one
    /// controller's hierarchy, to track the tree in).
    fn unit(&self, name: &str, wanted: impl Fn(Controller) -> bool) -> Result<Unit, CgroupError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
        if !valid {
            return Err(CgroupError::InvalidName(name.to_owned()));
        }
        if !self.tracks() {
            return Err(CgroupError::Unavailable(self.why_not()));
        }
        let mut controllers: Vec<ControllerDir> = self
            .controllers
            .iter()
            .filter(|c| wanted(c.controller))
            .cloned()
            .collect();
        if self.v2.is_none() && controllers.is_empty() {
            controllers.extend(self.controllers.first().cloned());
        }
        Ok(Unit::new(name, self.v2.as_deref(), &controllers))
    }

    /// Removes the namespace directories (only when no unit is left in them).
    pub fn remove_namespace(&self) {
        let bases = self
            .v2
            .iter()
            .chain(self.controllers.iter().map(|c| &c.base));
        for base in bases {
            let _ = std::fs::remove_dir(base);
        }
    }
}
