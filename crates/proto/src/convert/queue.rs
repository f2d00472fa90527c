//! `procward.v1.Queue` messages to and from the core job model. A spec from the wire is
//! converted here (priority sign, delay or start time, back-off text) and then checked by
//! the queue itself with every other rule.

use std::path::PathBuf;
use std::time::Duration;

use procward_core::queue::{
    Attempt, DEFAULT_GROUP, Group, Job, JobSpec, JobState, MAX_PRIORITY, RetryBackoff, Schedule,
    ScheduleSpec, When,
};

use crate::v1;

impl From<JobState> for v1::JobState {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Queued => Self::Queued,
            JobState::Delayed => Self::Delayed,
            JobState::Running => Self::Running,
            JobState::Completed => Self::Completed,
            JobState::Failed => Self::Failed,
            JobState::Cancelled => Self::Cancelled,
        }
    }
}

/// The core state of a wire value; UNSPECIFIED and unknown numbers are refused.
pub fn job_state_from_proto(value: i32) -> Result<JobState, String> {
    match v1::JobState::try_from(value) {
        Ok(v1::JobState::Queued) => Ok(JobState::Queued),
        Ok(v1::JobState::Delayed) => Ok(JobState::Delayed),
        Ok(v1::JobState::Running) => Ok(JobState::Running),
        Ok(v1::JobState::Completed) => Ok(JobState::Completed),
        Ok(v1::JobState::Failed) => Ok(JobState::Failed),
        Ok(v1::JobState::Cancelled) => Ok(JobState::Cancelled),
        _ => Err(format!(
            "state: {value} is not a job state (queued, delayed, running, completed, failed, cancelled)"
        )),
    }
}

impl v1::JobState {
    /// The lower-case name (`running`), as the core state and the JSON spell it.
    pub fn wire_name(self) -> &'static str {
        match job_state_from_proto(self as i32) {
            Ok(state) => state.as_str(),
            Err(_) => "unspecified",
        }
    }
}

/// The wire form of a spec (its start time absolute, never a delay).
pub fn job_spec_to_proto(spec: &JobSpec) -> v1::JobSpec {
    v1::JobSpec {
        command: spec.command.clone(),
        env: spec.env.clone().into_iter().collect(),
        cwd: spec.cwd.as_ref().map(|p| p.display().to_string()),
        group: spec.group.clone(),
        priority: spec.priority as i32,
        delay_ms: None,
        not_before_ms: spec.not_before_ms,
        attempts: Some(spec.attempts),
        backoff: spec.backoff.to_string(),
        timeout_ms: spec.timeout.map(|t| t.as_millis() as u64),
        after: spec.after.clone(),
        after_any: spec.after_any,
        labels: spec.labels.clone().into_iter().collect(),
        limits: crate::convert::limits::limits_to_proto(&spec.limits),
    }
}

/// A spec from the wire, `delay_ms` counted from `now_ms`. Refuses what cannot be
/// represented (a negative priority, both a delay and a start time, a back-off that does
/// not parse); the queue checks the rest.
pub fn job_spec_from_proto(spec: v1::JobSpec, now_ms: u64) -> Result<JobSpec, String> {
    let priority = u32::try_from(spec.priority).map_err(|_| {
        format!(
            "priority: {} is negative; priorities are 0 (the default) to {MAX_PRIORITY}, higher first",
            spec.priority
        )
    })?;
    let not_before_ms = match (spec.delay_ms, spec.not_before_ms) {
        (Some(_), Some(_)) => {
            return Err("delay: give a delay or a start time (not_before_ms), not both".into());
        }
        (Some(delay), None) => Some(now_ms.saturating_add(delay)),
        (None, at) => at,
    };
    let backoff = match spec.backoff.trim() {
        "" => RetryBackoff::default(),
        text => text.parse().map_err(|e| format!("backoff: {e}"))?,
    };
    Ok(JobSpec {
        command: spec.command,
        env: spec.env.into_iter().collect(),
        cwd: spec.cwd.map(PathBuf::from),
        group: match spec.group.trim() {
            "" => DEFAULT_GROUP.to_owned(),
            _ => spec.group,
        },
        priority,
        not_before_ms,
        attempts: spec.attempts.unwrap_or(3),
        backoff,
        timeout: spec.timeout_ms.map(Duration::from_millis),
        after: spec.after,
        after_any: spec.after_any,
        labels: spec.labels.into_iter().collect(),
        limits: crate::convert::limits::limits_from_proto(spec.limits)?,
    })
}

/// The wire form of an attempt.
pub fn attempt_to_proto(a: &Attempt) -> v1::Attempt {
    v1::Attempt {
        number: a.number,
        pid: a.pid,
        started_ms: a.started_ms,
        ended_ms: a.ended_ms,
        exit_code: a.exit_code,
        signal: a.signal,
        timed_out: a.timed_out,
        breach: a.breach.clone().unwrap_or_default(),
    }
}

/// An attempt from the wire.
pub fn attempt_from_proto(a: &v1::Attempt) -> Attempt {
    Attempt {
        number: a.number,
        pid: a.pid,
        started_ms: a.started_ms,
        ended_ms: a.ended_ms,
        exit_code: a.exit_code,
        signal: a.signal,
        timed_out: a.timed_out,
        breach: (!a.breach.is_empty()).then(|| a.breach.clone()),
    }
}

/// The wire form of a job.
pub fn job_to_proto(job: &Job) -> v1::Job {
    v1::Job {
        id: job.id,
        spec: Some(job_spec_to_proto(&job.spec)),
        state: v1::JobState::from(job.state).into(),
        created_ms: job.created_ms,
        run_at_ms: job.run_at_ms,
        attempts: job.attempts.iter().map(attempt_to_proto).collect(),
        reason: job.reason.clone(),
        exit_code: job.state.is_final().then(|| job.exit_code()).flatten(),
        retried_after: job.retried_after,
        limit_status: crate::convert::limits::statuses_to_proto(&job.limit_status),
        limit_breach: job.limit_breach.clone(),
        metrics: None,
        tree: None,
        host: job.host.clone().unwrap_or_default(),
    }
}

/// A job from the wire (what the CLI shows).
pub fn job_from_proto(job: v1::Job) -> Result<Job, String> {
    let spec = job.spec.ok_or("job without a spec")?;
    Ok(Job {
        id: job.id,
        spec: job_spec_from_proto(spec, 0)?,
        state: job_state_from_proto(job.state)?,
        created_ms: job.created_ms,
        run_at_ms: job.run_at_ms,
        attempts: job.attempts.iter().map(attempt_from_proto).collect(),
        reason: job.reason,
        cancel_requested: false,
        retried_after: job.retried_after,
        limit_breach: job.limit_breach,
        stop_by_limit: false,
        limit_status: crate::convert::limits::statuses_from_proto(job.limit_status),
        host: (!job.host.is_empty()).then_some(job.host),
    })
}

/// The wire form of a group.
pub fn group_to_proto(group: &Group) -> v1::QueueGroup {
    v1::QueueGroup {
        name: group.name.clone(),
        parallel: group.parallel,
        paused: group.paused,
    }
}

/// A group from the wire.
pub fn group_from_proto(group: v1::QueueGroup) -> Group {
    Group {
        name: group.name,
        parallel: group.parallel,
        paused: group.paused,
    }
}

/// A schedule request from the wire, checked by the queue afterwards.
pub fn schedule_spec_from_proto(request: v1::AddScheduleRequest) -> Result<ScheduleSpec, String> {
    let when = match request.when {
        Some(v1::add_schedule_request::When::Cron(cron)) => When::Cron(cron),
        Some(v1::add_schedule_request::When::EveryMs(ms)) => When::Every(Duration::from_millis(ms)),
        None => return Err("when: give a cron expression or an interval (every_ms)".into()),
    };
    let job = request.job.ok_or("job: missing")?;
    Ok(ScheduleSpec {
        name: request.name,
        when,
        no_overlap: request.no_overlap,
        catch_up: request.catch_up,
        job: job_spec_from_proto(job, 0)?,
    })
}

/// The wire form of a schedule.
pub fn schedule_to_proto(schedule: &Schedule) -> v1::QueueSchedule {
    let spec = &schedule.spec;
    let (cron, every_ms) = match &spec.when {
        When::Cron(cron) => (cron.clone(), None),
        When::Every(every) => (String::new(), Some(every.as_millis() as u64)),
    };
    v1::QueueSchedule {
        name: spec.name.clone(),
        cron,
        every_ms,
        no_overlap: spec.no_overlap,
        catch_up: spec.catch_up,
        job: Some(job_spec_to_proto(&spec.job)),
        next_ms: schedule.next_ms,
        last_fire_ms: schedule.last_fire_ms,
        last_job: schedule.last_job,
        skipped: schedule.skipped,
    }
}

/// A schedule from the wire (what the CLI shows).
pub fn schedule_from_proto(schedule: v1::QueueSchedule) -> Result<Schedule, String> {
    let when = match schedule.every_ms {
        Some(ms) => When::Every(Duration::from_millis(ms)),
        None => When::Cron(schedule.cron),
    };
    Ok(Schedule {
        spec: ScheduleSpec {
            name: schedule.name,
            when,
            no_overlap: schedule.no_overlap,
            catch_up: schedule.catch_up,
            job: job_spec_from_proto(schedule.job.ok_or("schedule without a job")?, 0)?,
        },
        next_ms: schedule.next_ms,
        last_fire_ms: schedule.last_fire_ms,
        last_job: schedule.last_job,
        skipped: schedule.skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_through_the_wire() {
        let mut spec = JobSpec::new(vec!["echo".into(), "hi".into()]);
        spec.priority = 7;
        spec.timeout = Some(Duration::from_secs(3));
        spec.not_before_ms = Some(99);
        spec.backoff = "fixed:5s".parse().unwrap();
        let job = Job::new(3, spec, 1);
        assert_eq!(job_from_proto(job_to_proto(&job)).unwrap(), job);
    }

    #[test]
    fn a_negative_priority_or_a_double_start_is_refused() {
        let mut wire = job_spec_to_proto(&JobSpec::new(vec!["true".into()]));
        wire.priority = -1;
        assert!(
            job_spec_from_proto(wire.clone(), 0)
                .unwrap_err()
                .starts_with("priority")
        );
        wire.priority = 0;
        wire.delay_ms = Some(10);
        wire.not_before_ms = Some(10);
        assert!(
            job_spec_from_proto(wire.clone(), 0)
                .unwrap_err()
                .starts_with("delay")
        );
        wire.not_before_ms = None;
        assert_eq!(
            job_spec_from_proto(wire.clone(), 5).unwrap().not_before_ms,
            Some(15)
        );
        wire.backoff = "linear".into();
        assert!(
            job_spec_from_proto(wire, 0)
                .unwrap_err()
                .starts_with("backoff")
        );
        assert!(job_state_from_proto(0).is_err());
    }
}
