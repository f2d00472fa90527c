//! The OS process table: one [`ProcessInfo`] per process, with CPU usage measured over a
//! real sample rather than a lifetime average.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use procfs::process::Process;
use serde::{Deserialize, Serialize};

use super::held::{Held, command_line, uid_of};
use super::identity::Clock;
pub use super::identity::{
    Identity, Instance, START_TICKS, START_TIME, identify, is_owned_by_current_user, start_of,
    start_ticks_of, start_time_of,
};
use super::stat_line::StatLine;
use super::users::UserCache;
use crate::error::{Error, Result};

/// Default CPU sample: long enough for a meaningful percentage, short enough for a CLI.
pub const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_millis(200);

/// One OS process as procward reports it (field names follow the gRPC `ProcessInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Parent process id (0 for the namespace's init and kernel roots).
    pub ppid: u32,
    /// Short name (the kernel's `comm`, at most 15 bytes, as `ps` shows it).
    pub name: String,
    /// Full command line, arguments joined by spaces; `[name]` for kernel threads.
    pub command: String,
    /// Owner's login name (or the uid as text when it has none).
    pub user: String,
    /// Owner's effective user id.
    pub uid: u32,
    /// Scheduler state.
    pub status: ProcessStatus,
    /// CPU usage over the last sample, in percent of one core (can exceed 100).
    pub cpu_percent: f32,
    /// Resident memory as a percentage of the machine's total memory.
    pub memory_percent: f32,
    /// Resident set size in bytes.
    pub memory_rss: u64,
    /// Virtual memory size in bytes.
    pub memory_vms: u64,
    /// Number of threads.
    pub threads: u32,
    /// Start time in Unix seconds (coarse: a PID reused within the same second has the
    /// same value; kept for compatibility, prefer `start_ticks`).
    pub start_time: u64,
    /// Kernel start time in clock ticks since boot (`/proc/PID/stat` field 22; `USER_HZ`,
    /// 1/100 s on Linux). Pass it back to a kill (`expected_start_ticks`) to be sure the
    /// PID still belongs to this process instance.
    #[serde(default)]
    pub start_ticks: u64,
    /// Seconds since the process started.
    pub uptime_seconds: u64,
    /// User-mode CPU time over its life, milliseconds (`/proc/PID/stat` utime).
    #[serde(default)]
    pub cpu_user_ms: u64,
    /// Kernel-mode CPU time over its life, milliseconds (`/proc/PID/stat` stime).
    #[serde(default)]
    pub cpu_system_ms: u64,
    /// Open descriptors and I/O counters: read for one process ([`get_process_info`],
    /// [`ProcessInfo::read_handles`]), absent in listings (they would cost a `/proc/PID/fd`
    /// and `/proc/PID/io` read per process) and when the kernel refuses them.
    #[serde(default, flatten)]
    pub handles: super::metrics::Handles,
}

impl ProcessInfo {
    /// Fills [`ProcessInfo::handles`] from `/proc` (left empty when the process is gone
    /// or the kernel refuses).
    pub fn read_handles(&mut self) {
        self.handles = super::metrics::read_handles(self.pid).unwrap_or_default();
    }

    /// CPU usage in percent of one core (the seed library contract's `cpu_usage`).
    pub fn cpu_usage(&self) -> f32 {
        self.cpu_percent
    }

    /// Resident memory in KB (the seed library contract's `memory_usage`).
    pub fn memory_usage(&self) -> u64 {
        self.memory_rss / 1024
    }
}

/// A process's scheduler state, decoded from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcessStatus {
    /// Running or runnable (`R`).
    Running,
    /// Interruptible sleep (`S`).
    Sleeping,
    /// Uninterruptible sleep, usually I/O (`D`).
    DiskSleep,
    /// Stopped by a signal (`T`).
    Stopped,
    /// Stopped by a tracer (`t`).
    TracingStop,
    /// Exited, not yet reaped (`Z`).
    Zombie,
    /// Dead (`X`).
    Dead,
    /// Idle kernel thread (`I`).
    Idle,
    /// Any other state letter.
    Unknown,
}

impl ProcessStatus {
    fn from_state(state: char) -> Self {
        match state {
            'R' => Self::Running,
            'S' => Self::Sleeping,
            'D' => Self::DiskSleep,
            'T' => Self::Stopped,
            't' => Self::TracingStop,
            'Z' => Self::Zombie,
            'X' | 'x' => Self::Dead,
            'I' => Self::Idle,
            _ => Self::Unknown,
        }
    }

    /// Lower-case name as shown in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Sleeping => "sleeping",
            Self::DiskSleep => "disk-sleep",
            Self::Stopped => "stopped",
            Self::TracingStop => "tracing-stop",
            Self::Zombie => "zombie",
            Self::Dead => "dead",
            Self::Idle => "idle",
            Self::Unknown => "unknown",
        }
    }
}

/// CPU time consumed by one process instance at a moment.
#[derive(Debug, Clone, Copy)]
pub(super) struct CpuMark {
    pub(super) start_ticks: u64,
    pub(super) cpu_ticks: u64,
}

/// Which processes a sample covers.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    All,
    One(u32),
    Some(&'a [u32]),
}

/// Takes CPU samples of the process table.
///
/// CPU percentages need two readings: the sampler keeps the previous one, so a long-lived
/// sampler (the daemon's timer) pays one `/proc` walk per refresh, and a one-shot caller
/// uses [`ProcessSampler::sample`], which takes the baseline, waits, and reads again.
#[derive(Debug, Default)]
pub struct ProcessSampler {
    baseline: HashMap<u32, CpuMark>,
    baseline_at: Option<Instant>,
    users: UserCache,
    /// Files and command lines kept between refreshes ([`ProcessSampler::keeping_files`]).
    held: Option<Held>,
}

impl ProcessSampler {
    /// A sampler with no baseline yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sampler for a live monitor refreshing every process again and again: it keeps
    /// each process's `/proc` files open and its command line between refreshes (see
    /// `held.rs`: about a quarter of the kernel time per refresh), at the price of two
    /// descriptors per process within the soft `RLIMIT_NOFILE`, and of a command line
    /// rewritten in place (`setproctitle`) showing up to 16 refreshes late.
    pub fn keeping_files() -> Self {
        Self {
            held: Some(Held::new()),
            ..Self::default()
        }
    }

    /// Takes a baseline, waits `interval`, and returns every process with its CPU usage
    /// over that interval. Processes that vanish mid-walk are left out.
    pub fn sample(&mut self, interval: Duration) -> Result<Vec<ProcessInfo>> {
        self.take_baseline(Scope::All)?;
        std::thread::sleep(interval);
        self.refresh()
    }

    /// Every process, with CPU usage since the previous call (or since the process
    /// started, on the first call).
    pub fn refresh(&mut self) -> Result<Vec<ProcessInfo>> {
        self.read(Scope::All)
    }

    /// Just these processes, with CPU usage since the previous call (the daemon's view of
    /// its managed processes, without walking all of `/proc`). Missing PIDs are left out.
    pub fn refresh_some(&mut self, pids: &[u32]) -> Vec<ProcessInfo> {
        self.read(Scope::Some(pids)).unwrap_or_default()
    }

    /// One process, sampled over `interval`.
    pub fn sample_one(&mut self, pid: u32, interval: Duration) -> Result<ProcessInfo> {
        self.take_baseline(Scope::One(pid))?;
        std::thread::sleep(interval);
        self.read(Scope::One(pid))?
            .pop()
            .ok_or(Error::NoSuchProcess { pid })
    }

    fn take_baseline(&mut self, scope: Scope<'_>) -> Result<()> {
        self.baseline.clear();
        for_each_process(scope, |_, stat| {
            self.baseline.insert(stat.pid, mark(stat));
        })?;
        self.baseline_at = Some(Instant::now());
        Ok(())
    }

    fn read(&mut self, scope: Scope<'_>) -> Result<Vec<ProcessInfo>> {
        let now = Instant::now();
        let elapsed = self.baseline_at.map(|at| now.duration_since(at));
        let memory_total = memory_total();
        let clock = Clock::get();
        let mut next = HashMap::with_capacity(self.baseline.len().max(64));
        let mut out = Vec::with_capacity(self.baseline.len().max(64));
        let previous = std::mem::take(&mut self.baseline);
        let users = &mut self.users;
        let mut push = |stat: &StatLine, uid: Option<u32>, command: String| {
            let current = mark(stat);
            next.insert(stat.pid, current);
            let uptime = clock.uptime_of(stat.starttime);
            let before = previous.get(&stat.pid).copied().zip(elapsed);
            let cpu_percent = cpu_percent(&clock, current, before);
            let uid = uid.unwrap_or(u32::MAX);
            let rss = stat.rss * clock.page_size;
            out.push(ProcessInfo {
                pid: stat.pid,
                ppid: stat.ppid,
                name: stat.comm.clone(),
                command,
                user: users.name(uid).to_owned(),
                uid,
                status: ProcessStatus::from_state(stat.state),
                cpu_percent,
                memory_percent: if memory_total == 0 {
                    0.0
                } else {
                    (rss as f64 * 100.0 / memory_total as f64) as f32
                },
                memory_rss: rss,
                memory_vms: stat.vsize,
                threads: stat.num_threads,
                start_time: clock.start_time(stat.starttime),
                start_ticks: stat.starttime,
                uptime_seconds: uptime.as_secs(),
                cpu_user_ms: clock.ticks_to_ms(stat.utime),
                cpu_system_ms: clock.ticks_to_ms(stat.stime),
                handles: Default::default(),
            });
        };
        match (&mut self.held, scope) {
            (Some(held), Scope::All) => {
                held.begin();
                for pid in all_pids()? {
                    if let Some(found) = held.read(pid) {
                        push(&found.stat, found.uid, found.command);
                    }
                }
                held.finish();
            }
            _ => for_each_process(scope, |pid, stat| {
                push(stat, uid_of(pid), command_line(pid, None, &stat.comm));
            })?,
        }
        self.baseline = next;
        self.baseline_at = Some(now);
        Ok(out)
    }
}

/// Every OS process, with CPU usage over a [`DEFAULT_SAMPLE_INTERVAL`] sample.
pub fn list_processes() -> Result<Vec<ProcessInfo>> {
    ProcessSampler::new().sample(DEFAULT_SAMPLE_INTERVAL)
}

/// One process by PID, with CPU usage over a [`DEFAULT_SAMPLE_INTERVAL`] sample.
/// Its open descriptors and I/O counters are read too.
pub fn get_process_info(pid: u32) -> Result<ProcessInfo> {
    let mut info = ProcessSampler::new().sample_one(pid, DEFAULT_SAMPLE_INTERVAL)?;
    info.read_handles();
    Ok(info)
}

/// `(pid, ppid)` of every process, cheaply: enough to find a process's descendants.
pub(crate) fn parent_table() -> Result<Vec<(u32, u32)>> {
    let mut table = Vec::with_capacity(256);
    for_each_process(Scope::All, |_, stat| {
        table.push((stat.pid, stat.ppid));
    })?;
    Ok(table)
}

/// CPU % of `current` since `before` (a reading of the same pid and how long ago it was
/// taken); without one of the same process instance (started since, or no earlier
/// reading), over its whole life. The one formula of both samplers.
pub(super) fn cpu_percent(
    clock: &Clock,
    current: CpuMark,
    before: Option<(CpuMark, Duration)>,
) -> f32 {
    match before {
        Some((before, elapsed)) if before.start_ticks == current.start_ticks => clock.percent(
            current.cpu_ticks - before.cpu_ticks.min(current.cpu_ticks),
            elapsed,
        ),
        _ => clock.percent(
            current.cpu_ticks,
            clock
                .uptime_of(current.start_ticks)
                .max(Duration::from_millis(1)),
        ),
    }
}

pub(super) fn mark(stat: &StatLine) -> CpuMark {
    CpuMark {
        start_ticks: stat.starttime,
        cpu_ticks: stat.utime + stat.stime,
    }
}

/// Visits each live process with its parsed `stat`; processes that exit mid-walk or cannot
/// be read are skipped, so callers always get a consistent list. Each costs one open, one
/// read and one close of its `stat` (the walk of `/proc` itself is a few `getdents`).
fn for_each_process(scope: Scope<'_>, mut visit: impl FnMut(u32, &StatLine)) -> Result<()> {
    let mut one = |pid: u32| {
        if let Some(stat) = super::usage::read_stat(pid) {
            visit(pid, &stat);
        }
    };
    match scope {
        Scope::One(pid) => {
            if Process::new(pid as i32).is_err() {
                return Err(Error::NoSuchProcess { pid });
            }
            one(pid);
        }
        Scope::Some(pids) => pids.iter().copied().for_each(one),
        Scope::All => all_pids()?.into_iter().for_each(one),
    }
    Ok(())
}

/// The PIDs of every process, from one walk of `/proc` (a few `getdents`).
fn all_pids() -> Result<Vec<u32>> {
    let all = std::fs::read_dir("/proc").map_err(|e| Error::io("cannot read /proc", e))?;
    Ok(all
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .collect())
}

fn memory_total() -> u64 {
    procfs::Current::current()
        .map(|m: procfs::Meminfo| m.mem_total)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_listed_with_real_fields() {
        let me = std::process::id();
        let all = ProcessSampler::new()
            .sample(Duration::from_millis(50))
            .unwrap();
        let mine = all.iter().find(|p| p.pid == me).expect("own pid listed");
        assert!(mine.memory_rss > 0);
        assert!(mine.threads >= 1);
        assert!(mine.start_time > 1_600_000_000);
        assert_eq!(start_ticks_of(me), Some(mine.start_ticks));
        assert_eq!(mine.uid, rustix::process::geteuid().as_raw());
    }

    #[test]
    fn busy_process_shows_cpu_over_the_sample() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let spinner = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        let me = get_process_info(std::process::id()).unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spinner.join().unwrap();
        assert!(
            me.cpu_percent > 15.0,
            "spinning thread should show, got {}",
            me.cpu_percent
        );
    }

    #[test]
    fn missing_pid_is_not_found() {
        let err = get_process_info(u32::MAX - 1).unwrap_err();
        assert!(matches!(err, Error::NoSuchProcess { .. }));
    }

    #[test]
    fn status_letters_decode() {
        assert_eq!(ProcessStatus::from_state('Z'), ProcessStatus::Zombie);
        assert_eq!(ProcessStatus::from_state('T').as_str(), "stopped");
        assert_eq!(ProcessStatus::from_state('?'), ProcessStatus::Unknown);
    }
}
