//! One daemon per home: an exclusive `flock` on `daemon.lock`, held for the daemon's life.
//! The kernel drops the lock when the daemon dies, even by `kill -9`, so a stale lock file
//! never blocks a restart.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::{FlockOperation, flock};

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another daemon holds it.
    #[error("a procward daemon is already running for this home (pid {pid})")]
    Held {
        /// The holder's pid as written in the lock file (0 when unreadable).
        pid: u32,
    },
    /// The lock file could not be opened or written.
    #[error("cannot use lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// The failure.
        #[source]
        source: io::Error,
    },
}

impl DaemonLock {
    /// Takes the lock without waiting and records this process's pid in the file.
    pub fn acquire(path: &Path) -> Result<Self, LockError> {
        let io_err = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io_err)?;
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            return Err(LockError::Held {
                pid: holder_pid(&mut file),
            });
        }
        file.set_len(0).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        writeln!(file, "{}", std::process::id()).map_err(io_err)?;
        Ok(Self { _file: file })
    }

    /// The pid of the daemon holding the lock at `path`, if one does.
    pub fn holder(path: &Path) -> Option<u32> {
        let mut file = File::open(path).ok()?;
        match flock(&file, FlockOperation::NonBlockingLockShared) {
            Ok(()) => None,
            Err(_) => Some(holder_pid(&mut file)),
        }
    }
}

fn holder_pid(file: &mut File) -> u32 {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    text.trim().parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.lock");
        let first = DaemonLock::acquire(&path).unwrap();
        let err = DaemonLock::acquire(&path).unwrap_err();
        assert!(
            matches!(err, LockError::Held { pid } if pid == std::process::id()),
            "{err}"
        );
        assert_eq!(DaemonLock::holder(&path), Some(std::process::id()));
        drop(first);
        // A child forked by a concurrent test may briefly share the lock's open file
        // description until it execs, so the release is awaited rather than assumed.
        let released = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(5));
            DaemonLock::holder(&path).is_none()
        });
        assert!(released, "the lock outlived its holder");
        DaemonLock::acquire(&path).unwrap();
    }
}
