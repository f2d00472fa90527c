//! A job's lifecycle: `queued → delayed → running → completed | failed | cancelled`, with
//! the legal moves in one table ([`JobState::can_transition_to`]).
//!
//! | from      | to                                   | why                                        |
//! |-----------|--------------------------------------|--------------------------------------------|
//! | queued    | running, failed, cancelled, delayed  | started; a dependency failed; cancelled; re-delayed on restore |
//! | delayed   | queued, cancelled, failed            | its time came; cancelled; a dependency failed |
//! | running   | completed, failed, delayed, cancelled| exit 0; out of attempts; retry after back-off; cancelled |
//! | failed    | queued                               | `queue retry`                              |
//! | cancelled | queued                               | `queue retry`                              |
//! | completed | —                                    | final                                      |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a job is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a free slot in its group (and for its dependencies).
    Queued,
    /// Waiting for its start time: a `--delay`/`--at`, or the back-off before a retry.
    Delayed,
    /// Its process runs.
    Running,
    /// Exited 0.
    Completed,
    /// Out of attempts, or a dependency failed.
    Failed,
    /// Cancelled by a caller (a running job's process tree was ended).
    Cancelled,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Delayed,
        JobState::Running,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// Lower-case name, as shown and serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Delayed => "delayed",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Whether the job is done (nothing more happens unless it is retried).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Failed | JobState::Cancelled
        )
    }

    /// Whether `self -> next` is in the transition table.
    pub fn can_transition_to(self, next: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, next),
            (Queued, Running | Failed | Cancelled | Delayed)
                | (Delayed, Queued | Cancelled | Failed)
                | (Running, Completed | Failed | Delayed | Cancelled)
                | (Failed | Cancelled, Queued)
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state name that is not one of [`JobState::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job state {0:?}: use queued, delayed, running, completed, failed or cancelled")]
pub struct ParseJobStateError(pub String);

impl FromStr for JobState {
    type Err = ParseJobStateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseJobStateError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::JobState::{self, *};

    #[test]
    fn completed_is_final_and_only_failed_or_cancelled_jobs_are_retried() {
        for next in JobState::ALL {
            assert!(!Completed.can_transition_to(next), "completed -> {next}");
        }
        assert!(Failed.can_transition_to(Queued));
        assert!(Cancelled.can_transition_to(Queued));
        assert!(!Failed.can_transition_to(Running));
        assert!(
            !Queued.can_transition_to(Completed),
            "a job must run to complete"
        );
        assert!(
            !Delayed.can_transition_to(Running),
            "a delayed job queues first"
        );
    }

    #[test]
    fn names_round_trip() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>().unwrap(), state);
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{state}\"")
            );
        }
        assert!("done".parse::<JobState>().is_err());
    }
}
