//! Who holds a PID right now: the facts that tell one process instance from another that
//! later got the same PID.
//!
//! The exact identity is the kernel's start time in clock ticks since boot
//! (`/proc/PID/stat` field 22, `starttime`). Its resolution is one tick of `USER_HZ`,
//! which is 1/100 s on Linux: two processes that hold the same PID and start within the
//! same 10 ms cannot be told apart. That needs the whole PID space (`pid_max`) to wrap
//! within 10 ms, which does not happen outside a test that forces it. The older
//! `start_time` in Unix seconds is kept for compatibility, but one second is far too coarse:
//! a PID reused within the same second passes a seconds-only check.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use procfs::process::Process;

use crate::error::{Error, Result};

/// Who a PID belongs to at the moment it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The PID.
    pub pid: u32,
    /// Its parent's PID.
    pub ppid: u32,
    /// Its process group (0 when the group's leader is outside this PID namespace): how
    /// a worker forked by a managed process is told to belong to it.
    pub pgid: u32,
    /// Its short name (the kernel's `comm`).
    pub name: String,
    /// Its owner's effective user id.
    pub uid: u32,
    /// Start time in Unix seconds (derived from `start_ticks` and the boot time; coarse).
    pub start_time: u64,
    /// Start time in clock ticks since boot (`USER_HZ`, 1/100 s): the exact identity.
    pub start_ticks: u64,
}

impl Identity {
    /// Refuses with [`Error::ProcessChanged`] (naming which identity differed) unless this
    /// process is the one the caller saw. Each expectation that is given must match: the
    /// ticks are the exact check, the seconds are kept for older callers.
    pub fn check(&self, start_time: Option<u64>, start_ticks: Option<u64>) -> Result<()> {
        let changed = |field: &'static str, expected: u64, actual: u64| Error::ProcessChanged {
            pid: self.pid,
            field,
            expected,
            actual,
        };
        if let Some(expected) = start_ticks
            && expected != self.start_ticks
        {
            return Err(changed(START_TICKS, expected, self.start_ticks));
        }
        if let Some(expected) = start_time
            && expected != self.start_time
        {
            return Err(changed(START_TIME, expected, self.start_time));
        }
        Ok(())
    }
}

/// One process instance the daemon started or adopted, as recorded: enough to tell it
/// from a later process that got the same PID. Used wherever the daemon signals or
/// watches a process it remembers (a managed process's group leader, its shim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    /// The PID.
    pub pid: u32,
    /// Start time in Unix seconds, as recorded.
    pub start_time: u64,
    /// Start time in clock ticks since boot; `None` in records older than ticks.
    pub start_ticks: Option<u64>,
}

impl Instance {
    /// Whether the PID still belongs to this instance (by ticks when recorded, and seconds).
    pub fn is_alive(&self) -> bool {
        start_of(self.pid).is_some_and(|(time, ticks)| {
            time == self.start_time && self.start_ticks.is_none_or(|recorded| recorded == ticks)
        })
    }
}

/// When the process holding `pid` now started, as (Unix seconds, clock ticks since boot),
/// read straight from `/proc/PID/stat` (one open and one read: the check on every launch
/// and watch, where [`identify`] would also read the owner and walk `procfs`'s layers);
/// `None` when no such process exists.
pub fn start_of(pid: u32) -> Option<(u64, u64)> {
    let mut buf = [0u8; 4096];
    let file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let n = std::io::Read::read(&mut &file, &mut buf).ok()?;
    let ticks = super::stat_line::StatLine::parse(&buf[..n])?.starttime;
    Some((Clock::get().start_time(ticks), ticks))
}

/// How [`Error::ProcessChanged`] names a start time in clock ticks since boot.
pub const START_TICKS: &str = "start_ticks (clock ticks since boot)";
/// How [`Error::ProcessChanged`] names a start time in Unix seconds.
pub const START_TIME: &str = "start_time (Unix seconds)";

/// Reads the identity of the process that holds `pid` right now.
pub fn identify(pid: u32) -> Result<Identity> {
    let gone = |_| Error::NoSuchProcess { pid };
    let process = Process::new(pid as i32).map_err(gone)?;
    let stat = process.stat().map_err(gone)?;
    Ok(Identity {
        pid,
        ppid: stat.ppid.max(0) as u32,
        pgid: stat.pgrp.max(0) as u32,
        name: stat.comm.clone(),
        uid: process.uid().map_err(gone)?,
        start_time: Clock::get().start_time(stat.starttime),
        start_ticks: stat.starttime,
    })
}

/// The kernel start time (Unix seconds) of `pid`, or `None` when no such process exists.
/// Coarse: prefer [`start_ticks_of`] to tell one instance of a PID from the next.
pub fn start_time_of(pid: u32) -> Option<u64> {
    start_of(pid).map(|(time, _)| time)
}

/// The kernel start time of `pid` in clock ticks since boot (`USER_HZ`, 1/100 s), or
/// `None` when no such process exists. With the PID it identifies one process instance
/// across PID reuse.
pub fn start_ticks_of(pid: u32) -> Option<u64> {
    start_of(pid).map(|(_, ticks)| ticks)
}

/// Whether the process runs as the caller's effective user (so a plain kill may work).
pub fn is_owned_by_current_user(pid: u32) -> Result<bool> {
    let identity = identify(pid)?;
    Ok(identity.uid == rustix::process::geteuid().as_raw())
}

/// Kernel clock facts needed to turn `stat` ticks into times (and pages into bytes);
/// read once per process.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    ticks_per_second: u64,
    boot_time: u64,
    pub(super) page_size: u64,
}

impl Clock {
    pub(super) fn get() -> Self {
        static CLOCK: OnceLock<Clock> = OnceLock::new();
        *CLOCK.get_or_init(|| Clock {
            ticks_per_second: procfs::ticks_per_second().max(1),
            boot_time: procfs::boot_time_secs().unwrap_or(0),
            page_size: procfs::page_size(),
        })
    }

    /// Unix seconds of a start time in ticks since boot (rounded down).
    pub(super) fn start_time(&self, start_ticks: u64) -> u64 {
        self.boot_time + start_ticks / self.ticks_per_second
    }

    /// How long ago a process that started at `start_ticks` started.
    pub(super) fn uptime_of(&self, start_ticks: u64) -> Duration {
        let started = UNIX_EPOCH
            + Duration::from_millis(
                self.boot_time * 1000 + start_ticks * 1000 / self.ticks_per_second,
            );
        SystemTime::now()
            .duration_since(started)
            .unwrap_or_default()
    }

    /// Clock ticks (`USER_HZ`) as milliseconds.
    pub(super) fn ticks_to_ms(&self, ticks: u64) -> u64 {
        ticks.saturating_mul(1000) / self.ticks_per_second
    }

    /// CPU `ticks` used over `over`, in percent of one core.
    pub(super) fn percent(&self, ticks: u64, over: Duration) -> f32 {
        let cpu_seconds = ticks as f64 / self.ticks_per_second as f64;
        (cpu_seconds * 100.0 / over.as_secs_f64().max(1e-3)) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_identity_has_ticks_consistent_with_seconds() {
        let me = identify(std::process::id()).unwrap();
        assert_eq!(start_ticks_of(me.pid), Some(me.start_ticks));
        assert_eq!(start_time_of(me.pid), Some(me.start_time));
        assert_eq!(Clock::get().start_time(me.start_ticks), me.start_time);
        assert!(me.check(Some(me.start_time), Some(me.start_ticks)).is_ok());
        assert!(me.check(None, None).is_ok());
        assert_eq!(start_of(me.pid), Some((me.start_time, me.start_ticks)));
        let instance = Instance {
            pid: me.pid,
            start_time: me.start_time,
            start_ticks: Some(me.start_ticks),
        };
        assert!(instance.is_alive());
        let later = Instance {
            start_ticks: Some(me.start_ticks + 1),
            ..instance
        };
        assert!(!later.is_alive(), "another instance of the pid");
        assert_eq!(start_of(i32::MAX as u32), None);
    }

    #[test]
    fn a_mismatch_names_the_identity_that_differed() {
        let me = identify(std::process::id()).unwrap();
        // Same second, another tick: the case a seconds-only check lets through.
        let err = me
            .check(Some(me.start_time), Some(me.start_ticks + 1))
            .unwrap_err();
        assert!(matches!(err, Error::ProcessChanged { field, .. } if field == START_TICKS));
        assert!(err.to_string().contains("start_ticks"), "{err}");
        let err = me
            .check(Some(me.start_time + 1), Some(me.start_ticks))
            .unwrap_err();
        assert!(
            err.to_string().contains("start_time (Unix seconds)"),
            "{err}"
        );
    }

    #[test]
    fn missing_pid_has_no_identity() {
        assert!(matches!(
            identify(u32::MAX - 1),
            Err(Error::NoSuchProcess { .. })
        ));
        assert_eq!(start_ticks_of(u32::MAX - 1), None);
    }
}
