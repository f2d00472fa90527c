//! Stopping: the stop signal to the group, SIGKILL at the stop timeout, and "stopped" only
//! once the whole group is gone.

use std::time::{Duration, SystemTime};

use procward_core::Signal;
use procward_core::supervisor::state::State;

use super::entry::{Waiter, unix_ms};
use super::{Actor, Internal};
use procward_core::signal::group;

/// How long to wait for a SIGKILLed group to disappear before reporting it stopped anyway.
const GROUP_GONE_WAIT: Duration = Duration::from_secs(2);

impl Actor {
    /// Stops a process; `then_restart` is `Some(reset_backoff)` to start it again after.
    ///
    /// A stop (not a restart) saves `desired = false` and the SIGKILL deadline before the
    /// stop signal goes out: a daemon killed mid-stop is then replaced by one that
    /// finishes the stop rather than adopting (or restarting) the process.
    pub(super) fn stop(&mut self, name: &str, reply: Waiter, then_restart: Option<bool>) {
        self.drop_reload(name);
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
        // What the user asked for replaces the actor's own verdict on a failing run.
        entry.judge_after_stop = None;
        match entry.state {
            State::Running | State::Paused | State::Starting | State::Stopping => {
                entry.stop_waiters.push(reply);
                let stopping = entry.state == State::Stopping;
                let deadline = SystemTime::now() + entry.spec.stop_timeout;
                if entry.restart_after_stop.is_none() && (entry.desired || !stopping) {
                    entry.desired = false;
                    if !stopping {
                        entry.stop_deadline_ms = Some(unix_ms(deadline));
                    }
                    self.persist(name); // renamed into place before it returns
                }
                if !stopping {
                    let grace = self.entries[name].spec.stop_timeout;
                    self.begin_stop(name, grace);
                }
            }
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

    /// Moves a live run to `stopping`: the stop signal to its group (the run's, or the one
    /// a lost shim left), SIGCONT if it was paused, and SIGKILL after `grace`.
    pub(super) fn begin_stop(&mut self, name: &str, grace: Duration) {
        let events = self.events.clone();
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        let paused = entry.state == State::Paused;
        entry.set_state(State::Stopping);
        entry.stop_deadline_ms = Some(unix_ms(SystemTime::now() + grace));
        let leader = (entry.run.as_ref())
            .map(|run| run.record.child())
            .or(entry.stopping_group);
        if let Some(leader) = leader {
            group::signal(leader, entry.spec.stop_signal);
            if paused {
                group::signal(leader, Signal::CONT);
            }
        }
        let (generation, name) = (entry.generation, name.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let _ = events.send(Internal::StopTimeout { name, generation });
        });
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
        self.sweep_unit(name);
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        entry.stopping_group = None;
        entry.stop_deadline_ms = None;
        if entry.state == State::Stopping
            && let Some(failure) = entry.judge_after_stop.take()
        {
            // The actor ended a failing run itself: the policy judges it like an exit.
            let spec = entry.spec.clone();
            let decision = entry
                .tracker
                .on_failure(&spec, &failure.what, failure.uptime);
            entry.reason = failure.what;
            self.apply_decision(name, decision);
            if let Some(entry) = self.entries.get_mut(name) {
                entry.settle_stop_waiters();
            }
            return;
        }
        if entry.state == State::Stopping {
            entry.set_state(State::Stopped);
            let own = ["unhealthy", super::LIMIT_STOP];
            if !own.iter().any(|why| entry.reason.starts_with(why)) {
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
