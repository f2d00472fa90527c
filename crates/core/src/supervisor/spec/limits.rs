//! The documented range of every duration procward accepts, in one place, so the CLI,
//! procward.toml, gRPC, MCP and the web all refuse the same values with the same words.
//!
//! Why ranges at all: a duration is eventually added to a clock or multiplied by a retry
//! count, and `1e99` seconds overflows both. Beyond these bounds a value is a typo, not
//! a wish (a stop that may take a day is indistinguishable from a hang).

use std::fmt;
use std::time::Duration;

use super::values::{format_duration, parse_duration_reason};
use super::{SpecError, invalid};

/// An inclusive range of durations, with the field it belongs to for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    /// Shortest allowed value.
    pub min: Duration,
    /// Longest allowed value.
    pub max: Duration,
}

impl DurationRange {
    const fn new(min: Duration, max: Duration) -> Self {
        Self { min, max }
    }

    /// Whether `d` is inside the range.
    pub fn contains(&self, d: Duration) -> bool {
        self.min <= d && d <= self.max
    }

    /// Parses a humane duration (see [`parse_duration`](super::parse_duration)) and checks
    /// it is inside the range; errors name `field`.
    pub fn parse(&self, field: &'static str, input: &str) -> Result<Duration, SpecError> {
        let d = parse_duration_reason(input)
            .map_err(|reason| invalid(field, format!("not a duration: {reason}")))?;
        self.check(field, field, d)?;
        Ok(d)
    }

    /// `Ok` when `d` is inside the range, else an error naming `field` and the range.
    pub fn check(&self, field: &'static str, what: &str, d: Duration) -> Result<(), SpecError> {
        if self.contains(d) {
            return Ok(());
        }
        let shown = format_duration(d);
        let (min, max) = (format_duration(self.min), format_duration(self.max));
        let hint = if d < self.min {
            format!("at least {min}")
        } else {
            format!("at most {max}")
        };
        Err(invalid(
            field,
            format!("{what} {shown} is out of range: use {hint} ({self})"),
        ))
    }
}

impl fmt::Display for DurationRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (min, max) = (format_duration(self.min), format_duration(self.max));
        write!(f, "{min} to {max}")
    }
}

const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

/// `stop_timeout`: wait after the stop signal before SIGKILL, 0 (at once) to 1h.
pub const STOP_TIMEOUT: DurationRange = DurationRange::new(Duration::ZERO, HOUR);
/// Longest stop timeout (the upper end of [`STOP_TIMEOUT`]).
pub const MAX_STOP_TIMEOUT: Duration = STOP_TIMEOUT.max;
/// `backoff` base and max: 1ms to 1h between automatic restarts.
pub const BACKOFF: DurationRange = DurationRange::new(MS, HOUR);
/// `stable_after`: uptime that resets the restart count, 0 to 24h.
pub const STABLE_AFTER: DurationRange =
    DurationRange::new(Duration::ZERO, Duration::from_secs(86_400));
/// Health `interval`: time between checks, 10ms to 1h.
pub const HEALTH_INTERVAL: DurationRange = DurationRange::new(Duration::from_millis(10), HOUR);
/// Health `timeout`: how long one check may take, 10ms to 1h.
pub const HEALTH_TIMEOUT: DurationRange = DurationRange::new(Duration::from_millis(10), HOUR);
/// Health `start_period`: grace before the first check, 0 to 1h.
pub const HEALTH_START_PERIOD: DurationRange = DurationRange::new(Duration::ZERO, HOUR);
/// Most health `retries` (failures in a row before unhealthy); at least 1.
pub const MAX_HEALTH_RETRIES: u32 = 1000;
/// A kill's grace period before SIGKILL (`kill --timeout`, `KillProcess.timeout_seconds`):
/// 0 (escalate at once) to 1h.
pub const KILL_TIMEOUT: DurationRange = DurationRange::new(Duration::ZERO, HOUR);
/// A CPU sample interval (`ps --interval`, `[ps] interval`): 1ms (CPU usage needs a real
/// sample) to 60s.
pub const SAMPLE_INTERVAL: DurationRange = DurationRange::new(MS, Duration::from_secs(60));
