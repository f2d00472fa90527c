//! The queue actor's requests that change jobs and groups: add (every check of a new
//! job), list, cancel, retry, pause and resume, groups, clean.

use procward_core::queue::{Group, Job, JobSpec, JobState};

use super::actor::{Actor, Reply, now_ms, store_error};
use super::{
    CleanFilter, JobFilter, check_group_spec, check_retryable, nothing_to_cancel, unknown_group,
};
use crate::engine::error::EngineError;

impl Actor {
    pub(super) fn add(&mut self, mut spec: JobSpec) -> Result<Job, EngineError> {
        let now = now_ms();
        spec.validate(now)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        self.check_limits(&spec)?;
        self.check_group(&spec.group)?;
        spec.after.sort_unstable();
        spec.after.dedup();
        if let Some(missing) = spec.after.iter().find(|dep| !self.jobs.contains_key(dep)) {
            return Err(EngineError::Invalid(format!(
                "after: there is no job {missing} (a job can only wait for jobs already queued, \
                 so dependencies cannot form a cycle)"
            )));
        }
        let id = self.last_id + 1;
        let mut job = Job::new(id, spec, now);
        job.limit_status = self.limits.statuses(&job.spec.limits);
        self.store.insert(&job).map_err(store_error)?;
        self.last_id = id;
        for dep in &job.spec.after {
            self.dependents.entry(*dep).or_default().push(id);
        }
        self.jobs.insert(id, job);
        self.emit(id);
        self.admit(id);
        self.job(id).cloned()
    }

    /// Refuses a job (or a schedule's job) with a hard limit this machine can only poll,
    /// unless it accepts that (`best_effort`), as a managed process's start is refused.
    pub(super) fn check_limits(&self, spec: &JobSpec) -> Result<(), EngineError> {
        self.limits
            .check_spec(&spec.limits)
            .map_err(|e| EngineError::Refused(format!("limits: {e}")))
    }

    /// Refuses a job (or a schedule's job) in a group that does not exist.
    pub(super) fn check_group(&self, group: &str) -> Result<(), EngineError> {
        if self.groups.contains_key(group) {
            return Ok(());
        }
        Err(unknown_group(group, self.groups.keys().map(String::as_str)))
    }

    pub(super) fn list(&self, filter: &JobFilter) -> Vec<Job> {
        self.jobs
            .values()
            .filter(|j| filter.matches(j))
            .cloned()
            .collect()
    }

    pub(super) fn cancel(&mut self, id: u64, reply: Reply<Job>) {
        let state = match self.job(id) {
            Ok(job) => job.state,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        // A job whose shim is starting is still `queued` but has a process coming.
        let starting = self.running.contains_key(&id);
        match state {
            JobState::Queued | JobState::Delayed if !starting => {
                self.set_final(id, JobState::Cancelled, "cancelled".into());
                let _ = reply.send(self.job(id).cloned());
            }
            JobState::Running | JobState::Queued => {
                self.waiters.entry(id).or_default().push(reply);
                if let Some(job) = self.jobs.get_mut(&id) {
                    job.cancel_requested = true;
                }
                self.end_running(id, "cancelled");
            }
            state => {
                let _ = reply.send(Err(nothing_to_cancel(id, state)));
            }
        }
    }

    pub(super) fn retry(&mut self, id: u64) -> Result<Job, EngineError> {
        self.job(id)?;
        let job = self.jobs.get_mut(&id).expect("checked above");
        check_retryable(id, job.state)?;
        job.state = JobState::Queued;
        job.retried_after = job.attempts.len() as u32;
        job.cancel_requested = false;
        job.stop_by_limit = false;
        job.run_at_ms = None;
        job.reason = "retried".into();
        self.save(id);
        self.emit(id);
        self.admit(id);
        self.job(id).cloned()
    }

    pub(super) fn pause(
        &mut self,
        group: Option<String>,
        pause: bool,
    ) -> Result<Vec<Group>, EngineError> {
        let names: Vec<String> = match group {
            Some(name) if !self.groups.contains_key(&name) => {
                return Err(EngineError::NotFound(format!("no group {name:?}")));
            }
            Some(name) => vec![name],
            None => self.groups.keys().cloned().collect(),
        };
        let mut changed = Vec::new();
        for name in names {
            let group = self.groups.get_mut(&name).expect("checked above");
            group.paused = pause;
            self.store.put_group(group).map_err(store_error)?;
            changed.push(group.clone());
        }
        Ok(changed)
    }

    pub(super) fn put_group(&mut self, mut group: Group) -> Result<Group, EngineError> {
        check_group_spec(&group)?;
        group.paused = self.groups.get(&group.name).is_some_and(|g| g.paused);
        self.store.put_group(&group).map_err(store_error)?;
        self.groups.insert(group.name.clone(), group.clone());
        Ok(group)
    }

    pub(super) fn clean(&mut self, filter: CleanFilter) -> Result<Vec<u64>, EngineError> {
        let now = now_ms();
        let ids: Vec<u64> = self
            .jobs
            .values()
            .filter(|j| filter.selects(j, now))
            .map(|j| j.id)
            .collect();
        self.forget(&ids)?;
        Ok(ids)
    }

    pub(super) fn forget(&mut self, ids: &[u64]) -> Result<(), EngineError> {
        self.store.delete(ids).map_err(store_error)?;
        for id in ids {
            self.jobs.remove(id);
            self.dependents.remove(id);
            self.trash.discard(&self.home.job_dir(*id));
        }
        self.completed.retain(|id| !ids.contains(id));
        Ok(())
    }
}
