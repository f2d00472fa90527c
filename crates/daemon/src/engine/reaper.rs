//! The daemon is a child subreaper: orphans of managed processes (a shim killed by hand,
//! a grandchild whose parent exited) are re-parented to it instead of to init, and it
//! reaps them so no zombie piles up.
//!
//! Only processes the daemon did not spawn itself are reaped here: shims and health-check
//! commands are waited for by their owners, which need their exit status.
//!
//! Shims are started here too ([`OwnedChildren::spawn_shim`]): forked by the shim
//! spawner (see `procward_core::supervisor::shim::spawner`), which reaps them itself, or
//! executed as the daemon's own children when the spawner cannot be used.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use procward_core::supervisor::shim::{self, LaunchError, LaunchSpec, ShimProcess, Spawner};
use tokio::signal::unix::{SignalKind, signal};

/// After the shim spawner failed, how long shims are executed directly before a new
/// spawner is tried.
const SPAWNER_RETRY: Duration = Duration::from_secs(10);

/// PIDs whose exit status belongs to someone else (shims, health checks), and the shim
/// spawner.
#[derive(Debug, Clone, Default)]
pub struct OwnedChildren(Arc<Mutex<HashSet<u32>>>, Arc<Mutex<SpawnerSlot>>);

/// The shim spawner, once started; when it last failed.
#[derive(Debug, Default)]
struct SpawnerSlot {
    spawner: Option<Spawner>,
    failed_at: Option<Instant>,
}

impl OwnedChildren {
    /// Spawns a child whose status its owner will collect. The reaper is held off while
    /// `spawn` runs, so a child that exits at once is never reaped from under its owner.
    pub fn spawn<T>(
        &self,
        spawn: impl FnOnce() -> std::io::Result<(T, u32)>,
    ) -> std::io::Result<T> {
        let mut owned = self.0.lock().expect("owned children lock");
        let (child, pid) = spawn()?;
        owned.insert(pid);
        Ok(child)
    }

    /// Starts a process shim for `launch`: forked by the shim spawner (started from `exe`
    /// on first use), else executed (see [`shim::spawn`]) with the reaper held off across
    /// the fork. The error is in the words a user is shown.
    pub fn spawn_shim(
        &self,
        exe: &Path,
        launch: &LaunchSpec,
        launch_file: &Path,
    ) -> Result<ShimProcess, String> {
        match self.spawn_forked(exe, launch, launch_file) {
            Some(Ok(shim)) => return Ok(shim),
            Some(Err(e)) => return Err(e.to_string()),
            None => {}
        }
        self.spawn(|| match shim::spawn(exe, launch, launch_file) {
            Ok(shim) => {
                let pid = shim.id();
                Ok((Ok(shim), pid))
            }
            Err(e) => Ok((Err(e.to_string()), 0)),
        })
        .unwrap_or_else(|e| Err(e.to_string()))
    }

    /// The shim forked by the spawner; `None` when the spawner cannot be used (then it is
    /// dropped, and tried again after [`SPAWNER_RETRY`]).
    fn spawn_forked(
        &self,
        exe: &Path,
        launch: &LaunchSpec,
        launch_file: &Path,
    ) -> Option<Result<ShimProcess, LaunchError>> {
        let mut slot = self.1.lock().expect("shim spawner lock");
        if slot.spawner.is_none() {
            if slot
                .failed_at
                .is_some_and(|at| at.elapsed() < SPAWNER_RETRY)
            {
                return None;
            }
            match Spawner::start(exe) {
                Ok(spawner) => slot.spawner = Some(spawner),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start the shim spawner; executing shims");
                    slot.failed_at = Some(Instant::now());
                    return None;
                }
            }
        }
        let spawner = slot.spawner.as_ref()?;
        match shim::spawn_forked(spawner, launch, launch_file) {
            Err(LaunchError::Shim(e)) => {
                tracing::warn!(error = %e, "the shim spawner failed; executing shims");
                slot.spawner = None;
                slot.failed_at = Some(Instant::now());
                None
            }
            other => Some(other),
        }
    }

    /// The owner has reaped `pid`.
    pub fn remove(&self, pid: u32) {
        self.0.lock().expect("owned children lock").remove(&pid);
    }
}

/// Becomes a subreaper and reaps adopted orphans on every SIGCHLD until the runtime stops.
pub fn start(owned: OwnedChildren) -> std::io::Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))?;
    let mut sigchld = signal(SignalKind::child())?;
    tokio::spawn(async move {
        while sigchld.recv().await.is_some() {
            reap_orphans(&owned);
        }
    });
    Ok(())
}

/// Reaps every zombie child that nobody else waits for. Children hang off the thread
/// that spawned them (or the main thread, for adopted orphans), so every thread is read.
fn reap_orphans(owned: &OwnedChildren) {
    let owned = owned.0.lock().expect("owned children lock");
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for task in tasks.flatten() {
        let Ok(children) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for pid in children
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
        {
            if !owned.contains(&pid) {
                let _ = waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG));
            }
        }
    }
}
