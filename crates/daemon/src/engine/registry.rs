//! Crash-safe persistence of managed processes: one JSON file per process, replaced
//! atomically (write a temp file, rename it over the old one). A change to one process
//! rewrites only its own file, so the cost does not grow with the registry.
//!
//! The rename makes every change survive a daemon crash (`kill -9`) at once. Durability
//! against power loss comes from a writer thread that fsyncs the changed files and the
//! folder shortly after (group commit): one start no longer pays two synchronous disk
//! flushes, and a burst of changes shares one folder fsync. A write the disk refuses
//! (full) leaves the old file whole; the thread retries the latest content with back-off
//! until it is on disk, and [`Registry::unsaved`] says which entries wait (see `queue`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use procward_core::supervisor::shim::{ExitRecord, Launched};
use procward_core::supervisor::spec::ProcessSpec;
use procward_core::supervisor::state::RestartTracker;
use procward_core::sys::process::{Instance, identify, start_of};
use serde::{Deserialize, Serialize};

mod queue;
use queue::{Queue, entry_path, sync_dir, write_entry};

/// The run of a process that may outlive the daemon: enough to find it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The managed process (leader of its own process group).
    pub child_pid: u32,
    /// Its kernel start time, so a recycled PID is not mistaken for it.
    pub child_start_time: u64,
    /// The shim that holds its pipes and records its exit.
    pub shim_pid: u32,
    /// The shim's kernel start time.
    pub shim_start_time: u64,
    /// The managed process's start time in clock ticks since boot (`USER_HZ`, 1/100 s):
    /// its exact identity. `None` in records written before ticks were kept.
    #[serde(default)]
    pub child_start_ticks: Option<u64>,
    /// The shim's start time in clock ticks since boot, when known.
    #[serde(default)]
    pub shim_start_ticks: Option<u64>,
    /// Unix milliseconds when this run started.
    pub started_at_ms: u64,
    /// The boot this run started in ([`procward_core::sys::boot_id`]). A run of an
    /// earlier boot is gone, whatever now holds its PIDs (see [`RunRecord::of_other_boot`]).
    /// `None` in records written before boots were told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// The cgroup unit the run is in, when its name does not follow from the run's owner:
    /// a job attempt in a kept unit (`run@N`, see `procward_core::cgroup::Spares`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl RunRecord {
    /// The run a shim has just reported started, at `started_at_ms`. Identities are
    /// exact: the child's start ticks as its shim read them before it could reap it (else
    /// read here only while it is still the shim's child, so a recycled pid cannot pass),
    /// and the shim's as the spawner read them (else read here: a shim that is this
    /// daemon's child keeps its pid until reaped).
    pub fn of_launched(launched: &Launched, started_at_ms: u64) -> Self {
        let shim_pid = launched.shim.id();
        let child_start_ticks = launched.child_start_ticks.or_else(|| {
            identify(launched.child_pid)
                .ok()
                .filter(|child| child.ppid == shim_pid)
                .map(|child| child.start_ticks)
        });
        let shim_start = launched.shim.identity().or_else(|| start_of(shim_pid));
        Self {
            child_pid: launched.child_pid,
            child_start_time: launched.child_start_time,
            shim_pid,
            shim_start_time: shim_start.map_or(0, |(time, _)| time),
            child_start_ticks,
            shim_start_ticks: shim_start.map(|(_, ticks)| ticks),
            started_at_ms,
            boot_id: procward_core::sys::boot_id().map(str::to_owned),
            unit: None,
        }
    }

    /// Whether this run started in another boot of the machine (the machine rebooted
    /// since): then neither its process nor its shim can be alive, and its PID, even as a
    /// process group id, may belong to anything this boot started (early boot hands out
    /// the same low PIDs every time), so nothing may be signalled on its behalf. Unknown
    /// (an old record, no `/proc` boot id) counts as this boot: the PID plus start-time
    /// checks then apply as before.
    pub fn of_other_boot(&self) -> bool {
        match (&self.boot_id, procward_core::sys::boot_id()) {
            (Some(recorded), Some(current)) => recorded != current,
            _ => false,
        }
    }

    /// Whether `child_pid` still belongs to this run's process (by clock ticks when they
    /// were recorded, else by the coarser seconds).
    pub fn child_alive(&self) -> bool {
        self.child().is_alive()
    }

    /// Whether `shim_pid` still belongs to this run's shim.
    pub fn shim_alive(&self) -> bool {
        self.shim().is_alive()
    }

    /// The managed process (its group's leader) as recorded.
    pub fn child(&self) -> Instance {
        Instance {
            pid: self.child_pid,
            start_time: self.child_start_time,
            start_ticks: self.child_start_ticks,
        }
    }

    /// The shim as recorded.
    pub fn shim(&self) -> Instance {
        Instance {
            pid: self.shim_pid,
            start_time: self.shim_start_time,
            start_ticks: self.shim_start_ticks,
        }
    }
}

/// Everything the daemon must remember about one managed process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// What to run.
    pub spec: ProcessSpec,
    /// Whether it should be running (false after stop).
    pub desired: bool,
    /// Restart counters.
    pub tracker: RestartTracker,
    /// The current run, if one was started.
    pub run: Option<RunRecord>,
    /// How the previous run ended.
    pub last_exit: Option<ExitRecord>,
    /// Why it is failed or stopped.
    pub reason: String,
    /// Whether it gave up (failed) rather than stopped.
    #[serde(default)]
    pub failed: bool,
    /// While a stop asked for is under way: when (Unix ms) it escalates to SIGKILL. Saved
    /// with `desired = false` before the stop signal goes out, so a daemon killed mid-stop
    /// is replaced by one that finishes the stop on time instead of adopting the process.
    #[serde(default)]
    pub stop_deadline_ms: Option<u64>,
    /// While a reload is under way: the run it replaces, still serving. A daemon that
    /// comes back to find one stops it (the reload was cut short; `run` is the new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring: Option<RunRecord>,
}

/// The registry folder.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
    /// The background writer; `None` for a [`Registry::synchronous`] registry.
    queue: Option<Arc<Queue>>,
}

impl Registry {
    /// The registry in `dir` (which must exist), with a background writer thread that
    /// fsyncs changes in groups and retries those the disk refused.
    pub fn new(dir: PathBuf) -> Self {
        let queue = match Queue::start(dir.clone()) {
            Ok(queue) => Some(Arc::new(queue)),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the registry writer; saving synchronously");
                None
            }
        };
        Self { dir, queue }
    }

    /// A registry that fsyncs every change before returning (no background thread, no
    /// retries: a failure is the caller's).
    pub fn synchronous(dir: PathBuf) -> Self {
        Self { dir, queue: None }
    }

    /// Writes one record atomically (a temporary file renamed over the old one). With the
    /// background writer it is visible at once and on disk within a few milliseconds
    /// plus an fsync; a write the disk refuses (full) is retried until it succeeds (see
    /// [`Registry::unsaved`]), so this fails only if the record cannot be serialised. A
    /// [`Registry::synchronous`] registry fsyncs the file and the folder before returning.
    pub fn save(&self, record: &Record) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        let name = &record.spec.name;
        match &self.queue {
            Some(queue) => queue.save(name, json),
            None => {
                write_entry(&self.dir, &entry_path(&self.dir, name), &json, true)?;
                sync_dir(&self.dir)?;
            }
        }
        Ok(())
    }

    /// Forgets one process (also cancelling a queued write of it, which must not bring it
    /// back).
    pub fn remove(&self, name: &str) -> io::Result<()> {
        match &self.queue {
            Some(queue) => queue.remove(name),
            None => {
                match fs::remove_file(entry_path(&self.dir, name)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                sync_dir(&self.dir)?;
            }
        }
        Ok(())
    }

    /// Why the entry of `name` is not on disk yet (`no space left on device`), while its
    /// write keeps being refused; `None` once saved.
    pub fn unsaved(&self, name: &str) -> Option<String> {
        self.queue.as_ref().and_then(|q| q.unsaved(name))
    }

    /// Waits up to `timeout` for every change to reach the disk (at shutdown); whether
    /// everything did.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.queue.as_ref().is_none_or(|q| q.flush(timeout))
    }

    /// Every stored record; unreadable files are skipped with a warning (one corrupt file
    /// must not take every other process down).
    pub fn load(&self) -> io::Result<Vec<Record>> {
        let mut records = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match read_record(&path) {
                Ok(record) => records.push(record),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping unreadable registry entry")
                }
            }
        }
        records.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        Ok(records)
    }
}

fn read_record(path: &Path) -> io::Result<Record> {
    let bytes = fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> Record {
        Record {
            retiring: None,
            spec: ProcessSpec::new(name, vec!["sleep".into(), "1".into()]),
            desired: true,
            tracker: RestartTracker::default(),
            run: Some(RunRecord {
                child_pid: 42,
                child_start_time: 1_700_000_000,
                shim_pid: 41,
                shim_start_time: 1_700_000_000,
                child_start_ticks: Some(4_200),
                shim_start_ticks: Some(4_100),
                started_at_ms: 1_700_000_000_000,
                boot_id: Some("b0b0".into()),
                unit: None,
            }),
            last_exit: None,
            reason: String::new(),
            failed: false,
            stop_deadline_ms: None,
        }
    }

    #[test]
    fn background_flushed_saves_are_readable_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(dir.path().to_path_buf());
        for name in ["x", "y", "z"] {
            registry.save(&record(name)).unwrap();
        }
        assert_eq!(registry.load().unwrap().len(), 3);
    }

    #[test]
    fn refused_writes_are_retried_until_saved_and_a_removal_cancels_them() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("registry");
        std::fs::create_dir(&dir).unwrap();
        let registry = Registry::new(dir.clone());
        registry.save(&record("old")).unwrap();
        assert!(registry.flush(Duration::from_secs(5)));
        // A folder that is gone refuses every write, as a full disk does.
        std::fs::remove_dir_all(&dir).unwrap();
        registry.save(&record("kept")).unwrap();
        registry.save(&record("dropped")).unwrap();
        registry.remove("dropped").unwrap();
        assert!(!registry.flush(Duration::from_millis(100)));
        assert_eq!(
            registry.unsaved("kept").as_deref(),
            Some("no such file or directory")
        );
        std::fs::create_dir(&dir).unwrap();
        assert!(registry.flush(Duration::from_secs(10)), "never saved");
        assert_eq!(registry.unsaved("kept"), None);
        let names: Vec<String> = (registry.load().unwrap().into_iter())
            .map(|r| r.spec.name)
            .collect();
        assert_eq!(names, ["kept"], "a removed entry came back");
    }

    #[test]
    fn records_round_trip_and_corrupt_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::synchronous(dir.path().to_path_buf());
        registry.save(&record("b")).unwrap();
        registry.save(&record("a")).unwrap();
        std::fs::write(dir.path().join("broken.json"), b"{ not json").unwrap();
        let loaded = registry.load().unwrap();
        assert_eq!(
            loaded
                .iter()
                .map(|r| r.spec.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(loaded[0], record("a"));
        registry.remove("a").unwrap();
        registry.remove("a").unwrap(); // removing twice is fine
        assert_eq!(registry.load().unwrap().len(), 1);
        // No temp files are left behind by the atomic writes.
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 2, "b.json and broken.json only");
    }
}
