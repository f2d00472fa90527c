//! A run's cgroup unit at its end: processes that left its process group (a daemonising
//! child, a `setsid` escapee) are killed with the unit, and an OOM kill by the kernel at
//! `memory_max` becomes a limit breach with the spec's action.

use std::time::Duration;

use procward_core::resources::{BreachAction, format_size};
use procward_core::supervisor::state::Decision;

use super::Actor;

impl Actor {
    /// Kills whatever is still in `name`'s unit once its run is over (its main process
    /// exited, or a stop ended its group), so neither a background child nor a `setsid`
    /// escapee outlives a run, as with systemd's control-group kill mode.
    pub(super) fn sweep_unit(&mut self, name: &str) {
        let Some(unit) = self.entries.get(name).and_then(|e| e.unit.as_ref()) else {
            return;
        };
        let left = unit.pids();
        if !left.is_empty() {
            tracing::info!(%name, pids = ?left, "killing what left the process group");
            if let Err(e) = unit.kill() {
                tracing::warn!(%name, error = %e, "cannot kill the rest of the unit");
            }
        }
        // Made again by the next run: no directory outlives the run it was for.
        if let Err(e) = unit.remove() {
            tracing::warn!(%name, error = %e, "cannot remove its cgroup");
        }
    }

    /// At shutdown: removes the units of processes that are not running (the running
    /// ones keep theirs, to be re-adopted), then the home's namespace once it is empty.
    pub(super) fn release_units(&mut self) {
        for entry in self.entries.values() {
            if entry.run.is_none()
                && let Some(unit) = &entry.unit
            {
                let _ = unit.remove();
            }
        }
        self.limits.cgroups().remove_namespace();
    }

    /// When the kernel OOM-killed in `name`'s unit during the run that just ended, records
    /// the breach and returns the decision its `on_breach` asks for instead of `decision`.
    pub(super) fn oom_breach(&mut self, name: &str, decision: Decision) -> Decision {
        let Some(entry) = self.entries.get_mut(name) else {
            return decision;
        };
        let Some(unit) = &entry.unit else {
            return decision;
        };
        let kills = unit.oom_kills();
        if kills <= entry.oom_kills_seen {
            return decision;
        }
        entry.oom_kills_seen = kills;
        let limits = &entry.spec.limits;
        let max = limits.memory_max.map_or_else(|| "?".into(), format_size);
        let action = limits.on_breach;
        let note = format!("memory_max {max}: the kernel ended the tree, out of memory ({action})");
        tracing::warn!(%name, %note, "limit breached");
        entry.limit_breaches += 1;
        entry.limit_breach = note.clone();
        self.limits.record_breach(name, &note, action, true);
        match (action, decision) {
            (BreachAction::Notify, decision) => decision,
            (BreachAction::Stop, _) => Decision::Stop {
                reason: format!("{} {note}", super::LIMIT_STOP),
            },
            (BreachAction::Restart, Decision::Restart { after }) => Decision::Restart { after },
            // Restarted whatever the restart policy says, after its base delay.
            (BreachAction::Restart, _) => Decision::Restart {
                after: entry.spec.backoff.base.max(Duration::from_millis(100)),
            },
        }
    }
}
