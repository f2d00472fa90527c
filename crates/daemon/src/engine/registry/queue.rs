//! The registry's background writer: group-committed fsyncs, and retries of every write
//! the disk refused (full, over quota, failing) until each change is on disk.
//!
//! Why retry rather than report and move on: a registry file that keeps its old content
//! is not corrupt, but it is wrong, and after a daemon crash a wrong file restarts a
//! stopped process, starts a second copy or forgets a running one. So the latest content
//! of every entry stays queued, in memory, until it is written and fsynced; a newer change
//! to the same entry replaces it (only the latest state matters), and a removal cancels
//! it. All writes of one entry happen under one lock, so a retry never overtakes a newer
//! save.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use procward_core::logs::writer::io_error_text;

/// How long the writer lets changes gather before one fsync round.
const FLUSH_DELAY: Duration = Duration::from_millis(20);
/// The longest wait between two retries of a refused write.
const RETRY_MAX: Duration = Duration::from_secs(1);

/// The writer thread's handle; the thread ends (after a last round) when it is dropped.
#[derive(Debug)]
pub(super) struct Queue {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    state: Mutex<State>,
    /// Signalled when there is work (or the queue is dropped).
    wake: Condvar,
    /// Signalled after every round, for [`Queue::flush`].
    settled: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Entries whose latest change is not known to be on disk yet.
    changes: BTreeMap<String, Change>,
    next_seq: u64,
    stopping: bool,
}

/// The latest change of one entry.
#[derive(Debug)]
struct Change {
    /// Which change this is: a round settles only the change it synced.
    seq: u64,
    /// The entry's JSON; `None` for a removal.
    json: Option<Arc<Vec<u8>>>,
    /// Written (renamed into place, or unlinked): only fsyncs are owed.
    in_place: bool,
    /// Why the last attempt failed; `None` once the write went through.
    error: Option<String>,
    attempts: u32,
}

impl Queue {
    /// Starts the writer thread for the registry in `dir`.
    pub fn start(dir: PathBuf) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            dir,
            state: Mutex::default(),
            wake: Condvar::new(),
            settled: Condvar::new(),
        });
        let thread = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("registry-flush".into())
            .spawn(move || thread.run())?;
        Ok(Self { shared })
    }

    /// Writes `json` as entry `name` now (a temporary file renamed over the old one, so a
    /// crash leaves the old content or the new) and queues its fsync. A write the disk
    /// refuses is queued and retried until it is done.
    pub fn save(&self, name: &str, json: Vec<u8>) {
        let shared = &self.shared;
        let mut state = shared.lock();
        let path = entry_path(&shared.dir, name);
        let result = write_entry(&shared.dir, &path, &json, false);
        if let Err(e) = &result {
            tracing::error!(%name, error = %e, "cannot save the registry entry; retrying until the disk takes it");
        }
        state.push(name, Some(Arc::new(json)), result);
        shared.wake.notify_one();
    }

    /// Removes entry `name` now (cancelling any queued write of it), queueing the folder's
    /// fsync, or the removal itself if it failed.
    pub fn remove(&self, name: &str) {
        let shared = &self.shared;
        let mut state = shared.lock();
        let result = remove_entry(&entry_path(&shared.dir, name));
        if let Err(e) = &result {
            tracing::error!(%name, error = %e, "cannot remove the registry entry; retrying");
        }
        state.push(name, None, result);
        shared.wake.notify_one();
    }

    /// Why entry `name` is not on disk yet, while a write of it keeps failing.
    pub fn unsaved(&self, name: &str) -> Option<String> {
        let state = self.shared.lock();
        state.changes.get(name).and_then(|c| c.error.clone())
    }

    /// Waits up to `timeout` for every queued change to reach the disk; whether it did.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while !state.changes.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = (self.shared.settled.wait_timeout(state, left))
                .map_or_else(|e| e.into_inner().0, |(state, _)| state);
        }
        true
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_one();
    }
}

impl State {
    /// Makes `json` (or a removal) the latest change of `name`, after a first attempt.
    fn push(&mut self, name: &str, json: Option<Arc<Vec<u8>>>, attempt: io::Result<()>) {
        self.next_seq += 1;
        let error = attempt.err().map(|e| io_error_text(&e));
        let change = Change {
            seq: self.next_seq,
            json,
            in_place: error.is_none(),
            error,
            attempts: 1,
        };
        self.changes.insert(name.to_owned(), change);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every step is one insert
        // or field update), so a poisoned lock is still used.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The thread: rounds while there are changes, backing off while the disk refuses.
    fn run(&self) {
        let mut delay = FLUSH_DELAY;
        loop {
            {
                let mut state = self.lock();
                while state.changes.is_empty() && !state.stopping {
                    state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                if state.changes.is_empty() {
                    return;
                }
                if !state.stopping {
                    drop(state);
                    std::thread::sleep(delay);
                }
            }
            let refused = self.round();
            self.settled.notify_all();
            if refused && self.lock().stopping {
                let left = self.lock().changes.len();
                tracing::error!(
                    entries = left,
                    "registry changes not saved: the disk refused them"
                );
                return;
            }
            delay = if refused {
                (delay * 2).min(RETRY_MAX)
            } else {
                FLUSH_DELAY
            };
        }
    }

    /// One round: retries refused writes, fsyncs what is in place and the folder, and
    /// forgets the changes now on disk. Returns whether some write is still refused.
    fn round(&self) -> bool {
        let mut state = self.lock();
        for (name, change) in state.changes.iter_mut().filter(|(_, c)| !c.in_place) {
            change.attempts += 1;
            let path = entry_path(&self.dir, name);
            let result = match &change.json {
                Some(json) => write_entry(&self.dir, &path, json, true),
                None => remove_entry(&path),
            };
            match result {
                Ok(()) => (change.in_place, change.error) = (true, None),
                Err(e) => {
                    if change.attempts.is_power_of_two() {
                        tracing::warn!(%name, error = %e, attempts = change.attempts, "registry entry still not saved; retrying");
                    }
                    change.error = Some(io_error_text(&e));
                }
            }
        }
        let placed: Vec<(String, u64, bool)> = (state.changes.iter())
            .filter(|(_, c)| c.in_place)
            .map(|(name, c)| (name.clone(), c.seq, c.json.is_some()))
            .collect();
        drop(state);

        let mut failed = HashMap::new();
        for (name, _, _) in placed.iter().filter(|(_, _, is_file)| *is_file) {
            let synced = File::open(entry_path(&self.dir, name)).and_then(|f| f.sync_all());
            match synced {
                // Removed since by a newer change, which has its own round.
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    failed.insert(name.clone(), io_error_text(&e));
                }
                _ => {}
            }
        }
        let dir_error = sync_dir(&self.dir).err().map(|e| io_error_text(&e));

        let mut state = self.lock();
        for (name, seq, _) in placed {
            let Some(change) = state.changes.get_mut(&name).filter(|c| c.seq == seq) else {
                continue;
            };
            match failed.remove(&name).or_else(|| dir_error.clone()) {
                // An fsync failure may have lost the data: write it again.
                Some(error) => (change.in_place, change.error) = (false, Some(error)),
                None => {
                    if change.attempts > 1 {
                        tracing::info!(%name, attempts = change.attempts, "registry entry saved after the disk refused it");
                    }
                    state.changes.remove(&name);
                }
            }
        }
        state.changes.values().any(|c| c.error.is_some())
    }
}

/// The file of entry `name`.
pub(super) fn entry_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// Replaces `path` with `json` through a temporary file in `dir` and a rename; with
/// `sync`, the temporary file is fsynced before the rename (the folder's fsync is the
/// caller's).
pub(super) fn write_entry(dir: &Path, path: &Path, json: &[u8], sync: bool) -> io::Result<()> {
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(json)?;
    if sync {
        temp.as_file().sync_all()?;
    }
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Removes `path`; a missing file is fine.
fn remove_entry(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Fsyncs a folder, so renames and removals in it survive a power loss.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
