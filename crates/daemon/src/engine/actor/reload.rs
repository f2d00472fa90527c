//! Zero-downtime reload of one process: a new run starts while the old one keeps
//! serving, and the old one is stopped only once the new one is ready (its readiness
//! check passes, or its health check without one). Both share the process's log files and
//! its cgroup unit meanwhile, so the process must tolerate a second copy for that long
//! (a port shared with `SO_REUSEPORT`, a queue consumer, a worker).
//!
//! If the new run exits or fails its health check before it is ready, the reload is
//! abandoned and the old run stays the current one, untouched; so does an abort (the
//! supervisor handle's patience ran out). A stop during a reload stops both runs.
//!
//! The old run's directory is moved aside before the new run starts: its shim's last
//! report (its exit record) then cannot be taken for the new run's.

use std::path::PathBuf;
use std::time::Duration;

use procward_core::Signal;
use procward_core::signal::group;
use procward_core::supervisor::state::State;

use super::Actor;
use super::entry::{Run, Waiter};
use crate::engine::error::SupervisorError;

/// A reload under way: the run being replaced and who waits for the outcome.
#[derive(Debug)]
pub struct Reloading {
    /// The run that keeps serving until the new one is ready.
    old: Run,
    /// Its generation, for logs.
    old_generation: u64,
    /// Where its run directory was moved.
    aside: PathBuf,
    /// Answered once the new run is ready (or the reload is abandoned).
    reply: Waiter,
}

impl Reloading {
    /// The pid of the old run's main process.
    pub fn old_pid(&self) -> u32 {
        self.old.record.child_pid
    }

    /// What the registry keeps of the old run while the reload is under way.
    pub fn old_record(&self) -> &crate::engine::registry::RunRecord {
        &self.old.record
    }
}

impl Actor {
    /// Starts a reload: refused without a health or readiness check (nothing would tell
    /// when the new run is ready); a process that is not running is simply started.
    pub(super) fn reload(&mut self, name: &str, reply: Waiter) {
        let entry = match self.entry(name) {
            Ok(entry) => entry,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        if entry.spec.health.is_none() && entry.spec.readiness.is_none() {
            let _ = reply.send(Err(SupervisorError::State(format!(
                "'{name}' has neither a readiness nor a health check, so nothing would tell \
                 when its new instance is ready: add one, or use restart"
            ))));
            return;
        }
        match entry.state {
            State::Running if entry.reloading.is_none() => {}
            State::Running => {
                let _ = reply.send(Err(SupervisorError::State(format!(
                    "a reload of '{name}' is already under way"
                ))));
                return;
            }
            State::Stopped | State::Failed | State::Pending => return self.restart(name, reply),
            state => {
                let _ = reply.send(Err(SupervisorError::State(format!(
                    "cannot reload '{name}': it is {state}"
                ))));
                return;
            }
        }
        let run_dir = self.home.run_dir(name);
        let generation = entry.generation;
        let aside = run_dir.with_file_name(format!(".retiring-{name}-{generation}"));
        if let Err(e) = std::fs::rename(&run_dir, &aside) {
            let _ = reply.send(Err(SupervisorError::Internal(format!(
                "cannot move {} aside: {e}",
                run_dir.display()
            ))));
            return;
        }
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        let Some(old) = entry.run.take() else { return };
        tracing::info!(%name, pid = old.record.child_pid, "reloading: starting a new instance");
        entry.reloading = Some(Reloading {
            old,
            old_generation: generation,
            aside,
            reply,
        });
        self.launch(name);
        let failed = self
            .entries
            .get(name)
            .is_some_and(|e| e.state == State::Failed);
        if failed {
            let why = self.entries[name].reason.clone();
            self.keep_old(name, &format!("the new instance could not start: {why}"));
        }
        self.persist(name);
    }

    /// The new run is ready: the old one is stopped (stop signal to its group, SIGKILL
    /// at the stop timeout) and the reload answered.
    pub(super) fn finish_reload(&mut self, name: &str) {
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        let Some(reloading) = entry.reloading.take() else {
            return;
        };
        tracing::info!(%name, generation = reloading.old_generation, "reloaded: stopping the old instance");
        retire(
            reloading.old,
            entry.spec.stop_signal,
            entry.spec.stop_timeout,
            Some(reloading.aside),
            self.owned.clone(),
        );
        let _ = reloading.reply.send(Ok(entry.view()));
        self.persist(name);
    }

    /// Gives up a reload: the new run (if any still runs) is stopped and the old run
    /// becomes the current one again, with a fresh generation so no event of the new
    /// run can touch it.
    pub(super) fn keep_old(&mut self, name: &str, why: &str) {
        let events = self.events.clone();
        let owned = self.owned.clone();
        let run_dir = self.home.run_dir(name);
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        let Some(reloading) = entry.reloading.take() else {
            return;
        };
        if let Some(new) = entry.run.take() {
            retire(
                new,
                entry.spec.stop_signal,
                entry.spec.stop_timeout,
                None,
                owned.clone(),
            );
        }
        let _ = std::fs::remove_dir_all(&run_dir);
        if let Err(e) = std::fs::rename(&reloading.aside, &run_dir) {
            tracing::warn!(%name, error = %e, "cannot move the old run's directory back");
        }
        entry.generation += 1;
        let generation = entry.generation;
        self.watcher
            .watch(reloading.old.record.shim(), name, generation);
        entry.run = Some(reloading.old);
        if entry.state != State::Running {
            entry.set_state(State::Starting);
            entry.set_state(State::Running);
        }
        entry.desired = true;
        entry.reason = format!("reload abandoned: {why}; the old instance keeps running");
        let triggers = super::triggers::spawn_triggers(name, generation, &entry.spec, &events);
        if let Some(run) = entry.run.as_mut() {
            run.triggers = triggers;
        }
        entry.start_checks(&events, &owned);
        tracing::warn!(%name, %why, "reload abandoned");
        let _ = reloading.reply.send(Err(SupervisorError::State(format!(
            "'{name}': {}",
            entry.reason
        ))));
        self.persist(name);
    }

    /// The supervisor handle's patience ran out: the new run never became ready.
    pub(super) fn abort_reload(&mut self, name: &str) {
        if self
            .entries
            .get(name)
            .is_some_and(|e| e.reloading.is_some())
        {
            self.keep_old(name, "the new instance did not become ready in time");
        }
    }

    /// A stop or delete during a reload: the old run goes too.
    pub(super) fn drop_reload(&mut self, name: &str) {
        let owned = self.owned.clone();
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        if let Some(reloading) = entry.reloading.take() {
            let (signal, timeout) = (entry.spec.stop_signal, entry.spec.stop_timeout);
            retire(reloading.old, signal, timeout, Some(reloading.aside), owned);
            let _ = reloading.reply.send(Err(SupervisorError::State(format!(
                "'{name}' was stopped during its reload"
            ))));
            self.persist(name);
        }
    }
}

/// Ends the old run of a reload that a previous daemon left under way (it was killed
/// before the new run was ready, or before it stopped the old one): the new run is the
/// one recorded, so the old one goes, as the reload would have done. Nothing of another
/// boot, or whose identity no longer matches, is signalled.
pub(super) fn retire_left_over(
    name: &str,
    old: crate::engine::registry::RunRecord,
    signal: Signal,
    timeout: Duration,
) {
    if old.of_other_boot() || !old.child_alive() {
        return;
    }
    tracing::warn!(%name, pid = old.child_pid, "stopping the old instance of a reload cut short");
    tokio::spawn(stop_group(old.child(), signal, timeout));
}

/// Ends a run that is no longer the current one ([`stop_group`]), then reaps its shim and
/// removes its moved directory.
fn retire(
    mut run: Run,
    signal: Signal,
    timeout: Duration,
    aside: Option<PathBuf>,
    owned: crate::engine::reaper::OwnedChildren,
) {
    let stopped = stop_group(run.record.child(), signal, timeout);
    let shim = run.shim.take();
    let shim_pid = run.record.shim_pid;
    drop(run); // its checks and triggers end here
    tokio::spawn(async move {
        stopped.await;
        if let Some(mut shim) = shim {
            let _ = tokio::task::spawn_blocking(move || shim.wait()).await;
            owned.remove(shim_pid);
        }
        if let Some(aside) = aside {
            let _ = std::fs::remove_dir_all(aside);
        }
    });
}

/// Sends `signal` (and SIGCONT, in case it was paused) to the group led by `leader` at
/// once; the future SIGKILLs whatever is left of the group after `timeout`. Signals are
/// pinned to the leader's identity, so a recycled pid is never signalled.
fn stop_group(
    leader: procward_core::sys::process::Instance,
    signal: Signal,
    timeout: Duration,
) -> impl std::future::Future<Output = ()> {
    group::signal(leader, signal);
    group::signal(leader, Signal::CONT);
    async move {
        let deadline = tokio::time::Instant::now() + timeout;
        while !group::members(leader.pid).is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !group::members(leader.pid).is_empty() {
            group::signal(leader, Signal::KILL);
        }
    }
}
