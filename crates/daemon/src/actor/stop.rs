//! Stopping: the stop signal to the group, SIGKILL at the stop timeout, and "stopped" only
//! once the whole group is gone.

use std::time::Duration;

use procward_core::Signal;
use procward_core::supervisor::state::State;

use super::entry::Waiter;
use super::{Actor, Internal};
use crate::group;

/// How long to wait for a SIGKILLed group to disappear before reporting it stopped anyway.
const GROUP_GONE_WAIT: Duration = Duration::from_secs(2);

impl Actor {
    /// Stops a process; `then_restart` is `Some(reset_backoff)` to start it again after.
    pub(super) fn stop(&mut self, name: &str, reply: Waiter, then_restart: Option<bool>) {
        let events = self.events.clone();
        let entry = match self.entry_mut(name) {
            Ok(entry) => entry,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        if then_restart.is_some() {
            entry.restart_after_stop = then_restart;
        }
        match entry.state {
            State::Running | State::Paused | State::Starting => {
                let paused = entry.state == State::Paused;
                entry.desired = false;
                entry.set_state(State::Stopping);
                entry.stop_waiters.push(reply);
                if let Some(run) = &entry.run {
                    let leader = run.record.child();
                    group::signal(leader, entry.spec.stop_signal);
                    if paused {
                        group::signal(leader, Signal::CONT);
                    }
                }
                let (generation, timeout) = (entry.generation, entry.spec.stop_timeout);
                let name = name.to_owned();
                tokio::spawn(async move {
                    tokio::time::sleep(timeout).await;
                    let _ = events.send(Internal::StopTimeout { name, generation });
                });
            }
            State::Stopping => entry.stop_waiters.push(reply),
            State::Pending | State::Stopped | State::Failed => {
                if entry.state == State::Pending {
                    entry.generation += 1; // cancels the scheduled restart
                    entry.set_state(State::Stopped);
                    entry.reason = "stopped by request".into();
                }
                entry.desired = false;
                entry.next_restart_at = None;
                entry.stop_waiters.push(reply);
                self.finish_stop(name);
            }
        }
    }

    pub(super) fn on_stop_timeout(&mut self, name: &str, generation: u64) {
        let events = self.events.clone();
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        if entry.generation != generation || entry.state != State::Stopping {
            return;
        }
        let group = entry
            .run
            .as_ref()
            .map(|r| r.record.child())
            .or(entry.stopping_group);
        let Some(leader) = group else { return };
        let pid = leader.pid;
        tracing::warn!(%name, "stop timeout passed: SIGKILL to the group");
        group::signal(leader, Signal::KILL);
        if entry.run.is_none() {
            let name = name.to_owned();
            tokio::spawn(async move {
                let deadline = tokio::time::Instant::now() + GROUP_GONE_WAIT;
                while !group::members(pid).is_empty() && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let _ = events.send(Internal::GroupGone { name, generation });
            });
        }
    }

    pub(super) fn on_group_gone(&mut self, name: &str, generation: u64) {
        let stopping = self.entries.get(name).is_some_and(|e| {
            e.generation == generation && e.state == State::Stopping && e.run.is_none()
        });
        if stopping {
            self.finish_stop(name);
            self.persist(name);
        }
    }

    /// The process and its group are gone: settle waiters, and start again if asked.
    pub(super) fn finish_stop(&mut self, name: &str) {
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        entry.stopping_group = None;
        if entry.state == State::Stopping {
            entry.set_state(State::Stopped);
            if entry.reason.is_empty() || !entry.reason.starts_with("unhealthy") {
                entry.reason = "stopped by request".into();
            }
        }
        match entry.restart_after_stop.take() {
            Some(reset) => {
                if reset {
                    entry.tracker.reset();
                }
                self.launch(name);
                self.persist(name);
            }
            None => self.persist(name),
        }
        if let Some(entry) = self.entries.get_mut(name) {
            entry.settle_stop_waiters();
        }
    }
}
