//! Starting, restarting, pausing and signalling: the actor's side of the lifecycle
//! (stopping is in `stop.rs`, reacting to exits and health in `exit.rs`).

use std::time::SystemTime;

use procward_core::Signal;
use procward_core::supervisor::shim::{self, LaunchSpec};
use procward_core::supervisor::spec::{ProcessSpec, replica};
use procward_core::supervisor::state::State;
use procward_core::supervisor::view::ManagedView;

use super::Actor;
use super::deferred::Deferred;
use super::entry::{Entry, Run, Waiter, unix_ms};
use crate::engine::error::{Result, SupervisorError};
use crate::engine::registry::RunRecord;
use procward_core::cgroup::Unit;
use procward_core::signal::group;

/// How long the actor waits for a shim's report in place, before it hands its worker's
/// other tasks to another thread for the rest of the wait (`block_in_place`, which wakes a
/// thread and has to win the worker back afterwards). Shims report in well under a
/// millisecond.
const QUICK_REPORT: std::time::Duration = std::time::Duration::from_millis(2);

impl Actor {
    /// Registers a spec the supervisor handle has already checked (`Supervisor::check`, the one
    /// validation of every start) and launches it when it autostarts.
    pub(super) fn start(&mut self, spec: ProcessSpec) -> Result<ManagedView> {
        let name = spec.name.clone();
        if self.entries.contains_key(&name) {
            return Err(SupervisorError::Duplicate(name));
        }
        let autostart = spec.autostart;
        let mut entry = Entry::new(
            spec,
            self.home.stdout_log(&name),
            self.home.stderr_log(&name),
        );
        entry.limit_statuses = self.limits.statuses(&entry.spec.limits);
        self.entries.insert(name.clone(), entry);
        if autostart {
            self.launch(&name);
        }
        self.defer(Deferred::Persist(name.clone()));
        let entry = self.entry(&name)?;
        match (entry.state, autostart) {
            (State::Failed, true) => Err(SupervisorError::Spawn {
                name,
                message: entry.reason.clone(),
            }),
            _ => Ok(entry.view()),
        }
    }

    /// Starts a run: the shim spawns the process and reports its pid, or why it failed.
    pub(super) fn launch(&mut self, name: &str) {
        let exe = self.exe.clone();
        let owned = self.owned.clone();
        let run_dir = self.home.run_dir(name);
        let events = self.events.clone();
        let unit = match self.entries.get(name) {
            Some(entry) => self.limits.unit_for(name, &entry.spec.limits),
            None => return,
        };
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        entry.generation += 1;
        let generation = entry.generation;
        entry.set_state(State::Starting);
        entry.desired = true;
        entry.next_restart_at = None;
        entry.reason.clear();
        let status_file = run_dir.join("status.json");
        let _ = std::fs::create_dir_all(&run_dir);
        let _ = std::fs::remove_file(&status_file);
        let unit = match unit {
            Ok(unit) => unit,
            Err(message) => {
                entry.set_state(State::Failed);
                entry.desired = false;
                entry.reason = message;
                tracing::warn!(%name, reason = %entry.reason, "cannot start");
                return;
            }
        };
        entry.oom_kills_seen = unit.as_ref().map_or(0, Unit::oom_kills);
        entry.unit = unit.clone();
        // Additions only: the shim starts from the daemon's environment (`inherit_env`).
        let mut env = std::collections::BTreeMap::new();
        if let Some(index) = replica::instance_of(&entry.spec) {
            env.insert(replica::INSTANCE_ENV.into(), index.to_string());
        }
        env.extend(entry.spec.env.clone());
        let launch = LaunchSpec {
            argv: entry.spec.command.clone(),
            env,
            cwd: entry.spec.cwd.clone(),
            stdout_log: entry.stdout_log.clone(),
            stderr_log: entry.stderr_log.clone(),
            max_bytes: entry.spec.logs.max_bytes,
            max_files: entry.spec.logs.max_files,
            timestamps: entry.spec.logs.timestamps,
            status_file,
            cgroup: unit,
            hand_over_exit: false,
            no_log_state: false,
            lazy_logs: false,
            inherit_env: true,
        };
        // The reaper is held off only across the fork (so it cannot take the shim's exit
        // status); the wait for the shim's report runs with it free, and past
        // QUICK_REPORT off the runtime's worker, so other requests are served meanwhile.
        let launched = owned
            .spawn_shim(&exe, &launch, &run_dir.join("launch.json"))
            .and_then(|shim| {
                let quick = shim.report_ready_within(QUICK_REPORT);
                let wait = || shim::await_report(shim).map_err(|e| e.to_string());
                match quick {
                    true => wait(),
                    false => super::off_runtime(wait),
                }
            });
        match launched {
            Ok(launched) => {
                let record = RunRecord::of_launched(&launched, unix_ms(SystemTime::now()));
                entry.run = Some(Run {
                    record,
                    shim: Some(launched.shim),
                    checkers: Vec::new(),
                    triggers: Vec::new(),
                });
                entry.start_checks(&events, &owned);
                entry.set_state(State::Running);
                // Its exit watch, triggers and log line follow the reply (`deferred.rs`).
                self.defer(Deferred::Arm {
                    name: name.to_owned(),
                    generation,
                    child_pid: launched.child_pid,
                });
            }
            Err(message) => {
                entry.set_state(State::Failed);
                entry.desired = false;
                entry.reason = message;
                tracing::warn!(%name, reason = %entry.reason, "cannot start");
            }
        }
    }

    pub(super) fn restart(&mut self, name: &str, reply: Waiter) {
        match self.entry(name).map(|e| e.state) {
            Err(e) => {
                let _ = reply.send(Err(e));
            }
            Ok(State::Running | State::Paused | State::Starting | State::Stopping) => {
                self.stop(name, reply, Some(true));
            }
            Ok(_) => {
                if let Ok(entry) = self.entry_mut(name) {
                    entry.tracker.reset();
                    entry.generation += 1;
                }
                self.launch(name);
                self.persist(name);
                let _ = reply.send(self.entry(name).and_then(|e| match e.state {
                    State::Failed => Err(SupervisorError::Spawn {
                        name: name.to_owned(),
                        message: e.reason.clone(),
                    }),
                    _ => Ok(e.view()),
                }));
            }
        }
    }

    pub(super) fn remove(&mut self, name: &str) -> Result<()> {
        let state = self.entry(name)?.state;
        if !matches!(state, State::Stopped | State::Failed) {
            return Err(SupervisorError::State(format!(
                "'{name}' is {state}; stop it before deleting it"
            )));
        }
        if let Some(unit) = self.entries.remove(name).and_then(|e| e.unit) {
            let _ = unit.remove();
        }
        self.registry
            .remove(name)
            .map_err(|e| SupervisorError::Internal(e.to_string()))?;
        let _ = std::fs::remove_dir_all(self.home.run_dir(name));
        Ok(())
    }

    pub(super) fn pause(&mut self, name: &str, pause: bool) -> Result<ManagedView> {
        let entry = self.entry_mut(name)?;
        let (from, to, signal) = if pause {
            (State::Running, State::Paused, Signal::STOP)
        } else {
            (State::Paused, State::Running, Signal::CONT)
        };
        if entry.state != from {
            let verb = if pause { "pause" } else { "resume" };
            return Err(SupervisorError::State(format!(
                "cannot {verb} '{name}': it is {}",
                entry.state
            )));
        }
        let run = entry
            .run
            .as_ref()
            .ok_or_else(|| SupervisorError::State(format!("'{name}' has no running process")))?;
        group::signal(run.record.child(), signal);
        entry.set_state(to);
        Ok(entry.view())
    }

    pub(super) fn signal(&mut self, name: &str, signal: Signal) -> Result<ManagedView> {
        if signal == Signal::STOP || signal == Signal::CONT {
            return self.pause(name, signal == Signal::STOP);
        }
        let entry = self.entry(name)?;
        let run = entry.run.as_ref().ok_or_else(|| {
            SupervisorError::State(format!("'{name}' is {}, not running", entry.state))
        })?;
        group::signal(run.record.child(), signal);
        Ok(entry.view())
    }

    pub(super) fn wait_healthy(&mut self, name: &str, reply: Waiter) {
        match self.entry_mut(name) {
            Err(e) => {
                let _ = reply.send(Err(e));
            }
            Ok(entry) if entry.ready() => {
                let _ = reply.send(Ok(entry.view()));
            }
            Ok(entry) => entry.health_waiters.push(reply),
        }
    }

    pub(super) fn on_restart_due(&mut self, name: &str, generation: u64) {
        let due = self
            .entries
            .get(name)
            .is_some_and(|e| e.generation == generation && e.state == State::Pending);
        if due {
            self.launch(name);
            self.persist(name);
        }
    }
}
