//! The job queue's model: what a job is ([`JobSpec`], [`Job`], [`Attempt`]), its
//! lifecycle ([`JobState`]), how long to wait before a retry ([`RetryBackoff`]) and
//! concurrency groups ([`Group`]). Pure data and rules, no I/O: the daemon's queue engine
//! stores jobs, runs them under shims and applies these rules.

mod backoff;
mod job;
mod schedule;
mod spec;
mod state;

pub use backoff::{BackoffError, BackoffKind, RetryBackoff};
pub use job::{AfterAttempt, Attempt, Group, Job, MAX_PARALLEL};
pub use schedule::{MAX_EVERY, MIN_EVERY, Schedule, ScheduleSpec, When};
pub use spec::{
    DEFAULT_GROUP, JobSpec, MAX_AFTER, MAX_ATTEMPTS, MAX_DELAY, MAX_PRIORITY, MAX_TIMEOUT,
    MIN_TIMEOUT, parse_label,
};
pub use state::{JobState, ParseJobStateError};
