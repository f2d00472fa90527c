//! Per-process metrics beyond CPU and memory, for `status`, `list --json`,
//! `GetProcessInfo` and live session metrics: open file descriptors, bytes read and
//! written, user and system CPU time, threads, and the same summed over a process tree.
//!
//! The extras cost more than the one `/proc/PID/stat` read of a plain listing (a
//! `stat` of `/proc/PID/fd` and a read of `/proc/PID/io` per process, plus a walk of
//! every process's `stat` to find a tree's descendants), so they are read only where a
//! caller asks for one process or for details, never for the default `list` table.
//!
//! Values the kernel refuses (another user's process: `/proc/PID/fd` and `/proc/PID/io`
//! need ptrace rights) are `None`, never 0, so "unreadable" is not mistaken for "none".

use std::collections::HashMap;
use std::time::{Duration, Instant};

use std::os::fd::OwnedFd;

use serde::{Deserialize, Serialize};

use super::process::parent_table;
use super::tree::{descendants, descendants_from_children_lists};
use super::usage::{FORGET_AFTER, Usage, UsageSampler};

/// What `/proc/PID/fd` and `/proc/PID/io` say of one process; each `None` when the kernel
/// refuses to tell (permission) or the file does not exist (a kernel without task I/O
/// accounting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Handles {
    /// Open file descriptors (entries of `/proc/PID/fd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_fds: Option<u32>,
    /// Bytes this process caused to be fetched from storage (`read_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_read_bytes: Option<u64>,
    /// Bytes this process caused to be sent to storage (`write_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_write_bytes: Option<u64>,
    /// Bytes passed to read-like system calls, cache hits and pipes included (`rchar`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_rchar: Option<u64>,
    /// Bytes passed to write-like system calls, pipes included (`wchar`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_wchar: Option<u64>,
}

/// Reads `pid`'s open descriptors and I/O counters; `None` when the process is gone.
///
/// Read relative to one `/proc/PID` descriptor: the descriptor count from the `st_size`
/// of `/proc/PID/fd` (Linux 6.2+; counted from the directory before that) and
/// `/proc/PID/io`, about six system calls, since `list --json` does this for every
/// member of every tree.
pub fn read_handles(pid: u32) -> Option<Handles> {
    use rustix::fs::{Mode, OFlags, open};
    let dir = open(
        format!("/proc/{pid}"),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let gone =
        |e: &rustix::io::Errno| matches!(*e, rustix::io::Errno::NOENT | rustix::io::Errno::SRCH);
    let open_fds = match count_fds(&dir) {
        Ok(n) => Some(n),
        Err(e) if gone(&e) => return None,
        Err(_) => None,
    };
    let io = match read_io(&dir) {
        Ok(io) => io,
        Err(e) if gone(&e) => return None,
        Err(_) => None,
    };
    Some(Handles {
        open_fds,
        io_read_bytes: io.map(|io| io.read_bytes),
        io_write_bytes: io.map(|io| io.write_bytes),
        io_rchar: io.map(|io| io.rchar),
        io_wchar: io.map(|io| io.wchar),
    })
}

/// Open descriptors of the process whose `/proc` directory is `dir`.
fn count_fds(dir: &OwnedFd) -> rustix::io::Result<u32> {
    use rustix::fs::{AtFlags, Dir, Mode, OFlags, openat, statat};
    let size = statat(dir, "fd", AtFlags::empty())?.st_size;
    if size > 0 {
        return Ok(u32::try_from(size).unwrap_or(u32::MAX));
    }
    // Kernels before 6.2 report 0: count the entries.
    let fds = openat(
        dir,
        "fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut count = 0u32;
    for entry in Dir::new(fds)? {
        let entry = entry?;
        if !matches!(entry.file_name().to_bytes(), b"." | b"..") {
            count = count.saturating_add(1);
        }
    }
    Ok(count)
}

/// The counters of `/proc/PID/io` we show.
#[derive(Clone, Copy)]
struct Io {
    rchar: u64,
    wchar: u64,
    read_bytes: u64,
    write_bytes: u64,
}

/// `/proc/PID/io` of the process whose `/proc` directory is `dir`; `Ok(None)` when its
/// text cannot be parsed.
fn read_io(dir: &OwnedFd) -> rustix::io::Result<Option<Io>> {
    use rustix::fs::{Mode, OFlags, openat};
    let file = openat(dir, "io", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut buf = [0u8; 512];
    let len = super::read_small(&file, &mut buf)?;
    let text = std::str::from_utf8(&buf[..len]).unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(": "))
            .and_then(|value| value.trim().parse().ok())
    };
    Ok((|| {
        Some(Io {
            rchar: field("rchar")?,
            wchar: field("wchar")?,
            read_bytes: field("read_bytes")?,
            write_bytes: field("write_bytes")?,
        })
    })())
}

/// The metrics of one process, or the sum over a process tree.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    /// How many processes this covers (1 for one process; the tree's size for a sum).
    pub processes: u32,
    /// CPU since the previous reading, % of one core (a sum can exceed 100).
    pub cpu_percent: f32,
    /// Resident memory, bytes (a sum counts shared pages once per process).
    pub memory_rss: u64,
    /// Open file descriptors; `None` when unreadable (for a sum: for any member).
    pub open_fds: Option<u32>,
    /// Storage bytes read (`/proc/PID/io` `read_bytes`); `None` when unreadable.
    pub io_read_bytes: Option<u64>,
    /// Storage bytes written (`write_bytes`); `None` when unreadable.
    pub io_write_bytes: Option<u64>,
    /// Bytes read by system calls (`rchar`); `None` when unreadable.
    pub io_rchar: Option<u64>,
    /// Bytes written by system calls (`wchar`); `None` when unreadable.
    pub io_wchar: Option<u64>,
    /// User-mode CPU time over its life, milliseconds.
    pub cpu_user_ms: u64,
    /// Kernel-mode CPU time over its life, milliseconds.
    pub cpu_system_ms: u64,
    /// Threads.
    pub threads: u32,
}

impl Metrics {
    /// One process's metrics from its usage reading and handles.
    pub fn one(usage: &Usage, handles: &Handles) -> Self {
        Self {
            processes: 1,
            cpu_percent: usage.cpu_percent,
            memory_rss: usage.memory_rss,
            open_fds: handles.open_fds,
            io_read_bytes: handles.io_read_bytes,
            io_write_bytes: handles.io_write_bytes,
            io_rchar: handles.io_rchar,
            io_wchar: handles.io_wchar,
            cpu_user_ms: usage.cpu_user_ms,
            cpu_system_ms: usage.cpu_system_ms,
            threads: usage.threads,
        }
    }

    /// The sum of several processes' metrics; an optional value is `None` when any
    /// member's is (a partial sum would look like a real, smaller figure).
    pub fn sum<'a>(members: impl IntoIterator<Item = &'a Metrics>) -> Self {
        fn add<T: std::ops::Add<Output = T>>(a: Option<T>, b: Option<T>) -> Option<T> {
            Some(a? + b?)
        }
        let zero = Self {
            open_fds: Some(0),
            io_read_bytes: Some(0),
            io_write_bytes: Some(0),
            io_rchar: Some(0),
            io_wchar: Some(0),
            ..Self::default()
        };
        members.into_iter().fold(zero, |acc, m| Self {
            processes: acc.processes + m.processes,
            cpu_percent: acc.cpu_percent + m.cpu_percent,
            memory_rss: acc.memory_rss + m.memory_rss,
            open_fds: add(acc.open_fds, m.open_fds),
            io_read_bytes: add(acc.io_read_bytes, m.io_read_bytes),
            io_write_bytes: add(acc.io_write_bytes, m.io_write_bytes),
            io_rchar: add(acc.io_rchar, m.io_rchar),
            io_wchar: add(acc.io_wchar, m.io_wchar),
            cpu_user_ms: acc.cpu_user_ms + m.cpu_user_ms,
            cpu_system_ms: acc.cpu_system_ms + m.cpu_system_ms,
            threads: acc.threads + m.threads,
        })
    }
}

/// A process's own metrics and the sum over it and all its descendants.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TreeMetrics {
    /// The process itself.
    pub main: Metrics,
    /// It and every descendant.
    pub tree: Metrics,
}

impl UsageSampler {
    /// Metrics of each root in `roots` that exists, with its tree: one walk of the
    /// process table for all roots, then usage (CPU since the previous reading), handles
    /// of every member. Each reading (a process's usage, its handles, a root's list of
    /// descendants) younger than `max_age` is served again instead of read, so a burst
    /// of `list --json` calls reads `/proc` about once per `max_age`.
    pub fn metrics_of(&mut self, roots: &[u32], max_age: Duration) -> HashMap<u32, TreeMetrics> {
        if roots.is_empty() {
            return HashMap::new();
        }
        let now = Instant::now();
        let young = |at: Instant| now.duration_since(at) < max_age;
        // The roots first: their thread counts spare reading every thread's children.
        // Each process is read once: with `max_age` zero a second reading would measure
        // CPU over microseconds.
        let mut usage: HashMap<u32, Usage> = self
            .usage_of(roots, max_age)
            .into_iter()
            .map(|u| (u.pid, u))
            .collect();
        // The whole table is walked only where the kernel keeps no lists of children.
        let mut table = None;
        let trees: Vec<(u32, Vec<u32>)> = roots
            .iter()
            .map(|&root| {
                if let Some((at, members)) = self.trees.get(&root)
                    && young(*at)
                {
                    return (root, members.clone());
                }
                let mut members = vec![root];
                let single = usage.get(&root).is_some_and(|u| u.threads == 1);
                match descendants_from_children_lists(root, single) {
                    Some(found) => members.extend(found),
                    None => {
                        let table = table.get_or_insert_with(|| parent_table().unwrap_or_default());
                        members.extend(descendants(table, root));
                    }
                }
                self.trees.insert(root, (now, members.clone()));
                (root, members)
            })
            .collect();
        // Once each, even where trees overlap: a second reading microseconds after the
        // first would measure CPU over microseconds.
        let mut others: Vec<u32> = trees
            .iter()
            .flat_map(|(_, members)| members.iter().copied())
            .filter(|pid| !usage.contains_key(pid))
            .collect();
        others.sort_unstable();
        others.dedup();
        let others = self.usage_of(&others, max_age);
        usage.extend(others.into_iter().map(|u| (u.pid, u)));
        let mut each: HashMap<u32, Metrics> = HashMap::with_capacity(usage.len());
        for (&pid, u) in &usage {
            let handles = match self.handles.get(&pid) {
                Some((at, handles)) if young(*at) => Some(*handles),
                _ => {
                    let read = read_handles(pid);
                    match read {
                        Some(handles) => self.handles.insert(pid, (now, handles)),
                        None => self.handles.remove(&pid),
                    };
                    read
                }
            };
            if let Some(handles) = handles {
                each.insert(pid, Metrics::one(u, &handles));
            }
        }
        // Forget trees and handles nobody asked about for a while, as usage readings are.
        if self.trees.len() > roots.len() + 64 {
            self.trees
                .retain(|_, (at, _)| now.duration_since(*at) < FORGET_AFTER);
        }
        if self.handles.len() > usage.len() + 64 {
            self.handles
                .retain(|_, (at, _)| now.duration_since(*at) < FORGET_AFTER);
        }
        trees
            .into_iter()
            .filter_map(|(root, members)| {
                let main = *each.get(&root)?;
                let tree = Metrics::sum(members.iter().filter_map(|pid| each.get(pid)));
                Some((root, TreeMetrics { main, tree }))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn io_field(pid: u32, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}: ")))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn own_handles_match_proc() {
        let me = std::process::id();
        let dir = tempfile::tempdir().unwrap();
        let before = read_handles(me).unwrap();
        let files: Vec<std::fs::File> = (0..7)
            .map(|i| std::fs::File::create(dir.path().join(format!("f{i}"))).unwrap())
            .collect();
        let mut out = &files[0];
        out.write_all(&[7u8; 100_000]).unwrap();
        let after = read_handles(me).unwrap();
        let listed = std::fs::read_dir(format!("/proc/{me}/fd")).unwrap().count() as u32;
        let fds = after.open_fds.unwrap();
        // Other test threads may open and close files meanwhile.
        assert!(fds.abs_diff(listed) <= 3, "{fds} vs {listed}");
        assert!(
            fds >= before.open_fds.unwrap() + 7 - 3,
            "{before:?} {after:?}"
        );
        let wchar = io_field(me, "wchar");
        assert!(after.io_wchar.unwrap() >= before.io_wchar.unwrap() + 100_000);
        assert!(after.io_wchar.unwrap() <= wchar);
        assert!(after.io_read_bytes.is_some() && after.io_write_bytes.is_some());
        drop(files);
    }

    #[test]
    fn a_missing_process_has_no_handles_and_sums_stay_honest() {
        assert_eq!(read_handles(u32::MAX - 3), None);
        let a = Metrics {
            processes: 1,
            memory_rss: 10,
            open_fds: Some(3),
            io_read_bytes: Some(5),
            threads: 2,
            ..Metrics::default()
        };
        let b = Metrics {
            processes: 1,
            memory_rss: 20,
            open_fds: None,
            io_read_bytes: Some(6),
            threads: 1,
            ..Metrics::default()
        };
        let sum = Metrics::sum([&a, &b]);
        assert_eq!(sum.processes, 2);
        assert_eq!(sum.memory_rss, 30);
        assert_eq!(sum.threads, 3);
        assert_eq!(sum.open_fds, None, "one unreadable member: no total");
        assert_eq!(sum.io_read_bytes, Some(11));
        assert_eq!(sum.io_wchar, None);
    }

    #[test]
    fn young_trees_and_handles_are_served_again() {
        let me = std::process::id();
        let mut sampler = UsageSampler::new();
        let first = sampler.metrics_of(&[me], Duration::ZERO)[&me];
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let cached = sampler.metrics_of(&[me], Duration::from_secs(60))[&me];
        let cached_members = sampler.trees[&me].1.clone();
        sampler.metrics_of(&[me], Duration::ZERO);
        let fresh_members = sampler.trees[&me].1.clone();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            cached, first,
            "younger than max_age: the same tree and handles"
        );
        assert!(!cached_members.contains(&child.id()), "{cached_members:?}");
        assert!(fresh_members.contains(&child.id()), "{fresh_members:?}");
    }

    #[test]
    fn a_tree_sums_its_children() {
        let mut children: Vec<std::process::Child> = (0..2)
            .map(|_| {
                std::process::Command::new("sleep")
                    .arg("30")
                    .spawn()
                    .unwrap()
            })
            .collect();
        let me = std::process::id();
        // Some CPU time of our own to read back (ticks are 10 ms).
        let busy = std::time::Instant::now();
        while busy.elapsed() < Duration::from_millis(30) {
            std::hint::black_box(busy.elapsed());
        }
        let mut sampler = UsageSampler::new();
        let got = sampler.metrics_of(&[me], Duration::ZERO);
        for child in &mut children {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        let m = got[&me];
        assert_eq!(m.main.processes, 1);
        assert!(m.tree.processes >= 3, "{m:?}");
        assert!(m.tree.threads >= m.main.threads + 2);
        assert!(m.tree.memory_rss > m.main.memory_rss, "{m:?}");
        assert!(m.tree.open_fds.unwrap() > m.main.open_fds.unwrap());
        assert!(m.main.cpu_user_ms + m.main.cpu_system_ms > 0);
    }
}
