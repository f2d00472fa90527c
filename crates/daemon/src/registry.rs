//! Crash-safe persistence of managed processes: one JSON file per process, replaced
//! atomically (write to a temp file, fsync, rename, fsync the folder). A change to one
//! process rewrites only its own file, so the cost does not grow with the registry.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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

/// The registry folder.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
}

impl Registry {
    /// The registry in `dir` (which must exist).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Writes one record crash-safely.
    pub fn save(&self, record: &Record) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        temp.write_all(&json)?;
        temp.as_file().sync_all()?;
        temp.persist(self.path(&record.spec.name))
            .map_err(|e| e.error)?;
        sync_dir(&self.dir)
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
