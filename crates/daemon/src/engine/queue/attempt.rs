//! What both backends (embedded and Redis) share about an attempt: how it is launched,
//! the exit code of one that could not start, and the job's state after it ends, so a
//! job reads the same whichever backend ran it.

use procward_core::cgroup::Unit;
use procward_core::queue::{AfterAttempt, JobState};
use procward_core::supervisor::shim::LaunchSpec;
use procward_core::supervisor::spec::LogLimits;

use super::actor::now_ms;

/// The exit code recorded for an attempt whose program could not be started, as a shell
/// reports a command it cannot run.
pub(super) const NOT_STARTED: i32 = 127;

/// How attempt `number` of job `id` is launched: its logs and exit record in `dir`, the
/// job's environment over the daemon's with `PROCWARD_JOB_ID` and
/// `PROCWARD_JOB_ATTEMPT`. Shared by both backends.
pub(super) fn launch_spec(
    dir: &std::path::Path,
    id: u64,
    number: u32,
    spec: &procward_core::queue::JobSpec,
    unit: Option<Unit>,
) -> LaunchSpec {
    // No folder is made here: the shim makes it with the first file it writes.
    // Additions only: the shim starts from the daemon's environment (`inherit_env`).
    let mut env = spec.env.clone();
    env.insert("PROCWARD_JOB_ID".into(), id.to_string());
    env.insert("PROCWARD_JOB_ATTEMPT".into(), number.to_string());
    let limits = LogLimits::default();
    LaunchSpec {
        argv: spec.command.clone(),
        env,
        cwd: spec.cwd.clone(),
        stdout_log: dir.join("stdout.log"),
        stderr_log: dir.join("stderr.log"),
        max_bytes: limits.max_bytes,
        max_files: limits.max_files,
        timestamps: false,
        status_file: dir.join("status.json"),
        cgroup: unit,
        hand_over_exit: false,
        // Neither backend reads a job's log state.
        no_log_state: true,
        lazy_logs: false,
        inherit_env: true,
    }
}

/// What follows an attempt's end (`decision`, from [`procward_core::queue::Job::finish_attempt`]):
/// the job's next state, its reason and, for a retry, when it may start. Shared by both
/// backends so a job reads the same whichever ran it.
pub(super) fn next_state(
    job: &procward_core::queue::Job,
    decision: AfterAttempt,
) -> (JobState, String, Option<u64>) {
    let last = job.last_attempt();
    match decision {
        AfterAttempt::Completed => (JobState::Completed, String::new(), None),
        AfterAttempt::Final(state) => {
            let reason = match (last, job.reason.is_empty()) {
                (_, false) => job.reason.clone(),
                (Some(a), true) if state == JobState::Failed => {
                    let n = a.number.saturating_sub(job.retried_after);
                    format!("attempt {n} of {}: {}", job.spec.attempts, a.outcome())
                }
                _ => state.to_string(),
            };
            (state, reason, None)
        }
        AfterAttempt::Retry(wait) => {
            let reason = last.map_or_else(String::new, |a| {
                let n = a.number.saturating_sub(job.retried_after);
                format!("attempt {n} {}; retrying", a.outcome())
            });
            (
                JobState::Delayed,
                reason,
                Some(now_ms() + wait.as_millis() as u64),
            )
        }
    }
}
