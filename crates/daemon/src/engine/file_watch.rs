//! Restart on file change: one task per run of a process with `watch` patterns. It
//! watches the folders its patterns name (each subfolder with its own non-recursive
//! inotify watch, ignored ones skipped, at most [`MAX_DIRS`]), gathers changes until
//! [`DEBOUNCE`] passes without another, and then tells the actor, which restarts the
//! process as `procward restart` would. The task ends with the run (it is aborted).

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use procward_core::supervisor::spec::watch::WatchPlan;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use crate::engine::actor::Internal;

/// Quiet time after the last change before the restart (an editor's save or a `git
/// checkout` is many events).
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Most folders one process may watch (each costs an inotify watch, of the user's
/// `max_user_watches`).
pub const MAX_DIRS: usize = 4096;

/// Watches `plan` for the run `generation` of `name` until aborted.
pub fn spawn_file_watcher(
    name: String,
    generation: u64,
    plan: WatchPlan,
    events: UnboundedSender<Internal>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (tx, mut changes) = mpsc::unbounded_channel();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                let _ = tx.send(event);
            }
        });
        let mut watcher = match watcher {
            Ok(watcher) => watcher,
            Err(e) => {
                tracing::warn!(%name, error = %e, "cannot watch files");
                return;
            }
        };
        let mut watched = 0;
        for (root, recursive) in plan.roots.clone() {
            watch_tree(&mut watcher, &plan, &root, recursive, &mut watched, &name);
        }
        tracing::info!(%name, folders = watched, "watching files");
        loop {
            let Some(event) = changes.recv().await else {
                return;
            };
            let mut first = relevant(&mut watcher, &plan, &event, &mut watched, &name);
            // Gather until DEBOUNCE passes quietly.
            loop {
                match tokio::time::timeout(DEBOUNCE, changes.recv()).await {
                    Ok(Some(event)) => {
                        let more = relevant(&mut watcher, &plan, &event, &mut watched, &name);
                        first = first.or(more);
                    }
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            if let Some(path) = first {
                let _ = events.send(Internal::Trigger {
                    name: name.clone(),
                    generation,
                    why: format!("watched file {} changed", path.display()),
                });
            }
        }
    })
}

/// The first path of `event` that restarts the process, if any; a new folder under a
/// watched tree gets its own watch.
fn relevant(
    watcher: &mut RecommendedWatcher,
    plan: &WatchPlan,
    event: &notify::Event,
    watched: &mut usize,
    name: &str,
) -> Option<PathBuf> {
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) | EventKind::Other => return None,
        _ => {}
    }
    if matches!(event.kind, EventKind::Create(_)) {
        for path in &event.paths {
            let under = plan
                .roots
                .iter()
                .any(|(root, recursive)| *recursive && path.starts_with(root));
            if under && path.is_dir() {
                watch_tree(watcher, plan, path, true, watched, name);
            }
        }
    }
    event.paths.iter().find(|p| plan.matches(p)).cloned()
}

/// Adds a non-recursive watch on `dir` and, when `recursive`, on each subfolder that is
/// not ignored, up to [`MAX_DIRS`] in all.
fn watch_tree(
    watcher: &mut RecommendedWatcher,
    plan: &WatchPlan,
    dir: &Path,
    recursive: bool,
    watched: &mut usize,
    name: &str,
) {
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        if *watched >= MAX_DIRS {
            tracing::warn!(%name, max = MAX_DIRS, "too many folders to watch; the rest is not");
            return;
        }
        if plan.ignores_dir(&dir) || watcher.watch(&dir, RecursiveMode::NonRecursive).is_err() {
            continue;
        }
        *watched += 1;
        if !recursive {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // Not following symlinks: a link to `/` must not watch the machine.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(entry.path());
            }
        }
    }
}
