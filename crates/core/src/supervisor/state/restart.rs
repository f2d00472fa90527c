//! The restart policy: what happens after a process exits on its own. [`RestartPolicy`]
//! and [`Backoff`] are the user's settings, [`ExitStatus`] the fact, and
//! [`RestartTracker::on_exit`] turns them into a [`Decision`]. Kept apart from the
//! lifecycle table: [`State`](super::State) says which moves are legal, this decides which
//! one to make after an exit.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::supervisor::spec::{
    ProcessSpec, SpecError, duration_ms, format_duration, invalid, parse_duration_reason,
};

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
            parse_duration_reason(part).map_err(|e| bad(format!("{which}: {e}")))
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

    /// Whether it exited with 0 or one of `extra` (a spec's `success_exit_codes`).
    pub fn success_with(&self, extra: &[i32]) -> bool {
        self.success() || self.code.is_some_and(|code| extra.contains(&code))
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
    /// success: 0 or one of `success_exit_codes`) stops; a stable run resets the count; past `max_restarts` in a row gives
    /// up; otherwise restarts after `backoff.delay(consecutive_failures)` and counts it.
    pub fn on_exit(&mut self, spec: &ProcessSpec, exit: ExitStatus, uptime: Duration) -> Decision {
        match spec.restart {
            RestartPolicy::Never => {
                return Decision::Stop {
                    reason: format!("{exit}; restart policy is never"),
                };
            }
            RestartPolicy::OnFailure if exit.success_with(&spec.success_exit_codes) => {
                return Decision::Stop {
                    reason: format!("{exit}; restart policy is on-failure"),
                };
            }
            _ => {}
        }
        self.count_failure(spec, &exit.to_string(), uptime)
    }

    /// Applies `spec`'s policy to a run the daemon ended itself because it failed without
    /// exiting: `what` says how (it failed its health check, it lost its shim). Under
    /// `never` it stops; under `always` and `on-failure` it is a failure like a crash, with
    /// the same backoff and the same `max_restarts`, so a process that keeps failing its
    /// health check ends `failed` instead of being restarted forever.
    pub fn on_failure(&mut self, spec: &ProcessSpec, what: &str, uptime: Duration) -> Decision {
        if spec.restart == RestartPolicy::Never {
            return Decision::Stop {
                reason: format!("{what}; restart policy is never"),
            };
        }
        self.count_failure(spec, what, uptime)
    }

    /// A failure the policy restarts after: resets the count after a stable run, gives up
    /// past `max_restarts`, otherwise counts it and returns the backoff delay.
    fn count_failure(&mut self, spec: &ProcessSpec, what: &str, uptime: Duration) -> Decision {
        if uptime >= spec.stable_after {
            self.consecutive_failures = 0;
        }
        match spec.max_restarts {
            Some(max) if self.consecutive_failures >= max => {
                return Decision::GiveUp {
                    reason: format!("{what} and reached max_restarts ({max})"),
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
