//! One unit: the cgroup directories of one managed process (one per hierarchy), its
//! limits, who is in it, and how it is killed and removed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};
use serde::{Deserialize, Serialize};

use super::files;
use super::{CgroupError, Controller, ControllerDir};

/// The limits a unit is made with (`None`: no limit); the units are the kernel's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnitLimits {
    /// Bytes.
    pub memory_max: Option<u64>,
    /// Bytes (v2 only).
    pub memory_high: Option<u64>,
    /// Percent of one core.
    pub cpu_max_percent: Option<u32>,
    /// Tasks.
    pub pids_max: Option<u32>,
}

impl UnitLimits {
    /// Whether a set limit needs `controller`.
    pub fn needs(&self, controller: Controller) -> bool {
        match controller {
            Controller::Memory => self.memory_max.is_some() || self.memory_high.is_some(),
            Controller::Pids => self.pids_max.is_some(),
            Controller::Cpu => self.cpu_max_percent.is_some(),
        }
    }
}

/// One unit's directories; serializable, because the shim gets it in its launch file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// The unit's name (the process's).
    pub name: String,
    /// Its v2 directory, when the v2 hierarchy is used.
    v2: Option<PathBuf>,
    /// Each controller's directory and whether it is v2.
    controllers: Vec<(Controller, PathBuf, bool)>,
}

/// Where the caller was before [`Unit::join`], to go back with [`Unit::leave`].
#[derive(Debug)]
pub struct Placement(Vec<PathBuf>);

/// The CPU period cpu limits are expressed in, microseconds.
const CPU_PERIOD_US: u64 = 100_000;

impl Unit {
    pub(super) fn new(name: &str, v2: Option<&Path>, controllers: &[ControllerDir]) -> Self {
        Self {
            name: name.to_owned(),
            v2: v2.map(|base| base.join(name)),
            controllers: controllers
                .iter()
                .map(|c| (c.controller, c.base.join(name), c.v2))
                .collect(),
        }
    }

    /// Every directory of the unit, each once.
    fn dirs(&self) -> Vec<&Path> {
        let mut dirs: Vec<&Path> = self.v2.iter().map(PathBuf::as_path).collect();
        for (_, dir, _) in &self.controllers {
            if !dirs.contains(&dir.as_path()) {
                dirs.push(dir);
            }
        }
        dirs
    }

    /// The unit's only directory when it is all cgroup v2 (no v1 controller): a child
    /// can then be created inside it directly (`clone3(CLONE_INTO_CGROUP)`).
    pub fn sole_v2_dir(&self) -> Option<&Path> {
        let v2 = self.v2.as_deref()?;
        self.controllers
            .iter()
            .all(|(_, dir, _)| dir == v2)
            .then_some(v2)
    }

    /// The directory whose `cgroup.procs` lists the whole tree (v2 first).
    pub fn tracking_dir(&self) -> &Path {
        self.dirs()[0]
    }

    fn controller(&self, controller: Controller) -> Option<(&Path, bool)> {
        self.controllers
            .iter()
            .find(|(c, _, _)| *c == controller)
            .map(|(_, dir, v2)| (dir.as_path(), *v2))
    }

    /// Makes the directories and writes every limit (unset ones as "no limit").
    pub(super) fn make(&self, limits: &UnitLimits) -> Result<(), CgroupError> {
        if let Some(base) = self.v2.as_deref().and_then(Path::parent) {
            files::make_dir(base)?;
            // The namespace may have been removed with its last unit: offer the
            // controllers enforced in v2 to its units again.
            for (controller, _, v2) in &self.controllers {
                if *v2 {
                    let enable = format!("+{}", controller.name());
                    let _ = files::write(base, "cgroup.subtree_control", &enable);
                }
            }
        }
        for dir in self.dirs() {
            files::make_dir(dir)?;
        }
        if let Some((dir, v2)) = self.controller(Controller::Memory) {
            let max = limits
                .memory_max
                .map_or("max".to_owned(), |b| b.to_string());
            if v2 {
                files::write(dir, "memory.max", &max)?;
                let high = limits
                    .memory_high
                    .map_or("max".to_owned(), |b| b.to_string());
                files::write(dir, "memory.high", &high)?;
                // One OOM ends the whole unit, and swap cannot stretch the limit.
                let _ = files::write(dir, "memory.oom.group", "1");
                if limits.memory_max.is_some() {
                    let _ = files::write(dir, "memory.swap.max", "0");
                }
            } else {
                let max = limits.memory_max.map_or("-1".to_owned(), |b| b.to_string());
                files::write(dir, "memory.limit_in_bytes", &max)?;
            }
        }
        if let Some((dir, _)) = self.controller(Controller::Pids) {
            let max = limits.pids_max.map_or("max".to_owned(), |n| n.to_string());
            files::write(dir, "pids.max", &max)?;
        }
        if let Some((dir, v2)) = self.controller(Controller::Cpu) {
            let quota = limits
                .cpu_max_percent
                .map(|p| u64::from(p) * CPU_PERIOD_US / 100);
            if v2 {
                let quota = quota.map_or("max".to_owned(), |q| q.to_string());
                files::write(dir, "cpu.max", &format!("{quota} {CPU_PERIOD_US}"))?;
            } else {
                files::write(dir, "cpu.cfs_period_us", &CPU_PERIOD_US.to_string())?;
                let quota = quota.map_or("-1".to_owned(), |q| q.to_string());
                files::write(dir, "cpu.cfs_quota_us", &quota)?;
            }
        }
        Ok(())
    }

    /// Makes the directory of a new unit without limits (a spare: v2 only, no controller,
    /// so [`Unit::make`] would write nothing more): `Ok(false)` when it exists already.
    pub(super) fn make_empty(&self) -> Result<bool, CgroupError> {
        let dir = self.tracking_dir();
        if let Some(base) = dir.parent() {
            files::make_dir(base)?;
        }
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(source) => {
                return Err(CgroupError::Io {
                    path: dir.to_owned(),
                    source,
                });
            }
        }
        Ok(true)
    }

    /// Moves the calling process into the unit, in every hierarchy. Its children inherit
    /// the unit: the shim joins, spawns the child, then [`Unit::leave`]s.
    pub fn join(&self) -> Result<Placement, CgroupError> {
        let mut joined = Vec::new();
        for dir in self.dirs() {
            // Units live in <own cgroup>/<namespace>/<name>: the caller goes back to <own>.
            let origin = dir.parent().and_then(Path::parent).map(Path::to_owned);
            if let Err(e) = files::write(dir, "cgroup.procs", "0") {
                let _ = Self::leave(Placement(joined));
                return Err(e);
            }
            joined.extend(origin);
        }
        Ok(Placement(joined))
    }

    /// Moves the calling process back to where it was before [`Unit::join`].
    pub fn leave(placement: Placement) -> Result<(), CgroupError> {
        let mut result = Ok(());
        for dir in placement.0 {
            if let Err(e) = files::write(&dir, "cgroup.procs", "0") {
                result = Err(e);
            }
        }
        result
    }

    /// Every process in the unit.
    pub fn pids(&self) -> Vec<u32> {
        files::read(self.tracking_dir(), "cgroup.procs")
            .map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// Whether any process is in the unit.
    pub fn is_populated(&self) -> bool {
        !self.pids().is_empty()
    }

    /// Kills everything in the unit, including processes that left the process group or
    /// session: `cgroup.kill` (v2), else SIGKILL to each member through a pidfd taken
    /// while it is listed, until none is left (at most 2 s).
    pub fn kill(&self) -> Result<(), CgroupError> {
        if let Some(v2) = &self.v2
            && v2.join("cgroup.kill").exists()
        {
            return files::write(v2, "cgroup.kill", "1");
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            let pids = self.pids();
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                let Some(pid) = Pid::from_raw(pid as i32) else {
                    continue;
                };
                // The pidfd pins the process; if it is still listed, it is this unit's.
                let Ok(fd) = pidfd_open(pid, PidfdFlags::empty()) else {
                    continue;
                };
                if self.pids().contains(&(pid.as_raw_nonzero().get() as u32)) {
                    let _ = pidfd_send_signal(&fd, Signal::KILL);
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Processes the kernel OOM-killed in the unit since it was made.
    pub fn oom_kills(&self) -> u64 {
        match self.controller(Controller::Memory) {
            Some((dir, true)) => files::read(dir, "memory.events"),
            Some((dir, false)) => files::read(dir, "memory.oom_control"),
            None => None,
        }
        .and_then(|text| files::keyed(&text, "oom_kill"))
        .unwrap_or(0)
    }

    /// Memory in use by the unit, bytes.
    pub fn memory_current(&self) -> Option<u64> {
        let (dir, v2) = self.controller(Controller::Memory)?;
        let file = if v2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        };
        files::read(dir, file)?.trim().parse().ok()
    }

    /// Tasks in the unit.
    pub fn pids_current(&self) -> Option<u64> {
        let (dir, _) = self.controller(Controller::Pids)?;
        files::read(dir, "pids.current")?.trim().parse().ok()
    }

    /// Removes the unit's directories once it is empty (waiting up to 1 s for exiting
    /// members to leave), and the namespace directories too when no other unit is left.
    pub fn remove(&self) -> Result<(), CgroupError> {
        let deadline = Instant::now() + Duration::from_secs(1);
        for dir in self.dirs() {
            loop {
                match std::fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if Instant::now() < deadline => {
                        let _ = e;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(source) => {
                        return Err(CgroupError::Io {
                            path: dir.to_owned(),
                            source,
                        });
                    }
                }
            }
        }
        for dir in self.dirs() {
            if let Some(base) = dir.parent() {
                let _ = std::fs::remove_dir(base);
            }
        }
        Ok(())
    }
}
