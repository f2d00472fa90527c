//! The sessions of the socket.io transport: id → session, who watches it, and whether it
//! outlives its last watcher (`detached`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::engine::reaper::OwnedChildren;
use crate::engine::session::{Session, SessionError, SessionSpec};

/// Finished sessions kept for late joiners; the oldest unwatched go first.
const KEEP_FINISHED: usize = 100;

struct Entry {
    session: Arc<Session>,
    command: String,
    detached: bool,
    watchers: usize,
}

#[derive(Default)]
struct Table {
    entries: HashMap<String, Entry>,
    order: VecDeque<String>,
}

/// Every live and recently finished session; cheap to clone.
#[derive(Clone)]
pub struct SessionTable {
    table: Arc<Mutex<Table>>,
    owned: OwnedChildren,
}

impl std::fmt::Debug for SessionTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionTable")
    }
}

fn new_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SessionTable {
    /// An empty table whose processes are registered with the daemon's reaper.
    pub fn new(owned: OwnedChildren) -> Self {
        Self {
            table: Arc::default(),
            owned,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a session; it has no watcher yet (see [`SessionTable::watch`]).
    pub fn create(
        &self,
        spec: SessionSpec,
        detached: bool,
    ) -> Result<(String, Arc<Session>), SessionError> {
        let mut command = spec.command.clone();
        for arg in &spec.args {
            command.push(' ');
            command.push_str(arg);
        }
        let session = Session::spawn(spec, &self.owned)?;
        let id = new_id();
        let mut table = self.lock();
        table.entries.insert(
            id.clone(),
            Entry {
                session: session.clone(),
                command,
                detached,
                watchers: 0,
            },
        );
        table.order.push_back(id.clone());
        forget_old(&mut table);
        Ok((id, session))
    }

    /// The session, if it exists.
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.lock().entries.get(id).map(|e| e.session.clone())
    }

    /// Counts one more watcher of `id`.
    pub fn watch(&self, id: &str) -> Option<Arc<Session>> {
        let mut table = self.lock();
        let entry = table.entries.get_mut(id)?;
        entry.watchers += 1;
        Some(entry.session.clone())
    }

    /// Counts one watcher less; the last one leaving ends a session that is not detached.
    pub fn unwatch(&self, id: &str) {
        let mut table = self.lock();
        if let Some(entry) = table.entries.get_mut(id) {
            entry.watchers = entry.watchers.saturating_sub(1);
            if entry.watchers == 0 && !entry.detached {
                entry.session.terminate();
            }
        }
    }

    /// Every session, oldest first.
    pub fn list(&self) -> Vec<Value> {
        let table = self.lock();
        table
            .order
            .iter()
            .filter_map(|id| table.entries.get(id).map(|e| (id, e)))
            .map(|(id, e)| {
                json!({
                    "sessionId": id, "command": e.command, "pid": e.session.pid,
                    "interactive": e.session.interactive, "status": e.session.status().state,
                    "watchers": e.watchers, "detached": e.detached,
                })
            })
            .collect()
    }
}

/// Drops the oldest finished, unwatched sessions beyond [`KEEP_FINISHED`].
fn forget_old(table: &mut Table) {
    let finished = |e: &Entry| e.watchers == 0 && e.session.status().state != "running";
    let mut excess = table
        .entries
        .values()
        .filter(|e| finished(e))
        .count()
        .saturating_sub(KEEP_FINISHED);
    let Table { entries, order } = table;
    order.retain(|id| {
        if excess > 0 && entries.get(id).is_some_and(finished) {
            entries.remove(id);
            excess -= 1;
            false
        } else {
            true
        }
    });
}
