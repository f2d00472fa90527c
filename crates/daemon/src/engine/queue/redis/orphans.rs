//! Attempts a previous daemon of this home left running. A Redis job's attempt runs under
//! a shim that outlives the daemon (so its output is still captured), so each running
//! attempt is written down here with its fencing token. A daemon starting on the same
//! home asks Redis whether each job is still this host's (renewing its lease): if so it
//! re-adopts the attempt (watching its shim, as the embedded queue does) instead of
//! running it again; if the lease was taken over meanwhile (the daemon was down longer
//! than the lease) it ends the attempt, identity-checked so a recycled pid is never
//! signalled, since another host runs the job now.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use procward_core::Signal;
use procward_core::signal::group;
use serde::{Deserialize, Serialize};

use super::Shared;
use super::attempt::{self, Running, Shim};
use crate::engine::queue::actor::now_ms;
use crate::engine::queue::limits::unit_name;
use crate::engine::registry::RunRecord;
use crate::home::Home;

/// What is written down of a running attempt.
#[derive(Debug, Serialize, Deserialize)]
struct Note {
    id: u64,
    token: u64,
    number: u32,
    record: RunRecord,
}

fn dir(home: &Home) -> PathBuf {
    home.root().join("redis-runs")
}

fn file(home: &Home, id: u64) -> PathBuf {
    dir(home).join(format!("{id}.json"))
}

/// Writes down attempt `number` of job `id`, claimed with `token`.
pub(super) fn note(home: &Home, id: u64, token: u64, number: u32, record: &RunRecord) {
    let _ = std::fs::create_dir_all(dir(home));
    let note = Note {
        id,
        token,
        number,
        record: record.clone(),
    };
    if let Ok(json) = serde_json::to_vec(&note)
        && let Err(e) = std::fs::write(file(home, id), json)
    {
        tracing::warn!(id, error = %e, "cannot note the job's run");
    }
}

/// The attempt of job `id` ended here.
pub(super) fn forget(home: &Home, id: u64) {
    let _ = std::fs::remove_file(file(home, id));
}

/// Re-adopts or ends every attempt a previous daemon of this home left running (in the
/// background: Redis may not answer yet; it is asked for up to a lease).
pub(super) fn recover(shared: &Arc<Shared>) {
    let Ok(entries) = std::fs::read_dir(dir(&shared.home)) else {
        return;
    };
    let notes: Vec<(PathBuf, Option<Note>)> = entries
        .flatten()
        .map(|e| (e.path(), read(&e.path())))
        .collect();
    if notes.is_empty() {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        for (path, note) in notes {
            match note {
                Some(note) => recover_one(&shared, note).await,
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    });
}

fn read(path: &Path) -> Option<Note> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

async fn recover_one(shared: &Arc<Shared>, note: Note) {
    let id = note.id;
    if note.record.of_other_boot() {
        // The attempt died with the machine; its lease expires and the job is retried.
        return forget(&shared.home, id);
    }
    let ours = still_ours(shared, id, note.token).await;
    let job = match ours {
        true => shared.link.job(id).await.ok(),
        false => None,
    };
    match job {
        Some(job) if note.record.shim().is_alive() || note.record.child_alive() => {
            tracing::info!(id, pid = note.record.child_pid, "job re-adopted");
            let running = Running {
                number: note.number,
                shim: Shim::Adopted(note.record.shim_pid),
                unit: shared.limits.cgroups().open(&unit_name(id)),
                oom_seen: 0,
                record: note.record,
            };
            attempt::readopt(shared.clone(), job, note.token, running);
        }
        _ => {
            end(&note.record);
            forget(&shared.home, id);
        }
    }
}

/// Whether job `id`'s lease is still `token`'s (renewing it); asked for up to a lease
/// while Redis does not answer.
async fn still_ours(shared: &Shared, id: u64, token: u64) -> bool {
    let give_up = Instant::now() + shared.lease;
    loop {
        let answer: Result<Vec<u8>, _> = shared
            .link
            .run(&shared.link.scripts.renew, |s| {
                s.arg(now_ms())
                    .arg(shared.lease.as_millis() as u64)
                    .arg(id)
                    .arg(token);
            })
            .await;
        match answer {
            Ok(codes) => return codes.first().is_some_and(|c| *c < 2),
            Err(_) if Instant::now() < give_up => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            Err(_) => return false,
        }
    }
}

/// SIGKILL to the attempt's process group and its shim, when each is still the process
/// that was recorded.
fn end(record: &RunRecord) {
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
