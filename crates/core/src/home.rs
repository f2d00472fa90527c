//! Where a daemon keeps its state: one folder per `PROCWARD_HOME`, private to its user.
//! Here in core, not in the daemon, because every client finds the daemon through it (the
//! CLI, the desktop app): one answer to "where is the socket?".
//!
//! ```text
//! $PROCWARD_HOME/            0700
//!   daemon.lock              flock held by the running daemon (holds its pid)
//!   procward.sock            gRPC Unix socket, 0600
//!   token                    bearer token for TCP clients, 0600
//!   tcp.json                 the TCP listener's address, while one is open
//!   daemon.log[.1..]         the daemon's own size-rotated log
//!   audit.log[.1..]          one JSON line per destructive action, size-rotated
//!   registry/NAME.json       one file per managed process, written atomically
//!   logs/NAME/stdout.log     captured output, size-rotated (stdout.log.1, ...)
//!   run/NAME/                shim launch spec and exit status of the current run
//! ```

use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The paths of one daemon's state folder.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `$PROCWARD_HOME`, else `$XDG_STATE_HOME/procward`, else `~/.local/state/procward`.
    pub fn from_env() -> io::Result<Self> {
        if let Some(home) = std::env::var_os("PROCWARD_HOME").filter(|h| !h.is_empty()) {
            return Ok(Self::at(PathBuf::from(home)));
        }
        let state = std::env::var_os("XDG_STATE_HOME")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .ok_or_else(|| io::Error::other("neither PROCWARD_HOME nor HOME is set"))?;
        Ok(Self::at(state.join("procward")))
    }

    /// A home at an explicit folder (tests, `--home`).
    pub fn at(root: PathBuf) -> Self {
        let root = std::path::absolute(&root).unwrap_or(root);
        Self { root }
    }

    /// Creates the folder tree with private permissions (and tightens an existing root).
    pub fn create(&self) -> io::Result<()> {
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        for dir in [
            self.root.clone(),
            self.registry_dir(),
            self.logs_root(),
            self.run_root(),
        ] {
            builder.create(&dir)?;
        }
        fs::set_permissions(&self.root, Permissions::from_mode(0o700))
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The gRPC socket.
    pub fn socket(&self) -> PathBuf {
        self.root.join("procward.sock")
    }

    /// The bearer token TCP clients present.
    pub fn token_file(&self) -> PathBuf {
        self.root.join("token")
    }

    /// `{"address": "127.0.0.1:PORT", "tls": false}` while a TCP listener is open.
    pub fn tcp_info(&self) -> PathBuf {
        self.root.join("tcp.json")
    }

    /// The lock file that makes one daemon per home.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("daemon.lock")
    }

    /// The daemon's own log.
    pub fn daemon_log(&self) -> PathBuf {
        self.root.join("daemon.log")
    }

    /// One JSON file per managed process.
    pub fn registry_dir(&self) -> PathBuf {
        self.root.join("registry")
    }

    fn logs_root(&self) -> PathBuf {
        self.root.join("logs")
    }

    fn run_root(&self) -> PathBuf {
        self.root.join("run")
    }

    /// Captured stdout of a managed process.
    pub fn stdout_log(&self, name: &str) -> PathBuf {
        self.logs_root().join(name).join("stdout.log")
    }

    /// Captured stderr of a managed process.
    pub fn stderr_log(&self, name: &str) -> PathBuf {
        self.logs_root().join(name).join("stderr.log")
    }

    /// The job queue's store.
    pub fn queue_db(&self) -> PathBuf {
        self.root.join("queue.db")
    }

    /// The directory name this home's cgroup units live under (`procward-<hash>`): one per
    /// home, so two daemons on one machine never share units, and the same across
    /// restarts of one daemon, so re-adopted processes find theirs.
    pub fn cgroup_namespace(&self) -> String {
        // FNV-1a of the home's path: stable across builds, unlike std's hasher.
        let mut hash: u32 = 0x811c_9dc5;
        for byte in self.root.as_os_str().as_encoded_bytes() {
            hash = (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193);
        }
        format!("procward-{hash:08x}")
    }

    /// Where every job's folder is.
    pub fn jobs_dir(&self) -> PathBuf {
        self.root.join("jobs")
    }

    /// Every file of one job (its attempts' logs and exit records).
    pub fn job_dir(&self, id: u64) -> PathBuf {
        self.jobs_dir().join(id.to_string())
    }

    /// One attempt's launch file, logs (`stdout.log`, `stderr.log`) and exit record.
    pub fn attempt_dir(&self, id: u64, attempt: u32) -> PathBuf {
        self.job_dir(id).join(attempt.to_string())
    }

    /// Per-run files (launch spec, exit status) of a managed process.
    pub fn run_dir(&self, name: &str) -> PathBuf {
        self.run_root().join(name)
    }
}
