//! Restarts a process asks for in its spec, the actor's side: per run, a file watcher
//! (`watch`, see [`crate::engine::file_watch`]) and a cron timer (`cron_restart`), each
//! a task that ends with the run; when one fires, the run is restarted as `procward
//! restart` would.

use std::time::{Duration, SystemTime};

use procward_core::queue::When;
use procward_core::supervisor::spec::ProcessSpec;
use procward_core::supervisor::state::State;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::entry::unix_ms;
use super::{Actor, Internal};

impl Actor {
    /// A trigger fired for run `generation`: restart it (stop signal to the group, start
    /// again, back-off reset) if it is still that run and running; `why` goes to the
    /// daemon's log.
    pub(super) fn on_trigger(&mut self, name: &str, generation: u64, why: &str) {
        let Some(entry) = self.entries.get(name) else {
            return;
        };
        if entry.generation != generation || entry.state != State::Running {
            return;
        }
        tracing::info!(%name, %why, "restarting");
        let (reply, _) = tokio::sync::oneshot::channel();
        self.restart(name, reply);
    }
}

/// The trigger tasks of a run of `spec` (none when it has no `watch` or `cron_restart`).
pub(super) fn spawn_triggers(
    name: &str,
    generation: u64,
    spec: &ProcessSpec,
    events: &mpsc::UnboundedSender<Internal>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if !spec.watch.is_empty() {
        // Patterns against the spec's cwd, else the daemon's.
        let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
        match spec.watch_plan(&cwd) {
            Ok(plan) => tasks.push(crate::engine::file_watch::spawn_file_watcher(
                name.to_owned(),
                generation,
                plan,
                events.clone(),
            )),
            Err(e) => tracing::warn!(%name, error = %e, "cannot watch files"),
        }
    }
    if let Some(expression) = &spec.cron_restart {
        tasks.push(spawn_cron(
            name.to_owned(),
            generation,
            When::Cron(expression.clone()),
            events.clone(),
        ));
    }
    tasks
}

/// Sleeps until the cron expression's next fire, then asks for the restart (once: the
/// restarted run gets a timer of its own).
fn spawn_cron(
    name: String,
    generation: u64,
    when: When,
    events: mpsc::UnboundedSender<Internal>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let now = unix_ms(SystemTime::now());
        let Some(next) = when.next_after(now) else {
            return;
        };
        tokio::time::sleep(Duration::from_millis(next.saturating_sub(now))).await;
        let _ = events.send(Internal::Trigger {
            name,
            generation,
            why: "cron_restart fired".into(),
        });
    })
}
