//! Disk conditions shown with each process: what its logs dropped on a full disk (from its
//! shim's report) and whether its registry entry is still waiting to be saved.

use std::time::{Duration, Instant};

use procward_core::supervisor::shim::{LOG_STATE_FILE, read_log_state};

use super::Actor;

/// The shims' log reports are read at most this often: one file per live process, so a
/// `list` of a thousand processes in a loop would otherwise read a thousand files each time.
/// A disk-full condition therefore shows within a second.
const LOG_STATE_EVERY: Duration = Duration::from_secs(1);

impl Actor {
    /// Reads the shims' log reports (for live runs at most every [`LOG_STATE_EVERY`], and
    /// at once after a run ended, so the final count is exact) and the registry's unsaved entries, for `list` and
    /// `status`.
    pub(super) fn refresh_disk_state(&mut self) {
        let reread = self
            .log_states_read_at
            .is_none_or(|at| at.elapsed() >= LOG_STATE_EVERY);
        if reread {
            self.log_states_read_at = Some(Instant::now());
        }
        for (name, entry) in &mut self.entries {
            entry.registry_error = self.registry.unsaved(name).unwrap_or_default();
            let final_read = entry.run.is_none() && entry.log_state_stale;
            if !final_read && (entry.run.is_none() || !reread) {
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
