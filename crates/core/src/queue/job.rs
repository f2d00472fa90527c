//! A job as the queue keeps it: its spec, state and every attempt, with the pure rules
//! for what follows an attempt's end ([`Job::finish_attempt`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::spec::JobSpec;
use super::state::JobState;

/// One run of a job's command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first run.
    pub number: u32,
    /// The process (leader of its own process group).
    pub pid: u32,
    /// Unix milliseconds when it started.
    pub started_ms: u64,
    /// Unix milliseconds when it ended; `None` while it runs.
    #[serde(default)]
    pub ended_ms: Option<u64>,
    /// Exit code, when it exited normally.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Signal number, when a signal ended it.
    #[serde(default)]
    pub signal: Option<i32>,
    /// Whether the queue ended it for running past its timeout.
    #[serde(default)]
    pub timed_out: bool,
    /// The limit (`memory_max`, `pids_max`...) whose breach ended it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach: Option<String>,
}

impl Attempt {
    /// Attempt `number`, whose process `pid` (0: none) started at `started_ms`.
    pub fn started(number: u32, pid: u32, started_ms: u64) -> Self {
        Self {
            number,
            pid,
            started_ms,
            ended_ms: None,
            exit_code: None,
            signal: None,
            timed_out: false,
            breach: None,
        }
    }

    /// Whether the attempt succeeded (exit 0, not ended by a timeout).
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// How it ended, in words: `exit 0`, `exit 3`, `signal 15`, `timed out`, `over its
    /// memory_max (signal 9)`.
    pub fn outcome(&self) -> String {
        if let Some(limit) = self.breach.as_ref().filter(|_| !self.timed_out) {
            let how = match (self.exit_code, self.signal) {
                (Some(code), _) => format!(" (exit {code})"),
                (None, Some(signal)) => format!(" (signal {signal})"),
                (None, None) => String::new(),
            };
            return format!("over its {limit}{how}");
        }
        match (self.timed_out, self.exit_code, self.signal) {
            (true, ..) => "timed out".to_owned(),
            (_, Some(code), _) => format!("exit {code}"),
            (_, None, Some(signal)) => format!("signal {signal}"),
            (_, None, None) if self.ended_ms.is_none() => "running".to_owned(),
            _ => "unknown".to_owned(),
        }
    }
}

/// A job and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Assigned by the queue, increasing from 1; never reused.
    pub id: u64,
    /// What to run, as added.
    pub spec: JobSpec,
    /// Where it is.
    pub state: JobState,
    /// Unix milliseconds when it was added.
    pub created_ms: u64,
    /// While delayed: when it may start (Unix milliseconds).
    #[serde(default)]
    pub run_at_ms: Option<u64>,
    /// Every attempt so far, oldest first.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// Why it is in its state, when that needs saying (`dependency 4 failed`, ...).
    #[serde(default)]
    pub reason: String,
    /// A cancel was asked while it ran: it ends as cancelled whatever its exit.
    #[serde(default)]
    pub cancel_requested: bool,
    /// Attempts made before the last `queue retry`: a retried job gets its full number
    /// of attempts again, and its history is kept.
    #[serde(default)]
    pub retried_after: u32,
    /// The last limit breach of any attempt, in words (empty: none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub limit_breach: String,
    /// A breach with `on_breach = stop` ended the running attempt: no attempt follows.
    #[serde(default)]
    pub stop_by_limit: bool,
    /// How each of `spec.limits` is enforced on this machine; filled in by the queue from
    /// the daemon's capability whenever it loads or adds the job.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limit_status: Vec<crate::supervisor::view::LimitStatus>,
    /// With a queue shared on Redis: the host (daemon) running the job, or that ran it
    /// last; `None` on the embedded queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// What follows the end of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    /// Done: exit 0.
    Completed,
    /// Run again after this wait.
    Retry(Duration),
    /// No attempts left (or cancelled): the job stays in this final state.
    Final(JobState),
}

impl Job {
    /// A new job: `delayed` when it has a start time still ahead, else `queued`.
    pub fn new(id: u64, spec: JobSpec, now_ms: u64) -> Self {
        let run_at_ms = spec.not_before_ms.filter(|&at| at > now_ms);
        Self {
            id,
            state: if run_at_ms.is_some() {
                JobState::Delayed
            } else {
                JobState::Queued
            },
            spec,
            created_ms: now_ms,
            run_at_ms,
            attempts: Vec::new(),
            reason: String::new(),
            cancel_requested: false,
            retried_after: 0,
            limit_breach: String::new(),
            stop_by_limit: false,
            limit_status: Vec::new(),
            host: None,
        }
    }

    /// The attempt running now or the last one.
    pub fn last_attempt(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    /// The pid of the attempt running now; `None` unless the job is running.
    pub fn running_pid(&self) -> Option<u32> {
        let last = self.last_attempt()?;
        (self.state == JobState::Running && last.ended_ms.is_none()).then_some(last.pid)
    }

    /// The exit code of the job: its last attempt's, or 128 + signal, as a shell reports
    /// it; `None` until it has ended.
    pub fn exit_code(&self) -> Option<i32> {
        let last = self.last_attempt()?;
        last.ended_ms?;
        last.exit_code.or(last.signal.map(|s| 128 + s)).or(Some(1))
    }

    /// Records how the running attempt ended and decides what comes next: completed on a
    /// success, cancelled when a cancel was asked, a retry after the back-off while
    /// attempts remain, else failed. `random` in `[0, 1)` feeds the back-off's jitter.
    pub fn finish_attempt(
        &mut self,
        ended_ms: u64,
        exit_code: Option<i32>,
        signal: Option<i32>,
        random: f64,
    ) -> AfterAttempt {
        let Some(attempt) = self.attempts.last_mut() else {
            return AfterAttempt::Final(JobState::Failed);
        };
        attempt.ended_ms = Some(ended_ms);
        attempt.exit_code = exit_code;
        attempt.signal = signal;
        let number = attempt.number.saturating_sub(self.retried_after);
        if self.cancel_requested {
            return AfterAttempt::Final(JobState::Cancelled);
        }
        if attempt.succeeded() {
            return AfterAttempt::Completed;
        }
        if self.stop_by_limit {
            return AfterAttempt::Final(JobState::Failed);
        }
        if number < self.spec.attempts {
            AfterAttempt::Retry(self.spec.backoff.delay(number, random))
        } else {
            AfterAttempt::Final(JobState::Failed)
        }
    }
}

/// A concurrency group: at most `parallel` of its jobs run at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Its name (`default` always exists).
    pub name: String,
    /// Most jobs of the group running at once (`1..=1024`).
    pub parallel: u32,
    /// A paused group starts no new jobs; running ones go on.
    #[serde(default)]
    pub paused: bool,
}

/// Largest `parallel` of a group.
pub const MAX_PARALLEL: u32 = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::RetryBackoff;

    fn running(attempts: u32) -> Job {
        let mut spec = JobSpec::new(vec!["false".into()]);
        spec.attempts = attempts;
        spec.backoff = "exponential:100ms:1s".parse::<RetryBackoff>().unwrap();
        let mut job = Job::new(1, spec, 0);
        job.state = JobState::Running;
        job
    }

    fn start(job: &mut Job) {
        let number = job.attempts.len() as u32 + 1;
        job.attempts.push(Attempt::started(number, 1, 0));
    }

    #[test]
    fn failures_retry_with_growing_waits_until_attempts_run_out() {
        let mut job = running(3);
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            start(&mut job);
            outcomes.push(job.finish_attempt(10, Some(1), None, 0.0));
        }
        assert_eq!(
            outcomes,
            [
                AfterAttempt::Retry(Duration::from_millis(100)),
                AfterAttempt::Retry(Duration::from_millis(200)),
                AfterAttempt::Final(JobState::Failed),
            ]
        );
        assert_eq!(job.exit_code(), Some(1));
    }

    #[test]
    fn success_completes_and_a_cancel_wins_over_the_exit() {
        let mut job = running(3);
        start(&mut job);
        assert_eq!(
            job.finish_attempt(5, Some(0), None, 0.0),
            AfterAttempt::Completed
        );
        let mut job = running(3);
        start(&mut job);
        job.cancel_requested = true;
        assert_eq!(
            job.finish_attempt(5, None, Some(15), 0.0),
            AfterAttempt::Final(JobState::Cancelled)
        );
        assert_eq!(job.exit_code(), Some(143));
    }

    #[test]
    fn a_timed_out_attempt_is_a_failure_even_with_exit_zero() {
        let mut job = running(1);
        start(&mut job);
        job.attempts[0].timed_out = true;
        assert_eq!(
            job.finish_attempt(5, Some(0), None, 0.0),
            AfterAttempt::Final(JobState::Failed)
        );
        assert_eq!(job.attempts[0].outcome(), "timed out");
    }

    #[test]
    fn a_breach_with_stop_fails_the_job_and_one_with_restart_retries() {
        let mut job = running(3);
        start(&mut job);
        job.attempts[0].breach = Some("memory_max".into());
        assert_eq!(
            job.finish_attempt(5, None, Some(9), 0.0),
            AfterAttempt::Retry(Duration::from_millis(100))
        );
        assert_eq!(job.attempts[0].outcome(), "over its memory_max (signal 9)");
        start(&mut job);
        job.attempts[1].breach = Some("memory_max".into());
        job.stop_by_limit = true;
        assert_eq!(
            job.finish_attempt(5, None, Some(9), 0.0),
            AfterAttempt::Final(JobState::Failed)
        );
    }

    #[test]
    fn a_job_with_a_future_start_is_delayed() {
        let mut spec = JobSpec::new(vec!["true".into()]);
        spec.not_before_ms = Some(5_000);
        assert_eq!(Job::new(1, spec.clone(), 1_000).state, JobState::Delayed);
        assert_eq!(Job::new(1, spec, 6_000).state, JobState::Queued);
    }
}
