//! The wait before a job's next attempt: exponential (`base · 2ⁿ`, capped) or fixed,
//! optionally with jitter so that jobs failing together do not retry together.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::supervisor::spec::{format_duration, parse_duration};

/// Shortest back-off base: short enough for tests, long enough not to spin.
pub const MIN_BASE: Duration = Duration::from_millis(10);
/// Longest back-off base or cap.
pub const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// How the wait grows from one attempt to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackoffKind {
    /// `base · 2ⁿ⁻¹` before retry `n`, at most the cap.
    Exponential,
    /// Always `base`.
    Fixed,
}

/// The retry back-off of a job (default: exponential from 2 s, capped at 10 min).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryBackoff {
    /// How the wait grows.
    pub kind: BackoffKind,
    /// The first wait.
    #[serde(with = "crate::supervisor::spec::duration_ms")]
    pub base: Duration,
    /// The longest wait.
    #[serde(with = "crate::supervisor::spec::duration_ms")]
    pub cap: Duration,
    /// Whether each wait is drawn uniformly from its upper half (`[d/2, d]`).
    #[serde(default)]
    pub jitter: bool,
}

impl Default for RetryBackoff {
    fn default() -> Self {
        Self {
            kind: BackoffKind::Exponential,
            base: Duration::from_secs(2),
            cap: Duration::from_secs(600),
            jitter: false,
        }
    }
}

/// A back-off that cannot be used, with what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid backoff {input:?}: {reason}; use exponential:2s, exponential:2s:5m, fixed:5s (add :jitter for jitter)"
)]
pub struct BackoffError {
    /// What was given.
    pub input: String,
    /// Why it is refused.
    pub reason: String,
}

impl RetryBackoff {
    /// Checks the base and the cap are in range (`10ms ..= 24h`, cap ≥ base).
    pub fn validate(&self) -> Result<(), String> {
        if self.base < MIN_BASE || self.base > MAX_DELAY {
            return Err(format!(
                "the base {} is outside 10ms..24h",
                format_duration(self.base)
            ));
        }
        if self.cap < self.base || self.cap > MAX_DELAY {
            return Err(format!(
                "the cap {} must be between the base ({}) and 24h",
                format_duration(self.cap),
                format_duration(self.base)
            ));
        }
        Ok(())
    }

    /// The wait before retry `retry` (1 for the first retry). `random` in `[0, 1)` is
    /// used only with jitter, so the function is pure and testable.
    pub fn delay(&self, retry: u32, random: f64) -> Duration {
        let full = match self.kind {
            BackoffKind::Fixed => self.base,
            BackoffKind::Exponential => {
                let factor = 1u32
                    .checked_shl(retry.saturating_sub(1))
                    .unwrap_or(u32::MAX);
                self.base.saturating_mul(factor).min(self.cap)
            }
        };
        if self.jitter {
            full.mul_f64(0.5 + 0.5 * random.clamp(0.0, 1.0))
        } else {
            full
        }
    }
}

impl FromStr for RetryBackoff {
    type Err = BackoffError;

    /// Parses `KIND:BASE[:CAP][:jitter]`, e.g. `exponential:2s`, `exponential:1s:1m:jitter`,
    /// `fixed:5s`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| BackoffError {
            input: s.to_owned(),
            reason,
        };
        let mut parts: Vec<&str> = s.trim().split(':').collect();
        let jitter = parts.last() == Some(&"jitter");
        if jitter {
            parts.pop();
        }
        let kind = match parts.first().copied() {
            Some("exponential" | "exp") => BackoffKind::Exponential,
            Some("fixed") => BackoffKind::Fixed,
            other => return Err(bad(format!("unknown kind {:?}", other.unwrap_or("")))),
        };
        let duration = |text: &str| parse_duration(text).map_err(|e| bad(e.to_string()));
        let base = match parts.get(1) {
            Some(text) => duration(text)?,
            None => return Err(bad("the base delay is missing".into())),
        };
        let cap = match (kind, parts.get(2)) {
            (_, Some(text)) => duration(text)?,
            (BackoffKind::Fixed, None) => base,
            (BackoffKind::Exponential, None) => RetryBackoff::default().cap.max(base),
        };
        if parts.len() > 3 {
            return Err(bad("too many parts".into()));
        }
        let backoff = RetryBackoff {
            kind,
            base,
            cap,
            jitter,
        };
        backoff.validate().map_err(bad)?;
        Ok(backoff)
    }
}

impl fmt::Display for RetryBackoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            BackoffKind::Exponential => "exponential",
            BackoffKind::Fixed => "fixed",
        };
        write!(f, "{kind}:{}", format_duration(self.base))?;
        if self.kind == BackoffKind::Exponential {
            write!(f, ":{}", format_duration(self.cap))?;
        }
        if self.jitter {
            f.write_str(":jitter")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_doubles_from_the_base_up_to_the_cap() {
        let b: RetryBackoff = "exponential:2s:10s".parse().unwrap();
        let waits: Vec<u64> = (1..=5).map(|n| b.delay(n, 0.0).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 10, 10]);
        assert_eq!(b.delay(200, 0.0), Duration::from_secs(10), "no overflow");
    }

    #[test]
    fn the_default_is_exponential_from_two_seconds() {
        let b = RetryBackoff::default();
        assert_eq!(b.delay(1, 0.9), Duration::from_secs(2));
        assert_eq!(b.delay(3, 0.9), Duration::from_secs(8));
        assert_eq!(b.to_string(), "exponential:2s:10m");
    }

    #[test]
    fn fixed_waits_the_same_and_jitter_stays_in_the_upper_half() {
        let b: RetryBackoff = "fixed:5s:jitter".parse().unwrap();
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(2500));
        assert_eq!(b.delay(9, 1.0), Duration::from_secs(5));
        assert!(b.jitter);
    }

    #[test]
    fn bad_backoffs_are_refused_with_the_reason() {
        for (input, words) in [
            ("linear:2s", "unknown kind"),
            ("exponential", "missing"),
            ("fixed:1ms", "outside"),
            ("exponential:10s:1s", "cap"),
            ("exponential:2s:-1s", "negative"),
            ("fixed:2s:3s:4s", "too many"),
        ] {
            let e = input.parse::<RetryBackoff>().unwrap_err().to_string();
            assert!(e.contains(words), "{input}: {e}");
        }
    }
}
