//! CPU and memory of a known set of processes, cheaply and repeatedly: what a supervisor
//! shows in every `list`. Each process costs one read of its `/proc/PID/stat` (a third of
//! a full [`super::ProcessSampler`] reading), and a reading younger than the caller's
//! `max_age` is served again instead of read, so a burst of lists (a dashboard polling,
//! a script looping) costs no `/proc` reads at all.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::identity::Clock;
use super::process::{CpuMark, cpu_percent, mark};
use super::stat_line::StatLine;

/// A reading not asked for again within this long is dropped.
pub(super) const FORGET_AFTER: Duration = Duration::from_secs(60);

/// What [`UsageSampler::usage_of`] reads of a process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// The process.
    pub pid: u32,
    /// CPU since its previous reading (or over its life, on the first), % of one core.
    pub cpu_percent: f32,
    /// Resident memory, bytes.
    pub memory_rss: u64,
    /// CPU time in user mode over its life, milliseconds (`/proc/PID/stat` utime).
    pub cpu_user_ms: u64,
    /// CPU time in kernel mode over its life, milliseconds (`/proc/PID/stat` stime).
    pub cpu_system_ms: u64,
    /// Number of threads.
    pub threads: u32,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    mark: CpuMark,
    at: Instant,
    usage: Usage,
}

/// Remembers each process's last reading, so CPU is measured per process between its own
/// readings (a subset can be read without disturbing the others' baselines).
#[derive(Debug, Default)]
pub struct UsageSampler {
    seen: HashMap<u32, Seen>,
    /// [`UsageSampler::metrics_of`]'s list of each root's tree members, with when read.
    pub(super) trees: HashMap<u32, (Instant, Vec<u32>)>,
    /// [`UsageSampler::metrics_of`]'s handles of each process, with when read.
    pub(super) handles: HashMap<u32, (Instant, super::metrics::Handles)>,
}

impl UsageSampler {
    /// A sampler with no readings yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Usage of each of `pids` that exists, read now unless its last reading is younger
    /// than `max_age` (`Duration::ZERO`: always read).
    pub fn usage_of(&mut self, pids: &[u32], max_age: Duration) -> Vec<Usage> {
        let now = Instant::now();
        let clock = Clock::get();
        let mut out = Vec::with_capacity(pids.len());
        for &pid in pids {
            let before = self.seen.get(&pid).copied();
            if let Some(seen) = before
                && now.duration_since(seen.at) < max_age
            {
                out.push(seen.usage);
                continue;
            }
            let Some(stat) = read_stat(pid) else {
                self.seen.remove(&pid);
                continue;
            };
            let current = mark(&stat);
            let since = before.map(|seen| (seen.mark, now.duration_since(seen.at)));
            let cpu_percent = cpu_percent(&clock, current, since);
            let usage = Usage {
                pid,
                cpu_percent,
                memory_rss: stat.rss * clock.page_size,
                cpu_user_ms: clock.ticks_to_ms(stat.utime),
                cpu_system_ms: clock.ticks_to_ms(stat.stime),
                threads: stat.num_threads,
            };
            self.seen.insert(
                pid,
                Seen {
                    mark: current,
                    at: now,
                    usage,
                },
            );
            out.push(usage);
        }
        // Forget processes nobody asked about for a while. By age, not by this call's
        // set: callers share the sampler (a listing, then the trees' members), and a
        // small call must not drop the others' baselines.
        if self.seen.len() > pids.len() + 64 {
            self.seen
                .retain(|_, seen| now.duration_since(seen.at) < FORGET_AFTER);
        }
        out
    }
}

/// `/proc/PID/stat` with one open, one read into a stack buffer (up to the line's end, see
/// [`super::read_line`]) and one close (procfs's `from_file` also asks for the size and
/// position first: five calls more per process in every listing).
pub(super) fn read_stat(pid: u32) -> Option<StatLine> {
    use rustix::fs::{Mode, OFlags, open};
    let path = format!("/proc/{pid}/stat");
    let file = open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0u8; 1024];
    match super::read_line(&file, &mut buf, false).ok()? {
        // Longer than any stat line seen: read it the general way.
        len if len == buf.len() => StatLine::parse(&std::fs::read(path).ok()?),
        len => StatLine::parse(&buf[..len]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_live_processes_and_serves_young_readings_again() {
        let me = std::process::id();
        let mut sampler = UsageSampler::new();
        let first = sampler.usage_of(&[me, u32::MAX - 7], Duration::ZERO);
        assert_eq!(first.len(), 1, "a pid that does not exist is left out");
        assert_eq!(first[0].pid, me);
        assert!(first[0].memory_rss > 0);
        // Burn some CPU: a fresh reading sees it, a cached one is the same as before.
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(60) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        assert_ne!(x, 1);
        let cached = sampler.usage_of(&[me], Duration::from_secs(60));
        assert_eq!(cached, first, "younger than max_age: served again");
        let fresh = sampler.usage_of(&[me], Duration::ZERO);
        assert!(fresh[0].cpu_percent > 0.0, "{fresh:?}");
    }

    #[test]
    fn a_small_call_in_between_keeps_the_others_baselines() {
        let me = std::process::id();
        let mut pids: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|pid| *pid != me)
            .take(150)
            .collect();
        pids.push(me);
        let mut sampler = UsageSampler::new();
        let first = sampler.usage_of(&pids, Duration::ZERO);
        let mine = *first.iter().find(|u| u.pid == me).unwrap();
        // A tree with no other members asks for nothing (as `metrics_of` may).
        assert!(sampler.usage_of(&[], Duration::ZERO).is_empty());
        assert!(sampler.seen.contains_key(&me));
        let again = sampler.usage_of(&[me], Duration::from_secs(60));
        assert_eq!(again, [mine], "the reading (and CPU baseline) was kept");
    }
}
