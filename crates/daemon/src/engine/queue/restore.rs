//! A queue coming back: groups from the store and the config file, every job as it was
//! (queued and delayed ones wait again, running ones are re-adopted through their shims),
//! and the schedules.

use std::collections::HashMap;
use std::time::Duration;

use procward_core::queue::{DEFAULT_GROUP, Group, JobState, MAX_PARALLEL};

use super::actor::{Actor, QueueConfig, now_ms, store_error};
use super::run::Running;
use crate::engine::error::EngineError;
use crate::engine::registry::RunRecord;

impl Actor {
    pub(super) fn restore(
        &mut self,
        loaded: super::store::Loaded,
        config: &QueueConfig,
    ) -> Result<(), EngineError> {
        for group in loaded.groups {
            self.groups.insert(group.name.clone(), group);
        }
        let mut wanted = vec![(DEFAULT_GROUP.to_owned(), None)];
        wanted.extend(config.groups.iter().map(|(n, p)| (n.clone(), Some(*p))));
        for (name, parallel) in wanted {
            let existing = self.groups.get(&name).cloned();
            let group = Group {
                parallel: parallel
                    .or(existing.as_ref().map(|g| g.parallel))
                    .unwrap_or(config.default_parallel)
                    .clamp(1, MAX_PARALLEL),
                paused: existing.as_ref().is_some_and(|g| g.paused),
                name,
            };
            // A group only the defaults or the config file make is made again on every
            // start: stored once something about it changes (which also keeps an unused
            // queue from creating its database).
            if existing.as_ref().is_some_and(|existing| existing != &group) {
                self.store.put_group(&group).map_err(store_error)?;
            }
            self.groups.insert(group.name.clone(), group);
        }
        let runs: HashMap<u64, _> = loaded.runs.into_iter().collect();
        for mut job in loaded.jobs {
            job.limit_status = self.limits.statuses(&job.spec.limits);
            for dep in &job.spec.after {
                self.dependents.entry(*dep).or_default().push(job.id);
            }
            if job.state == JobState::Completed {
                self.completed.push_back(job.id);
            }
            self.jobs.insert(job.id, job);
        }
        let ids: Vec<u64> = self.jobs.keys().copied().collect();
        for id in ids {
            match self.jobs[&id].state {
                JobState::Running => self.readopt(id, runs.get(&id).cloned()),
                JobState::Queued | JobState::Delayed => self.admit(id),
                _ => {}
            }
        }
        self.restore_schedules(loaded.schedules);
        tracing::info!(
            jobs = self.jobs.len(),
            running = self.running.len(),
            "job queue restored"
        );
        Ok(())
    }

    /// Finds a job that was running when the daemon stopped: its shim still runs (watch
    /// it) or has exited (its exit record is read when the watcher reports it, at once).
    pub(super) fn readopt(&mut self, id: u64, record: Option<RunRecord>) {
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        let number = job.last_attempt().map_or(1, |a| a.number);
        let group_name = job.spec.group.clone();
        let timeout = job.spec.timeout;
        let lost = match &record {
            // Stopped between spawning and recording the run: nothing to find again.
            None => Some("the daemon stopped while the attempt was starting"),
            // The machine rebooted since: the attempt died with it, and its PIDs may be
            // anything's now, so nothing is watched or signalled on its behalf.
            Some(record) if record.of_other_boot() => {
                Some("the machine restarted while the attempt was running")
            }
            Some(_) => None,
        };
        let (Some(record), None) = (record, lost) else {
            let now = now_ms();
            if let Some(job) = self.jobs.get_mut(&id) {
                job.reason = lost.unwrap_or_default().into();
            }
            self.finish(id, None, None, now);
            return;
        };
        self.watcher
            .watch(record.shim(), &id.to_string(), number.into());
        if let Some(timeout) = timeout {
            let elapsed = now_ms().saturating_sub(record.started_at_ms);
            self.arm_timeout(
                id,
                number,
                timeout.saturating_sub(Duration::from_millis(elapsed)),
            );
        }
        tracing::info!(id, pid = record.child_pid, "job re-adopted");
        let unit = record
            .unit
            .clone()
            .unwrap_or_else(|| super::limits::unit_name(id));
        self.running.insert(
            id,
            Running {
                attempt: number,
                spawned_ms: record.started_at_ms,
                record: Some(record),
                shim: None,
                unit: self.limits.cgroups().open(&unit),
                oom_seen: 0,
            },
        );
        self.slot_taken(&group_name);
    }
}
