//! Disk conditions shown with each process: what its logs dropped on a full disk (from its
//! shim's report) and whether its registry entry is still waiting to be saved.

use procward_core::supervisor::shim::{LOG_STATE_FILE, read_log_state};

use super::Actor;

impl Actor {
    /// Reads the shims' log reports (for live runs, and once more after a run ended) and
    /// the registry's unsaved entries, for `list` and `status`.
    pub(super) fn refresh_disk_state(&mut self) {
        for (name, entry) in &mut self.entries {
            entry.registry_error = self.registry.unsaved(name).unwrap_or_default();
            if entry.run.is_none() && !entry.log_state_stale {
                continue;
            }
            entry.log_state_stale = entry.run.is_some();
            let file = self.home.run_dir(name).join(LOG_STATE_FILE);
            if let Some(state) = read_log_state(&file) {
                entry.log_state = state;
            }
        }
    }
}
