//! Restart on file change, the actor's side: a watcher task per run whose spec has
//! `watch` patterns ([`crate::engine::file_watch`]), and the restart it asks for.

use tokio::sync::mpsc;

use super::{Actor, Internal};

impl Actor {
    /// A watched file changed: the run is restarted as `procward restart` would (stop,
    /// start again, back-off reset); the daemon's log names the file.
    pub(super) fn on_files_changed(&mut self, name: &str, generation: u64, path: &std::path::Path) {
        let Some(entry) = self.entries.get(name) else {
            return;
        };
        if entry.generation != generation
            || entry.state != procward_core::supervisor::state::State::Running
        {
            return;
        }
        tracing::info!(%name, path = %path.display(), "watched file changed: restarting");
        let (reply, _) = tokio::sync::oneshot::channel();
        self.restart(name, reply);
    }
}

/// The file watcher of a run of `spec`, when it watches files (patterns against the
/// spec's cwd, else the daemon's).
pub(super) fn watch_files(
    name: &str,
    generation: u64,
    spec: &procward_core::supervisor::spec::ProcessSpec,
    events: &mpsc::UnboundedSender<Internal>,
) -> Option<tokio::task::JoinHandle<()>> {
    if spec.watch.is_empty() {
        return None;
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    match spec.watch_plan(&cwd) {
        Ok(plan) => Some(crate::engine::file_watch::spawn_file_watcher(
            name.to_owned(),
            generation,
            plan,
            events.clone(),
        )),
        Err(e) => {
            tracing::warn!(%name, error = %e, "cannot watch files");
            None
        }
    }
}
