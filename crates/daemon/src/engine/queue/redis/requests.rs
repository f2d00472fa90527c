//! The shared queue's requests: add (every check of a new job), list, cancel, retry,
//! wait, pause and resume, clean, groups. Each is one script (or a read) against Redis;
//! the checks are the embedded queue's, with the same words.

use procward_core::queue::{DEFAULT_GROUP, Group, Job, JobSpec};

use super::{Shared, link, to_json};
use crate::engine::error::EngineError;
use crate::engine::queue::actor::{Reply, now_ms};
use crate::engine::queue::{
    CleanFilter, JobFilter, check_group_spec, check_retryable, nothing_to_cancel, refused_retry,
    unknown_group,
};

impl Shared {
    /// What a job (or a schedule's job) must pass beyond its own spec, as on the embedded
    /// queue: limits this machine can hold, and a group that exists.
    pub(super) async fn check_job(&self, spec: &JobSpec) -> Result<(), EngineError> {
        self.limits
            .check_spec(&spec.limits)
            .map_err(|e| EngineError::Refused(format!("limits: {e}")))?;
        let groups = self.link.groups().await?;
        if groups.iter().any(|g| g.name == spec.group) {
            return Ok(());
        }
        Err(unknown_group(
            &spec.group,
            groups.iter().map(|g| g.name.as_str()),
        ))
    }

    pub(super) async fn add(&self, mut spec: JobSpec) -> Result<Job, EngineError> {
        let now = now_ms();
        spec.validate(now)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        self.check_job(&spec).await?;
        spec.after.sort_unstable();
        spec.after.dedup();
        let after: Vec<String> = spec.after.iter().map(u64::to_string).collect();
        let (after_any, priority, group) = (spec.after_any, spec.priority, spec.group.clone());
        let mut job = Job::new(0, spec, now);
        job.limit_status = self.limits.statuses(&job.spec.limits);
        let body = to_json("job", &job)?;
        let run_at = job.run_at_ms.map_or_else(String::new, |at| at.to_string());
        let (status, detail): (String, String) = self
            .link
            .run(&self.link.scripts.add, |s| {
                s.arg(now)
                    .arg(&body)
                    .arg(&group)
                    .arg(priority)
                    .arg(&run_at)
                    .arg(after.join(" "))
                    .arg(if after_any { "1" } else { "0" });
            })
            .await?;
        match status.as_str() {
            "ok" => self.link.job(detail.parse().unwrap_or(0)).await,
            _ => Err(EngineError::Invalid(detail)),
        }
    }

    pub(super) async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, EngineError> {
        let mut jobs = self.link.jobs().await?;
        jobs.retain(|j| filter.matches(j));
        Ok(jobs)
    }

    pub(super) async fn cancel(&self, id: u64, reply: Reply<Job>) {
        let answer: Result<Vec<String>, EngineError> = self
            .link
            .run(&self.link.scripts.cancel, |s| {
                s.arg(id).arg(now_ms());
            })
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        match answer.first().map(String::as_str) {
            Some("done") => {
                let _ = reply.send(self.link.job(id).await);
            }
            // Its host ends it; the answer comes with the job's final event.
            Some("running") => self.wait(id, reply).await,
            Some("final") => {
                let state = answer.get(1).cloned().unwrap_or_default();
                let _ = reply.send(Err(nothing_to_cancel(id, state)));
            }
            _ => {
                let _ = reply.send(self.link.job(id).await);
            }
        }
    }

    pub(super) async fn retry(&self, id: u64) -> Result<Job, EngineError> {
        let mut job = self.link.job(id).await?;
        check_retryable(id, job.state)?;
        job.retried_after = job.attempts.len() as u32;
        job.cancel_requested = false;
        job.stop_by_limit = false;
        let body = to_json("job", &job)?;
        let answer: Vec<String> = self
            .link
            .run(&self.link.scripts.retry, |s| {
                s.arg(id).arg(&body).arg(now_ms());
            })
            .await?;
        match (answer.first().map(String::as_str), answer.get(1)) {
            (Some("ok"), _) => self.link.job(id).await,
            (Some("state"), Some(state)) => {
                Err(refused_retry(id, state.parse().unwrap_or(job.state)))
            }
            _ => self.link.job(id).await,
        }
    }

    /// Answers `reply` once job `id` is final (at once when it is).
    pub(super) async fn wait(&self, id: u64, reply: Reply<Job>) {
        self.waiters
            .lock()
            .expect("waiters")
            .entry(id)
            .or_default()
            .push(reply);
        // After registering: a final event from now on answers it too.
        match self.link.job(id).await {
            Ok(job) if !job.state.is_final() => {}
            result => self.answer_waiters(id, result),
        }
    }

    /// Answers everyone waiting for job `id` with `result`.
    pub(super) fn answer_waiters(&self, id: u64, result: Result<Job, EngineError>) {
        let waiting = self.waiters.lock().expect("waiters").remove(&id);
        for reply in waiting.unwrap_or_default() {
            let copy = match &result {
                Ok(job) => Ok(job.clone()),
                Err(e) => Err(copy_error(e)),
            };
            let _ = reply.send(copy);
        }
    }

    pub(super) async fn pause(
        &self,
        group: Option<String>,
        pause: bool,
    ) -> Result<Vec<Group>, EngineError> {
        let answer: Vec<String> = self
            .link
            .run(&self.link.scripts.groups, |s| {
                s.arg("pause").arg(if pause { "1" } else { "0" });
                if let Some(group) = &group {
                    s.arg(group);
                }
            })
            .await?;
        match answer.split_first() {
            Some((status, groups)) if status == "ok" => {
                groups.iter().map(|g| link::decode_group(g)).collect()
            }
            _ => Err(EngineError::NotFound(format!(
                "no group {:?}",
                answer.get(1).cloned().unwrap_or_default()
            ))),
        }
    }

    pub(super) async fn clean(&self, filter: CleanFilter) -> Result<Vec<u64>, EngineError> {
        let now = now_ms();
        let ids: Vec<u64> = self
            .link
            .jobs()
            .await?
            .iter()
            .filter(|j| filter.selects(j, now))
            .map(|j| j.id)
            .collect();
        if ids.is_empty() {
            return Ok(ids);
        }
        let removed: Vec<u64> = self
            .link
            .run(&self.link.scripts.forget, |s| {
                s.arg(&ids);
            })
            .await?;
        self.remove_dirs(&removed);
        Ok(removed)
    }

    /// Removes this host's logs of jobs that are gone from the queue.
    pub(super) fn remove_dirs(&self, ids: &[u64]) {
        for id in ids {
            self.trash.discard(&self.home.job_dir(*id));
        }
    }

    /// Creates or resizes a group (`only_if_missing`: creates it only).
    pub(super) async fn put_group(
        &self,
        group: &Group,
        only_if_missing: bool,
    ) -> Result<Group, EngineError> {
        check_group_spec(group)?;
        let raw: String = self
            .link
            .run(&self.link.scripts.groups, |s| {
                s.arg("put")
                    .arg(&group.name)
                    .arg(group.parallel)
                    .arg(if only_if_missing { "1" } else { "0" });
            })
            .await?;
        link::decode_group(&raw)
    }

    /// The `default` group and `[queue.group.*]` (made once, when Redis first answers).
    pub(super) async fn ensure_groups(&self) -> Result<(), EngineError> {
        self.groups_made
            .get_or_try_init(|| self.make_groups())
            .await
            .map(|_| ())
    }

    pub(super) async fn make_groups(&self) -> Result<(), EngineError> {
        let default = Group {
            name: DEFAULT_GROUP.to_owned(),
            parallel: self.config.default_parallel.max(1),
            paused: false,
        };
        self.put_group(&default, true).await?;
        for (name, parallel) in &self.config.groups {
            let group = Group {
                name: name.clone(),
                parallel: *parallel,
                paused: false,
            };
            self.put_group(&group, false).await?;
        }
        Ok(())
    }
}

/// The same refusal for another waiter (an engine error is not `Clone`: it may carry the
/// core's error, which a queue request never does).
fn copy_error(e: &EngineError) -> EngineError {
    match e {
        EngineError::Invalid(m) => EngineError::Invalid(m.clone()),
        EngineError::NotFound(m) => EngineError::NotFound(m.clone()),
        EngineError::Refused(m) => EngineError::Refused(m.clone()),
        EngineError::Unavailable(m) => EngineError::Unavailable(m.clone()),
        other => EngineError::Internal(other.to_string()),
    }
}
