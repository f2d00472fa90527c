//! Reacting to the end of a run: its exit, a failed health check, or the loss of its
//! shim. Every one of them goes through the same [`RestartTracker`] (back-off and
//! `max_restarts`), so no way of failing restarts a process faster or more often than a
//! crash would.
//!
//! A lost shim (killed, say with `kill -9`) leaves its process running with nobody
//! reading its pipes or recording its exit. The daemon does not adopt such an orphan: its
//! output pipes are gone, so its next write to stdout or stderr fails (EPIPE or SIGPIPE)
//! and nothing of it would be logged. It ends the orphan's whole process group instead
//! (the stop signal, SIGKILL at the stop timeout) and only then applies the restart
//! policy, so exactly one copy ever runs. Meanwhile the process is `stopping`, and `stop`
//! and `delete` wait for that group to go. A daemon that comes back to find a shim gone
//! and its process alive does the same.
//!
//! [`RestartTracker`]: procward_core::supervisor::state::RestartTracker

use std::time::{Duration, SystemTime};

use procward_core::supervisor::shim;
use procward_core::supervisor::spec::RestartPolicy;
use procward_core::supervisor::state::{Decision, ExitStatus, State};
use procward_core::supervisor::view::Health;

use super::entry::{Failure, Run, unix_ms};
use super::{Actor, Internal};
use crate::engine::error::SupervisorError;
use crate::engine::health::Check;
use procward_core::signal::group;

impl Actor {
    /// The run's shim (or, when watched directly, its process) ended: record how, then
    /// restart, stop or give up as the policy says; a shim that went while its process
    /// lives on is a lost shim (see the module documentation).
    pub(super) fn on_exit(&mut self, name: &str, generation: u64) {
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        if entry.generation != generation {
            return;
        }
        let Some(mut run) = entry.run.take() else {
            return;
        };
        if let Some(mut shim) = run.shim.take() {
            let _ = shim.wait();
            // Only a shim reaped here was ours: a pid freed long ago may be another's now.
            self.owned.remove(run.record.shim_pid);
        }
        let record = shim::read_status(&self.home.run_dir(name).join("status.json"))
            .ok()
            .flatten();
        let leader = run.record.child();
        // No exit recorded, yet the group lives: the shim went, not the process.
        if record.is_none()
            && entry.state != State::Stopping
            && !group::members(leader.pid).is_empty()
        {
            self.end_orphan(name, run);
            return;
        }
        let status = ExitStatus {
            code: record.as_ref().and_then(|r| r.exit_code),
            signal: record.as_ref().and_then(|r| r.signal),
        };
        let ended_ms = record
            .as_ref()
            .map_or_else(|| unix_ms(SystemTime::now()), |r| r.ended_at_ms);
        let uptime = Duration::from_millis(ended_ms.saturating_sub(run.record.started_at_ms));
        if entry.reloading.is_some() {
            // The new run of a reload ended before it was ready: the old one stays.
            drop(run);
            self.keep_old(
                name,
                &format!("the new instance {status} before it was ready"),
            );
            return;
        }
        entry.last_exit = record;
        drop(run);
        for waiter in entry.health_waiters.drain(..) {
            let _ = waiter.send(Err(SupervisorError::State(format!(
                "'{name}' exited before it became healthy"
            ))));
        }
        if entry.state == State::Stopping {
            if group::members(leader.pid).is_empty() {
                self.sweep_unit(name);
                self.finish_stop(name);
            } else {
                // Members of the tree outlived the leader: the stop timeout will SIGKILL them.
                entry.stopping_group = Some(leader);
            }
            self.persist(name);
            return;
        }
        let spec = entry.spec.clone();
        let decision = entry.tracker.on_exit(&spec, status, uptime);
        let decision = self.oom_breach(name, decision);
        // The run is over: what it left behind in its unit goes with it.
        self.sweep_unit(name);
        self.apply_decision(name, decision);
    }

    /// Ends the process group a lost shim left behind, keeping the run (its process is
    /// watched directly now) so that `stop` and `delete` still reach the group; the
    /// restart policy judges the run once the group is gone (`finish_stop`).
    fn end_orphan(&mut self, name: &str, run: Run) {
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        let what = format!("lost its shim (pid {})", run.record.shim_pid);
        tracing::warn!(%name, pid = run.record.child_pid, "{what}: ending the orphaned process group");
        entry.reason =
            format!("{what}: ending its orphaned process group before the restart policy applies");
        entry.judge_after_stop = Some(Failure {
            what,
            uptime: uptime_of(&run),
        });
        self.watcher
            .watch(run.record.child(), name, entry.generation);
        entry.run = Some(run);
        let grace = entry.spec.stop_timeout;
        self.begin_stop(name, grace);
        self.persist(name);
    }

    /// Puts the policy's decision on a finished run into effect: `pending` until the
    /// back-off passes, `stopped`, or `failed`; then saves it.
    pub(super) fn apply_decision(&mut self, name: &str, decision: Decision) {
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        match decision {
            Decision::Restart { after } => {
                if entry.state == State::Stopping {
                    entry.set_state(State::Stopped); // stopping cannot go to pending directly
                }
                entry.set_state(State::Pending);
                entry.next_restart_at = Some(SystemTime::now() + after);
                let events = self.events.clone();
                let (name, generation) = (name.to_owned(), entry.generation);
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = events.send(Internal::RestartDue { name, generation });
                });
            }
            Decision::Stop { reason } => {
                entry.set_state(State::Stopped);
                entry.desired = false;
                entry.reason = reason;
            }
            Decision::GiveUp { reason } => {
                entry.set_state(State::Failed);
                entry.desired = false;
                entry.reason = reason;
            }
        }
        tracing::info!(%name, state = %entry.state, reason = %entry.reason, "run ended");
        self.persist(name);
    }

    /// A health or readiness check changed its verdict. A readiness verdict only marks
    /// the process (not) ready. Unhealthy under `always` or `on-failure`: the run is
    /// stopped (stop signal, SIGKILL at the stop timeout) and then judged like a failed
    /// exit: restarted after the back-off, or `failed` past `max_restarts`.
    pub(super) fn on_health(
        &mut self,
        name: &str,
        generation: u64,
        check: Check,
        healthy: bool,
        detail: String,
    ) {
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        if entry.generation != generation {
            return;
        }
        let Some(run) = &entry.run else { return };
        let verdict = if healthy {
            Health::Healthy
        } else {
            Health::Unhealthy
        };
        match check {
            Check::Readiness => entry.readiness = verdict,
            Check::Liveness => entry.health = verdict,
        }
        if healthy {
            if entry.ready() {
                let view = entry.view();
                for waiter in entry.health_waiters.drain(..) {
                    let _ = waiter.send(Ok(view.clone()));
                }
                self.finish_reload(name);
            }
            return;
        }
        if check == Check::Readiness {
            tracing::info!(%name, %detail, "not ready");
            return;
        }
        if entry.reloading.is_some() {
            self.keep_old(name, &format!("the new instance is unhealthy ({detail})"));
            return;
        }
        let uptime = uptime_of(run);
        entry.reason = format!("unhealthy: {detail}");
        tracing::warn!(%name, %detail, "health check failed");
        if entry.spec.restart != RestartPolicy::Never && matches!(entry.state, State::Running) {
            entry.judge_after_stop = Some(Failure {
                what: format!("unhealthy ({detail})"),
                uptime,
            });
            let grace = entry.spec.stop_timeout;
            self.begin_stop(name, grace);
        }
    }
}

/// How long `run` has been running.
fn uptime_of(run: &Run) -> Duration {
    let now = unix_ms(SystemTime::now());
    Duration::from_millis(now.saturating_sub(run.record.started_at_ms))
}
