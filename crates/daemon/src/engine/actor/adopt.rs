//! Bringing processes back after a daemon restart, and watching runs end.
//!
//! A run is found again by PID plus kernel start time in clock ticks (so a recycled PID is
//! never taken for it). Its shim is usually still alive, holding the pipes and waiting to record the
//! exit status; the daemon watches the shim's pidfd, or the process's own when the shim is
//! gone. A run that ended while the daemon was away is treated as an exit now, so its
//! restart policy still applies. A run whose shim is gone while its process lives is a
//! lost shim: its group is ended before the policy applies (see `exit.rs`). A run whose
//! record says `desired = false` was being stopped when the daemon died: the stop is
//! finished, SIGKILL coming at the deadline the previous daemon saved.
//!
//! A run recorded in an earlier boot (the machine restarted: its boot id differs) is
//! none of these: it is gone, and its PIDs may be anyone's now. Nothing is signalled;
//! a process meant to run is started afresh, one that was stopped (or failed) stays so.

use std::time::{Duration, SystemTime};

use procward_core::Signal;
use procward_core::supervisor::state::State;

use super::Actor;
use super::entry::{Entry, Run, unix_ms};
use crate::engine::registry::Record;
use procward_core::signal::group;

impl Actor {
    /// Rebuilds the entries from the registry.
    pub(super) fn restore(&mut self, records: Vec<Record>) {
        for record in records {
            let name = record.spec.name.clone();
            let mut entry = Entry::new(
                record.spec,
                self.home.stdout_log(&name),
                self.home.stderr_log(&name),
            );
            entry.limit_statuses = self.limits.statuses(&entry.spec.limits);
            entry.unit = self.limits.cgroups().open(&name);
            entry.oom_kills_seen = entry.unit.as_ref().map_or(0, |u| u.oom_kills());
            entry.tracker = record.tracker;
            entry.last_exit = record.last_exit;
            entry.reason = record.reason;
            entry.desired = record.desired;
            if let Some(old) = record.retiring {
                let (signal, timeout) = (entry.spec.stop_signal, entry.spec.stop_timeout);
                super::reload::retire_left_over(&name, old, signal, timeout);
            }
            if record.failed {
                entry.set_state(State::Starting);
                entry.set_state(State::Failed);
            }
            self.entries.insert(name.clone(), entry);
            let run = match record.run {
                Some(run) if run.of_other_boot() => {
                    self.after_reboot(&name, record.desired);
                    None
                }
                run => run,
            };
            match run {
                Some(run) if run.child_alive() && !record.desired => {
                    // A stop was under way when the daemon died: finish it on time.
                    self.adopt(&name, run);
                    self.resume_stop(&name, record.stop_deadline_ms);
                }
                Some(run) if run.child_alive() && !run.shim_alive() => {
                    // Its shim is gone: end the orphan before the policy applies.
                    let generation = self.mark_running(&name, run, None);
                    self.on_exit(&name, generation);
                }
                Some(run) if run.child_alive() => {
                    self.adopt(&name, run);
                }
                Some(run) => {
                    // It ended while the daemon was away: handle the exit as if just seen.
                    tracing::info!(%name, pid = run.child_pid, "ended while the daemon was down");
                    let generation = self.mark_running(&name, run, None);
                    self.on_exit(&name, generation);
                }
                None if record.desired => {
                    self.launch(&name);
                    self.persist(&name);
                }
                None => {}
            }
        }
    }

    /// A run recorded in an earlier boot: the reboot ended it, not a crash, so no restart
    /// policy judges it and no restart is counted, and nothing is signalled (its PIDs may
    /// be anyone's now). What the user last asked for holds: a process meant to run
    /// (`desired`) is launched afresh by the caller's `None if desired` arm, whatever its
    /// policy (even `never`: it did not exit on its own); one stopped, or being stopped,
    /// stays stopped.
    fn after_reboot(&mut self, name: &str, desired: bool) {
        let status = self.home.run_dir(name).join("status.json");
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        // How the run ended if its shim lived to record it (the shutdown's SIGTERM).
        if let Ok(Some(exit)) = procward_core::supervisor::shim::read_status(&status) {
            entry.last_exit = Some(exit);
        }
        // A stop under way when the machine went down is complete: the entry is already
        // `stopped` (or `failed`), as restored.
        entry.stop_deadline_ms = None;
        tracing::info!(%name, desired, "run of an earlier boot: the machine restarted");
        if !desired {
            self.persist(name);
        }
    }

    fn adopt(&mut self, name: &str, run: crate::engine::registry::RunRecord) {
        let events = self.events.clone();
        let shim_alive = run.shim_alive();
        let watched = if shim_alive { run.shim() } else { run.child() };
        let pid = run.child_pid;
        let generation = self.mark_running(name, run, None);
        self.watcher.watch(watched, name, generation);
        let owned = self.owned.clone();
        if let Some(entry) = self.entries.get_mut(name) {
            let triggers = super::triggers::spawn_triggers(name, generation, &entry.spec, &events);
            if let Some(current) = entry.run.as_mut() {
                current.triggers = triggers;
            }
            entry.start_checks(&events, &owned);
        }
        tracing::info!(%name, pid, shim_alive, "re-adopted running process");
    }

    /// Takes up a stop the previous daemon began: the stop signal again (it may have died
    /// before sending it) and SIGKILL at the deadline it saved (at once if none).
    fn resume_stop(&mut self, name: &str, deadline_ms: Option<u64>) {
        let now = unix_ms(SystemTime::now());
        let grace = Duration::from_millis(deadline_ms.unwrap_or(now).saturating_sub(now));
        tracing::info!(%name, ?grace, "finishing the stop the previous daemon began");
        self.begin_stop(name, grace);
        if let Some(run) = self.entries.get(name).and_then(|e| e.run.as_ref()) {
            // In case it was paused: a stopped process cannot act on the stop signal.
            group::signal(run.record.child(), Signal::CONT);
        }
    }

    /// Puts a restored run in place with state running; returns its generation.
    fn mark_running(
        &mut self,
        name: &str,
        record: crate::engine::registry::RunRecord,
        shim: Option<procward_core::supervisor::shim::ShimProcess>,
    ) -> u64 {
        let Some(entry) = self.entries.get_mut(name) else {
            return 0;
        };
        entry.generation += 1;
        entry.set_state(State::Starting);
        entry.set_state(State::Running);
        entry.run = Some(Run {
            record,
            shim,
            checkers: Vec::new(),
            triggers: Vec::new(),
        });
        entry.generation
    }
}
