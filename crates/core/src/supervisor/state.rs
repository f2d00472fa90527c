//! The lifecycle of a managed process and the restart policy that drives it.
//!
//! [`State`] only moves along the legal transitions below, so no interface can, say,
//! pause a stopped process or mark a running one stopped without stopping it:
//!
//! | from \ to  | pending | starting | running | paused | stopping | stopped | failed |
//! |------------|:-------:|:--------:|:-------:|:------:|:--------:|:-------:|:------:|
//! | pending    |         |    ✓     |         |        |          |    ✓    |   ✓    |
//! | starting   |    ✓    |          |    ✓    |        |    ✓     |    ✓    |   ✓    |
//! | running    |    ✓    |          |         |   ✓    |    ✓     |    ✓    |   ✓    |
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
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::spec::{ProcessSpec, SpecError, duration_ms, format_duration, invalid};
use crate::ErrorKind;

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
                | (Running, Paused)
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

/// When a process is restarted after it exits on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// After every exit (the default, as for a service).
    #[default]
    Always,
    /// Only after a non-zero exit code or a signal.
    OnFailure,
    /// Never.
    Never,
}

impl RestartPolicy {
    /// The name as typed and serialized: `always`, `on-failure` or `never`.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::Always => "always",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Never => "never",
        }
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RestartPolicy {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "always" => Ok(RestartPolicy::Always),
            "on-failure" => Ok(RestartPolicy::OnFailure),
            "never" => Ok(RestartPolicy::Never),
            _ => Err(invalid(
                "restart",
                format!("unknown restart policy {s:?}: use always, on-failure or never"),
            )),
        }
    }
}

/// Exponential backoff between automatic restarts: `base * 2^n`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    /// Delay before the first restart in a row (greater than zero).
    #[serde(with = "duration_ms")]
    pub base: Duration,
    /// Longest delay (at least `base`).
    #[serde(with = "duration_ms")]
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// Checks `base > 0` (a zero delay would let a crashing process spin) and `max >= base`.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.base.is_zero() {
            return Err(invalid(
                "backoff",
                "the base delay must be greater than zero, or a crashing process would spin",
            ));
        }
        if self.max < self.base {
            return Err(invalid(
                "backoff",
                format!(
                    "the maximum ({}) is below the base ({})",
                    format_duration(self.max),
                    format_duration(self.base)
                ),
            ));
        }
        Ok(())
    }

    /// The delay before restart number `n` in a row (0-based): `min(base * 2^n, max)`,
    /// without overflow for any `n`.
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u128.checked_shl(n).unwrap_or(u128::MAX);
        let nanos = self.base.as_nanos().saturating_mul(factor);
        if nanos >= self.max.as_nanos() {
            self.max
        } else {
            Duration::new(
                (nanos / 1_000_000_000) as u64,
                (nanos % 1_000_000_000) as u32,
            )
        }
    }
}

impl FromStr for Backoff {
    type Err = SpecError;

    /// Parses `BASE:MAX` such as `1s:30s`, `500ms:1m` or `2:60` (bare numbers are seconds).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: String| {
            invalid(
                "backoff",
                format!("{s:?}: {why}; use BASE:MAX such as 1s:30s"),
            )
        };
        let (base, max) = s
            .split_once(':')
            .ok_or_else(|| bad("expected two durations separated by ':'".into()))?;
        let parse = |part: &str, which: &str| {
            super::spec::parse_duration_reason(part).map_err(|e| bad(format!("{which}: {e}")))
        };
        let backoff = Backoff {
            base: parse(base, "base")?,
            max: parse(max, "max")?,
        };
        backoff.validate().map(|()| backoff)
    }
}

impl fmt::Display for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            format_duration(self.base),
            format_duration(self.max)
        )
    }
}

/// How a process ended: an exit code, a signal, or neither when unknown (a re-adopted
/// process that is no longer the daemon's child).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExitStatus {
    /// Exit code, when it exited normally.
    pub code: Option<i32>,
    /// Signal number, when a signal ended it.
    pub signal: Option<i32>,
}

impl ExitStatus {
    /// A normal exit with `code`.
    pub fn exited(code: i32) -> Self {
        Self {
            code: Some(code),
            signal: None,
        }
    }

    /// Death by signal number `signal`.
    pub fn killed(signal: i32) -> Self {
        Self {
            code: None,
            signal: Some(signal),
        }
    }

    /// Whether it exited with code 0; a signal or an unknown status is a failure.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl From<std::process::ExitStatus> for ExitStatus {
    fn from(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt as _;
        Self {
            code: status.code(),
            signal: status.signal(),
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exited with code {code}"),
            (None, Some(sig)) => match sig.to_string().parse::<crate::Signal>() {
                Ok(name) => write!(f, "was killed by signal {sig} ({name})"),
                Err(_) => write!(f, "was killed by signal {sig}"),
            },
            (None, None) => f.write_str("exited with an unknown status"),
        }
    }
}

/// What the daemon does after an exit it did not ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start again after this delay (state `pending` meanwhile).
    Restart {
        /// The backoff delay.
        after: Duration,
    },
    /// Do not restart, as the policy says (state `stopped`).
    Stop {
        /// Why, for `status`.
        reason: String,
    },
    /// Too many restarts in a row: stop trying (state `failed`).
    GiveUp {
        /// Why, for `status`.
        reason: String,
    },
}

/// Restart counters of one process; the daemon persists it with the spec so a restarted
/// daemon keeps applying the policy where it left off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartTracker {
    /// Automatic restarts over the process's lifetime (shown by `list`).
    pub restarts: u32,
    /// Restarts in a row without a run lasting `stable_after`; it sets the backoff delay
    /// and is what `max_restarts` limits. Clean exits count too, so a command that exits
    /// 0 at once under `always` backs off instead of spinning.
    pub consecutive_failures: u32,
}

impl RestartTracker {
    /// Applies `spec`'s policy to an exit after `uptime`: `never` (and `on-failure` after
    /// success) stops; a stable run resets the count; past `max_restarts` in a row gives
    /// up; otherwise restarts after `backoff.delay(consecutive_failures)` and counts it.
    pub fn on_exit(&mut self, spec: &ProcessSpec, exit: ExitStatus, uptime: Duration) -> Decision {
        match spec.restart {
            RestartPolicy::Never => {
                return Decision::Stop {
                    reason: format!("{exit}; restart policy is never"),
                };
            }
            RestartPolicy::OnFailure if exit.success() => {
                return Decision::Stop {
                    reason: format!("{exit}; restart policy is on-failure"),
                };
            }
            _ => {}
        }
        if uptime >= spec.stable_after {
            self.consecutive_failures = 0;
        }
        match spec.max_restarts {
            Some(max) if self.consecutive_failures >= max => {
                return Decision::GiveUp {
                    reason: format!("{exit} and reached max_restarts ({max})"),
                };
            }
            _ => {}
        }
        let after = spec.backoff.delay(self.consecutive_failures);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.restarts = self.restarts.saturating_add(1);
        Decision::Restart { after }
    }

    /// Forgets the failures in a row, for a start or restart the user asked for, so a
    /// process that gave up gets its full allowance again. `restarts` is kept: it counts
    /// the process's whole life.
    pub fn reset(&mut self) {
        self.consecutive_failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    /// The table from the module documentation, written out independently of
    /// `can_transition_to`.
    const LEGAL: [(State, &[State]); 7] = [
        (Pending, &[Starting, Stopped, Failed]),
        (Starting, &[Pending, Running, Stopping, Stopped, Failed]),
        (Running, &[Pending, Paused, Stopping, Stopped, Failed]),
        (Paused, &[Pending, Running, Stopping, Stopped, Failed]),
        (Stopping, &[Stopped, Failed]),
        (Stopped, &[Pending, Starting]),
        (Failed, &[Pending, Starting, Stopped]),
    ];

    #[test]
    fn all_49_pairs_follow_the_table() {
        let mut legal = 0;
        for (from, allowed) in LEGAL {
            for to in State::ALL {
                let expected = allowed.contains(&to);
                assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
                match from.transition(to) {
                    Ok(next) => assert!(expected && next == to, "{from} -> {to}"),
                    Err(e) => {
                        assert!(!expected, "{from} -> {to}");
                        assert_eq!(e, IllegalTransition { from, to });
                        assert_eq!(e.to_string(), format!("cannot go from {from} to {to}"));
                        assert_eq!(e.kind(), ErrorKind::Refused);
                    }
                }
                legal += usize::from(expected);
            }
        }
        assert_eq!(legal, 25);
        assert_eq!(
            Stopped.transition(Paused).unwrap_err().to_string(),
            "cannot go from stopped to paused"
        );
    }

    #[test]
    fn documented_table_matches() {
        let doc = include_str!("state.rs");
        for (from, _) in LEGAL {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("//! | {:<10} |", from.as_str())))
                .unwrap();
            let marks: Vec<bool> = row
                .split('|')
                .skip(2)
                .take(7)
                .map(|c| c.contains('✓'))
                .collect();
            let actual: Vec<bool> = State::ALL
                .iter()
                .map(|&to| from.can_transition_to(to))
                .collect();
            assert_eq!(marks, actual, "row {from}");
        }
    }

    #[test]
    fn names_parse_and_serialize() {
        for state in State::ALL {
            assert_eq!(state.to_string().parse::<State>().unwrap(), state);
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{state}\"")
            );
        }
        assert_eq!(" RUNNING ".parse::<State>().unwrap(), Running);
        let e = "done".parse::<State>().unwrap_err();
        assert!(e.to_string().contains("expected pending, starting"), "{e}");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(
            Running.is_alive() && Stopping.is_alive() && !Pending.is_alive() && !Failed.is_alive()
        );
    }

    #[test]
    fn restart_policies() {
        for (text, policy) in [
            ("always", RestartPolicy::Always),
            ("On-Failure", RestartPolicy::OnFailure),
            ("on_failure", RestartPolicy::OnFailure),
            ("never", RestartPolicy::Never),
        ] {
            assert_eq!(text.parse::<RestartPolicy>().unwrap(), policy);
        }
        let e = "sometimes"
            .parse::<RestartPolicy>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("use always, on-failure or never"), "{e}");
        assert_eq!(
            serde_json::to_string(&RestartPolicy::OnFailure).unwrap(),
            "\"on-failure\""
        );
        assert_eq!(RestartPolicy::default(), RestartPolicy::Always);
    }

    #[test]
    fn backoff_strings() {
        let secs = |b: u64, m: u64| Backoff {
            base: Duration::from_secs(b),
            max: Duration::from_secs(m),
        };
        assert_eq!("1s:30s".parse::<Backoff>().unwrap(), secs(1, 30));
        assert_eq!("2:60".parse::<Backoff>().unwrap(), secs(2, 60));
        assert_eq!("5s:5s".parse::<Backoff>().unwrap(), secs(5, 5));
        let ms = "500ms:1m".parse::<Backoff>().unwrap();
        assert_eq!(
            (ms.base, ms.max),
            (Duration::from_millis(500), Duration::from_secs(60))
        );
        assert_eq!(ms.to_string(), "500ms:1m");
        for (bad, why) in [
            ("0:10s", "greater than zero"),
            ("10s:1s", "below the base"),
            ("-1s:10s", "negative"),
            ("1s:-10s", "negative"),
            ("1s", "separated by ':'"),
            ("", "separated by ':'"),
            ("a:b", "base"),
            ("1s:30s:1m", "max"),
            (":5s", "empty"),
        ] {
            let e = bad.parse::<Backoff>().unwrap_err().to_string();
            assert!(
                e.contains(why) && e.starts_with("invalid backoff"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_without_overflow() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        let delays: Vec<u64> = (0..8).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        for n in [63, 64, 127, 128, 1000, u32::MAX] {
            assert_eq!(b.delay(n), b.max, "{n}");
        }
        let huge = Backoff {
            base: Duration::MAX,
            max: Duration::MAX,
        };
        assert_eq!(huge.delay(u32::MAX), Duration::MAX);
    }

    #[test]
    fn exit_statuses() {
        assert!(ExitStatus::exited(0).success());
        assert!(!ExitStatus::exited(1).success() && !ExitStatus::killed(9).success());
        assert!(!ExitStatus::default().success());
        assert_eq!(ExitStatus::exited(3).to_string(), "exited with code 3");
        assert_eq!(
            ExitStatus::killed(9).to_string(),
            "was killed by signal 9 (SIGKILL)"
        );
        assert_eq!(
            ExitStatus::killed(99).to_string(),
            "was killed by signal 99"
        );
        assert_eq!(
            ExitStatus::default().to_string(),
            "exited with an unknown status"
        );
        let status = std::process::Command::new("sh")
            .args(["-c", "exit 7"])
            .status()
            .unwrap();
        assert_eq!(ExitStatus::from(status), ExitStatus::exited(7));
    }

    fn spec(policy: RestartPolicy, max: Option<u32>) -> ProcessSpec {
        let mut spec = ProcessSpec::new("p", vec!["true".into()]);
        spec.restart = policy;
        spec.max_restarts = max;
        spec
    }

    const INSTANT: Duration = Duration::ZERO;

    #[test]
    fn policies_decide_whether_to_restart() {
        let mut t = RestartTracker::default();
        let never = spec(RestartPolicy::Never, None);
        let stop = t.on_exit(&never, ExitStatus::exited(1), INSTANT);
        assert_eq!(
            stop,
            Decision::Stop {
                reason: "exited with code 1; restart policy is never".into()
            }
        );
        let on_failure = spec(RestartPolicy::OnFailure, None);
        let stop = t.on_exit(&on_failure, ExitStatus::exited(0), INSTANT);
        assert_eq!(
            stop,
            Decision::Stop {
                reason: "exited with code 0; restart policy is on-failure".into()
            }
        );
        assert_eq!(t, RestartTracker::default(), "stops count nothing");
        assert_eq!(
            t.on_exit(&on_failure, ExitStatus::killed(9), INSTANT),
            Decision::Restart {
                after: Duration::from_secs(1)
            }
        );
        let always = spec(RestartPolicy::Always, None);
        assert_eq!(
            t.on_exit(&always, ExitStatus::exited(0), INSTANT),
            Decision::Restart {
                after: Duration::from_secs(2)
            }
        );
        assert_eq!(
            t,
            RestartTracker {
                restarts: 2,
                consecutive_failures: 2
            }
        );
    }

    #[test]
    fn instant_exits_back_off_up_to_the_cap() {
        let mut t = RestartTracker::default();
        let always = spec(RestartPolicy::Always, None);
        let delays: Vec<u64> = (0..10)
            .map(
                |_| match t.on_exit(&always, ExitStatus::exited(0), INSTANT) {
                    Decision::Restart { after } => after.as_secs(),
                    other => panic!("{other:?}"),
                },
            )
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        t.consecutive_failures = u32::MAX;
        t.restarts = u32::MAX;
        assert_eq!(
            t.on_exit(&always, ExitStatus::exited(1), INSTANT),
            Decision::Restart {
                after: Duration::from_secs(60)
            }
        );
        assert_eq!(
            t,
            RestartTracker {
                restarts: u32::MAX,
                consecutive_failures: u32::MAX
            }
        );
    }

    #[test]
    fn stable_runs_reset_and_max_restarts_gives_up() {
        let mut t = RestartTracker::default();
        let five = spec(RestartPolicy::Always, Some(5));
        for _ in 0..5 {
            assert!(matches!(
                t.on_exit(&five, ExitStatus::exited(1), INSTANT),
                Decision::Restart { .. }
            ));
        }
        let up = t.on_exit(&five, ExitStatus::exited(1), INSTANT);
        assert_eq!(
            up,
            Decision::GiveUp {
                reason: "exited with code 1 and reached max_restarts (5)".into()
            }
        );
        assert_eq!(t.restarts, 5);
        let after_stable = t.on_exit(&five, ExitStatus::killed(15), five.stable_after);
        assert_eq!(
            after_stable,
            Decision::Restart {
                after: Duration::from_secs(1)
            }
        );
        assert_eq!(
            t,
            RestartTracker {
                restarts: 6,
                consecutive_failures: 1
            }
        );
        t.consecutive_failures = 5;
        t.reset();
        assert_eq!(
            t,
            RestartTracker {
                restarts: 6,
                consecutive_failures: 0
            }
        );
        let zero = spec(RestartPolicy::Always, Some(0));
        assert!(matches!(
            t.on_exit(&zero, ExitStatus::exited(2), INSTANT),
            Decision::GiveUp { .. }
        ));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<RestartTracker>(&json).unwrap(), t);
        assert_eq!(
            serde_json::from_str::<RestartTracker>("{}").unwrap(),
            RestartTracker::default()
        );
    }
}
