//! The lifecycle of a managed process and the restart policy that drives it.
//!
//! [`State`] only moves along the legal transitions below, so no interface can, say,
//! pause a stopped process or mark a running one stopped without stopping it:
//!
//! | from \ to  | pending | starting | running | paused | stopping | stopped | failed |
//! |------------|:-------:|:--------:|:-------:|:------:|:--------:|:-------:|:------:|
//! | pending    |         |    ✓     |         |        |          |    ✓    |   ✓    |
//! | starting   |    ✓    |          |    ✓    |        |    ✓     |    ✓    |   ✓    |
//! | running    |    ✓    |    ✓     |         |   ✓    |    ✓     |    ✓    |   ✓    |
//! | paused     |    ✓    |          |    ✓    |        |    ✓     |    ✓    |   ✓    |
//! | stopping   |         |          |         |        |          |    ✓    |   ✓    |
//! | stopped    |    ✓    |    ✓     |         |        |          |         |        |
//! | failed     |    ✓    |    ✓     |         |        |          |    ✓    |        |
//!
//! * `pending`: waiting to start: for the backoff delay after an exit, or for its
//!   `depends_on` processes. It leaves to `starting`, to `stopped` (the user stopped it) or
//!   to `failed` (a dependency failed, so it never will start).
//! * `starting`: spawned, not yet confirmed running (or healthy). It exited at once:
//!   `pending` (restart scheduled), `stopped` (no restart due) or `failed` (spawn error or
//!   gave up); or the user stopped it: `stopping`.
//! * `running` and `paused` (SIGSTOP): on exit `pending`, `stopped` or `failed` as the
//!   restart policy decides; `stopping` when asked to stop; pause and resume between them.
//!   A reload goes from `running` to `starting`: a new run starts while the old one still
//!   serves, and is `running` once started.
//! * `stopping`: the stop signal was sent; it ends `stopped`, or `failed` when even
//!   SIGKILL did not end it.
//! * `stopped` and `failed` are at rest: a start goes to `starting` (or `pending` while
//!   dependencies come up); `failed` may also be cleared to `stopped`.
//!
//! Staying in the same state is not a transition and is refused.
//!
//! [`RestartTracker::on_exit`] decides what happens after an exit: restart after an
//! exponential backoff, stop, or give up after `max_restarts` restarts in a row.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ErrorKind;

mod restart;

pub use restart::{Backoff, Decision, ExitStatus, RestartPolicy, RestartTracker};

/// Lifecycle state of a managed process (see the module documentation for the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting to start (backoff delay or dependencies).
    Pending,
    /// Spawned, not yet confirmed running.
    Starting,
    /// Running.
    Running,
    /// Stopped with SIGSTOP; resumes with SIGCONT.
    Paused,
    /// Stop signal sent, waiting for the exit.
    Stopping,
    /// Not running, and not meant to be until started.
    Stopped,
    /// Not running because it could not be started or kept running.
    Failed,
}

impl State {
    /// Every state, in lifecycle order, for tables and exhaustive tests.
    pub const ALL: [State; 7] = [
        State::Pending,
        State::Starting,
        State::Running,
        State::Paused,
        State::Stopping,
        State::Stopped,
        State::Failed,
    ];

    /// Lower-case name, as shown and serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Starting => "starting",
            State::Running => "running",
            State::Paused => "paused",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
            State::Failed => "failed",
        }
    }

    /// Whether a process exists in this state (it may need stopping or signalling).
    pub fn is_alive(self) -> bool {
        matches!(
            self,
            State::Starting | State::Running | State::Paused | State::Stopping
        )
    }

    /// Whether `self -> next` is in the transition table.
    pub fn can_transition_to(self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Pending, Starting | Stopped | Failed)
                | (Starting, Pending | Running | Stopping | Stopped | Failed)
                | (Running | Paused, Pending | Stopping | Stopped | Failed)
                | (Running, Paused | Starting)
                | (Paused, Running)
                | (Stopping, Stopped | Failed)
                | (Stopped, Pending | Starting)
                | (Failed, Pending | Starting | Stopped)
        )
    }

    /// Moves to `next` if the table allows it; otherwise says which move was refused.
    pub fn transition(self, next: State) -> Result<State, IllegalTransition> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(IllegalTransition {
                from: self,
                to: next,
            })
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = ParseStateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        State::ALL
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| ParseStateError(s.to_owned()))
    }
}

/// A state change the lifecycle table forbids (such as pausing a stopped process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot go from {from} to {to}")]
pub struct IllegalTransition {
    /// The current state.
    pub from: State,
    /// The refused next state.
    pub to: State,
}

impl IllegalTransition {
    /// The class of this error: [`ErrorKind::Refused`] (valid request, wrong moment).
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Refused
    }
}

/// A state name that is not one of the seven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown state {0:?}: expected pending, starting, running, paused, stopping, stopped or failed"
)]
pub struct ParseStateError(pub String);

impl ParseStateError {
    /// The class of this error: [`ErrorKind::InvalidInput`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

#[cfg(test)]
mod tests;
