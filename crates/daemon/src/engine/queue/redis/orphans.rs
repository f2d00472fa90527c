//! Attempts a previous daemon of this home left running. A Redis job's attempt runs under
//! a shim that outlives the daemon (so its output is still captured), but once the
//! daemon is gone nobody renews its lease: another host takes the job over and runs it
//! again. So each running attempt is written down here, and a daemon starting on the
//! same home ends what its predecessor left (identity-checked, so a recycled pid is
//! never signalled) instead of letting two copies of one job run on.

use std::path::{Path, PathBuf};

use procward_core::Signal;
use procward_core::signal::group;

use crate::engine::registry::RunRecord;
use crate::home::Home;

fn dir(home: &Home) -> PathBuf {
    home.root().join("redis-runs")
}

fn file(home: &Home, id: u64) -> PathBuf {
    dir(home).join(format!("{id}.json"))
}

/// Writes down job `id`'s running attempt.
pub(super) fn note(home: &Home, id: u64, record: &RunRecord) {
    let _ = std::fs::create_dir_all(dir(home));
    if let Ok(json) = serde_json::to_vec(record)
        && let Err(e) = std::fs::write(file(home, id), json)
    {
        tracing::warn!(id, error = %e, "cannot note the job's run");
    }
}

/// The attempt of job `id` ended here.
pub(super) fn forget(home: &Home, id: u64) {
    let _ = std::fs::remove_file(file(home, id));
}

/// Ends every attempt a previous daemon of `home` left running: SIGKILL to its process
/// group and its shim, when each is still the process that was recorded.
pub(super) fn end_left_over(home: &Home) {
    let Ok(entries) = std::fs::read_dir(dir(home)) else {
        return;
    };
    for entry in entries.flatten() {
        end_one(&entry.path());
        let _ = std::fs::remove_file(entry.path());
    }
}

fn end_one(path: &Path) {
    let Some(record) = std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<RunRecord>(&bytes).ok())
    else {
        return;
    };
    if record.of_other_boot() {
        return;
    }
    let child = record.child();
    if child.is_alive() {
        tracing::warn!(
            pid = child.pid,
            "ending a job attempt a previous daemon left running"
        );
        group::signal(child, Signal::KILL);
    }
    let shim = record.shim();
    if shim.is_alive() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(shim.pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
