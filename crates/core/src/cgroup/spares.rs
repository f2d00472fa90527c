//! Empty units kept for reuse. Making and removing a cgroup costs the kernel far more
//! than a short job's own start (a `true` spent more in the daemon's `mkdir` and `rmdir`
//! of its unit than in the rest of the daemon's work for it), and cgroup v2 cannot rename
//! a cgroup. So a run that needs only tracking (no limit: no controller, nothing to reset)
//! gets a unit named `run@N` from here, and gives it back once it is empty.
//!
//! A unit's name no longer says whose it is, so the caller records it with the run (a
//! daemon re-adopting the run opens the unit by that name). A daemon that starts sweeps
//! the empty `run@N` units its predecessor kept: an `rmdir` of a cgroup that still has
//! processes fails, so a unit a run is still in stays.

use std::sync::{Arc, Mutex};

use super::{CgroupError, Cgroups, Unit, UnitLimits};

/// The prefix of a spare unit's name (`@` never occurs in a managed process's name).
const PREFIX: &str = "run@";
/// Most units kept: about a busy queue's parallelism; more are removed.
const KEEP: usize = 64;

/// The empty units of one daemon, shared by whoever starts runs; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Spares(Arc<Mutex<Kept>>);

#[derive(Debug, Default)]
struct Kept {
    /// Cgroups of this machine (`None`: no cgroup v2 to keep units in).
    cgroups: Option<Cgroups>,
    /// Units ready for a run.
    free: Vec<Unit>,
    /// The number in the next new unit's name.
    next: u64,
}

impl Spares {
    /// The spares of a daemon on `cgroups`; sweeps what an earlier daemon of the same
    /// home left empty. Without cgroup v2 there is nothing to keep (every run makes its
    /// unit as before).
    pub fn new(cgroups: &Cgroups) -> Self {
        let Some(base) = cgroups.v2.clone() else {
            return Self::default();
        };
        let mut next = 0;
        for entry in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(n) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
                continue;
            };
            // A unit with processes in it (a run to re-adopt) refuses, and stays.
            let _ = std::fs::remove_dir(entry.path());
            next = next.max(n.parse::<u64>().map_or(0, |n| n + 1));
        }
        Self(Arc::new(Mutex::new(Kept {
            cgroups: Some(cgroups.clone()),
            free: Vec::new(),
            next,
        })))
    }

    /// A unit for a run with `limits`: a kept one, else a new `run@N`. `None` when the
    /// run needs a unit of its own (a limit to set, or no cgroup v2 here): the caller
    /// makes it by name as before.
    pub fn take(&self, limits: &UnitLimits) -> Option<Result<Unit, CgroupError>> {
        if *limits != UnitLimits::default() {
            return None;
        }
        let mut guard = self.0.lock().expect("spare units lock");
        let Kept {
            cgroups,
            free,
            next,
        } = &mut *guard;
        let cgroups = cgroups.as_ref()?;
        // A kept unit removed behind the daemon's back is forgotten, not handed out.
        while let Some(unit) = free.pop() {
            if unit.tracking_dir().is_dir() {
                return Some(Ok(unit));
            }
        }
        loop {
            let name = format!("{PREFIX}{next}");
            *next += 1;
            let unit = match cgroups.unit(&name, |_| false) {
                Ok(unit) => unit,
                Err(e) => return Some(Err(e)),
            };
            match unit.make_empty() {
                Ok(true) => return Some(Ok(unit)),
                // Left by an earlier daemon with processes in it: not ours to reuse.
                Ok(false) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Takes back a unit after its run: a spare that is empty is kept for the next run
    /// (up to [`KEEP`]); any other unit, or one still holding processes, is removed.
    /// `empty` is what the caller has just read of the unit (it reads `cgroup.procs` to
    /// know whether anything is left to kill): a unit nothing was in cannot fill again.
    pub fn give_back(&self, unit: &Unit, empty: bool) -> Result<(), CgroupError> {
        if empty && self.is_spare(unit) {
            let mut kept = self.0.lock().expect("spare units lock");
            if kept.free.len() < KEEP && !kept.free.contains(unit) {
                kept.free.push(unit.clone());
                return Ok(());
            }
        }
        unit.remove()
    }

    /// Removes every kept unit (the daemon is stopping).
    pub fn clear(&self) {
        let free = std::mem::take(&mut self.0.lock().expect("spare units lock").free);
        for unit in free {
            let _ = unit.remove();
        }
    }

    /// Whether `unit` is one of these spares (by its name and place).
    pub fn is_spare(&self, unit: &Unit) -> bool {
        unit.name.starts_with(PREFIX) && unit.sole_v2_dir().is_some()
    }
}
