//! What a shim's log writes lost, told to the daemon through a small file in the run's
//! folder (the shim never talks to the daemon after its first line).
//!
//! The file must be writable exactly when the disk is full, so the shim writes it once at
//! start at its final size ([`SIZE`] bytes, the JSON padded with spaces) and afterwards
//! only overwrites those bytes in place: an overwrite needs no new block. A reader that
//! catches a write halfway gets invalid JSON and keeps what it knew.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::logs::writer::RotatingWriter;

/// The file, in a run's folder beside the status file, holding the shim's [`LogState`].
pub const LOG_STATE_FILE: &str = "log_state.json";

/// The file's fixed size.
const SIZE: usize = 256;
/// The longest error text kept (the JSON must fit in [`SIZE`]).
const MAX_ERROR: usize = 120;

/// What log writes lost, as the shim records it for the daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogState {
    /// Bytes of output dropped because the logs could not be written (disk full), over
    /// every run of the process since its run folder was created.
    pub dropped_bytes: u64,
    /// Why log writes are failing right now (`no space left on device`); empty once they
    /// work again and the marker line is written.
    #[serde(default)]
    pub error: String,
}

/// The state a shim left in `file`; `None` if there is none (or it is being rewritten).
pub fn read_log_state(file: &Path) -> Option<LogState> {
    serde_json::from_slice(&fs::read(file).ok()?).ok()
}

/// The shim's side: the open file and what it last said.
pub(super) struct LogStateFile {
    file: Option<File>,
    /// Dropped by earlier runs (read from the file at start).
    earlier: u64,
    last: LogState,
}

impl LogStateFile {
    /// Opens (or creates) `path`, keeps the earlier runs' count and writes the file whole.
    /// Without the file (a disk already full at start) the shim runs on, unreported.
    pub fn open(path: &Path) -> Self {
        let earlier = read_log_state(path).map_or(0, |s| s.dropped_bytes);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o640)
            .open(path)
            .ok();
        let mut state = Self {
            file,
            earlier,
            last: LogState::default(),
        };
        let first = LogState {
            dropped_bytes: earlier,
            error: String::new(),
        };
        if state.store(&first).is_err() {
            state.file = None;
        }
        state.last = first;
        state
    }

    /// No file: losses are not reported (for a caller that never reads them).
    pub fn none() -> Self {
        Self {
            file: None,
            earlier: 0,
            last: LogState::default(),
        }
    }

    /// Records the logs' losses if they changed since the last call.
    pub fn update(&mut self, logs: [Option<&RotatingWriter>; 2]) {
        let logs = logs.into_iter().flatten();
        let error = logs.clone().find_map(|log| log.failing()).unwrap_or("");
        let now = LogState {
            dropped_bytes: self.earlier + logs.map(|l| l.dropped_bytes()).sum::<u64>(),
            error: error.chars().take(MAX_ERROR).collect(),
        };
        if now != self.last {
            // A failure leaves the old state; the next change tries again.
            if self.store(&now).is_ok() {
                self.last = now;
            }
        }
    }

    fn store(&self, state: &LogState) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut bytes = serde_json::to_vec(state)?;
        if bytes.len() >= SIZE {
            let short = LogState {
                dropped_bytes: state.dropped_bytes,
                error: "write error".into(),
            };
            bytes = serde_json::to_vec(&short)?;
        }
        bytes.resize(SIZE - 1, b' ');
        bytes.push(b'\n');
        file.write_all_at(&bytes, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_keeps_its_size_and_earlier_runs_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_STATE_FILE);
        let earlier = LogState {
            dropped_bytes: 5,
            error: "no space left on device".into(),
        };
        fs::write(&path, serde_json::to_vec(&earlier).unwrap()).unwrap();
        let mut state = LogStateFile::open(&path);
        // A new run starts with the count of the earlier ones and no current error.
        let fresh = LogState {
            dropped_bytes: 5,
            error: String::new(),
        };
        assert_eq!(read_log_state(&path), Some(fresh.clone()));
        assert_eq!(fs::metadata(&path).unwrap().len(), SIZE as u64);
        let out = RotatingWriter::open(&dir.path().join("out.log"), 1 << 20, 2).unwrap();
        let err = RotatingWriter::open(&dir.path().join("err.log"), 1 << 20, 2).unwrap();
        state.update([Some(&out), Some(&err)]);
        assert_eq!(read_log_state(&path), Some(fresh));
        assert_eq!(fs::metadata(&path).unwrap().len(), SIZE as u64);
    }
}
