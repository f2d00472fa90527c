//! Crash-safe persistence of managed processes: one JSON file per process, replaced
//! atomically (write a temp file, rename it over the old one). A change to one process
//! rewrites only its own file, so the cost does not grow with the registry.
//!
//! The rename makes every change survive a daemon crash (`kill -9`) at once. Durability
//! against power loss comes from a flusher thread that fsyncs the changed files and the
//! folder shortly after (group commit): one start no longer pays two synchronous disk
//! flushes, and a burst of changes shares one folder fsync.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use procward_core::supervisor::shim::ExitRecord;
use procward_core::supervisor::spec::ProcessSpec;
use procward_core::supervisor::state::RestartTracker;
use serde::{Deserialize, Serialize};

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
    /// Unix milliseconds when this run started.
    pub started_at_ms: u64,
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
}

/// How long the flusher lets changes gather before one fsync round.
const FLUSH_DELAY: Duration = Duration::from_millis(20);

/// The registry folder.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
    flusher: Option<Sender<PathBuf>>,
}

impl Registry {
    /// The registry in `dir` (which must exist), with a background flusher thread.
    pub fn new(dir: PathBuf) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<PathBuf>();
        let flush_dir = dir.clone();
        let started = std::thread::Builder::new()
            .name("registry-flush".into())
            .spawn(move || flush_loop(&flush_dir, &rx))
            .is_ok();
        Self {
            dir,
            flusher: started.then_some(tx),
        }
    }

    /// A registry that fsyncs every change before returning (no background thread).
    pub fn synchronous(dir: PathBuf) -> Self {
        Self { dir, flusher: None }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Writes one record atomically; it reaches the disk within [`FLUSH_DELAY`] plus an
    /// fsync (at once for a [`Registry::synchronous`] registry).
    pub fn save(&self, record: &Record) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        temp.write_all(&json)?;
        let path = self.path(&record.spec.name);
        match &self.flusher {
            Some(flusher) => {
                temp.persist(&path).map_err(|e| e.error)?;
                // The flusher is gone only if its thread died: then flush here.
                if flusher.send(path.clone()).is_err() {
                    File::open(&path)?.sync_all()?;
                    sync_dir(&self.dir)?;
                }
            }
            None => {
                temp.as_file().sync_all()?;
                temp.persist(&path).map_err(|e| e.error)?;
                sync_dir(&self.dir)?;
            }
        }
        Ok(())
    }

    /// Forgets one process.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.path(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        sync_dir(&self.dir)
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

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Fsyncs changed files, then their folder, in rounds until the registry is dropped.
fn flush_loop(dir: &Path, changes: &Receiver<PathBuf>) {
    while let Ok(first) = changes.recv() {
        std::thread::sleep(FLUSH_DELAY);
        let mut batch: HashSet<PathBuf> = changes.try_iter().collect();
        batch.insert(first);
        for path in &batch {
            if let Ok(file) = File::open(path) {
                let _ = file.sync_all();
            }
        }
        if let Err(e) = sync_dir(dir) {
            tracing::warn!(error = %e, "cannot fsync the registry folder");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> Record {
        Record {
            spec: ProcessSpec::new(name, vec!["sleep".into(), "1".into()]),
            desired: true,
            tracker: RestartTracker::default(),
            run: Some(RunRecord {
                child_pid: 42,
                child_start_time: 1_700_000_000,
                shim_pid: 41,
                shim_start_time: 1_700_000_000,
                started_at_ms: 1_700_000_000_000,
            }),
            last_exit: None,
            reason: String::new(),
            failed: false,
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
