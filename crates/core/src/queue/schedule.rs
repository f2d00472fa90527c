//! Schedules: jobs created on a timetable, from a cron expression (five fields, local
//! time, parsed by `croner`) or a fixed interval, each fire queueing a copy of a job
//! template labelled `schedule=NAME`.
//!
//! * `no_overlap`: a fire is skipped while the job of the previous fire has not ended.
//! * `catch_up`: fires missed while the daemon was down are made up by one job at start
//!   (as anacron or systemd's `Persistent=true` do), not one per missed fire; without it
//!   they are skipped.

use std::str::FromStr;
use std::time::Duration;

use chrono::{Local, TimeZone};
use serde::{Deserialize, Serialize};

use super::spec::JobSpec;
use crate::supervisor::spec::{SpecError, format_duration, validate_name};

/// Shortest `--every`.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
/// Longest `--every`.
pub const MAX_EVERY: Duration = Duration::from_secs(365 * 24 * 3600);

/// When a schedule fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// A five-field cron expression (`*/5 * * * *`), in local time.
    Cron(String),
    /// Every this long, from when the schedule was added.
    #[serde(with = "crate::supervisor::spec::duration_ms")]
    Every(Duration),
}

impl When {
    /// The first fire after `after_ms` (Unix milliseconds); `None` for a cron expression
    /// that never matches again.
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        match self {
            When::Every(every) => Some(after_ms.saturating_add(every.as_millis() as u64)),
            When::Cron(expression) => {
                let cron = croner::Cron::from_str(expression).ok()?;
                let after = Local.timestamp_millis_opt(after_ms as i64).single()?;
                let next = cron.find_next_occurrence(&after, false).ok()?;
                u64::try_from(next.timestamp_millis()).ok()
            }
        }
    }

    /// Checks the expression parses and fires at all, or the interval is in range.
    pub fn validate(&self, now_ms: u64) -> Result<(), SpecError> {
        match self {
            When::Every(every) if !(MIN_EVERY..=MAX_EVERY).contains(every) => Err(invalid(
                "every",
                format!("{} is outside 1s..365d", format_duration(*every)),
            )),
            When::Every(_) => Ok(()),
            When::Cron(expression) => {
                if expression.split_whitespace().count() != 5 {
                    return Err(invalid(
                        "cron",
                        format!(
                            "{expression:?} must have five fields: minute hour day-of-month month day-of-week"
                        ),
                    ));
                }
                croner::Cron::from_str(expression)
                    .map_err(|e| invalid("cron", format!("{expression:?}: {e}")))?;
                match self.next_after(now_ms) {
                    Some(_) => Ok(()),
                    None => Err(invalid("cron", format!("{expression:?} never fires"))),
                }
            }
        }
    }
}

/// What `queue schedule add` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    /// Unique name (the naming rules of managed processes).
    pub name: String,
    /// When it fires.
    pub when: When,
    /// Skip a fire while the previous fire's job has not ended.
    #[serde(default)]
    pub no_overlap: bool,
    /// Make up for fires missed while the daemon was down with one job.
    #[serde(default)]
    pub catch_up: bool,
    /// The job each fire queues.
    pub job: JobSpec,
}

impl ScheduleSpec {
    /// Checks the name, the timetable and the job template (which cannot carry a start
    /// time of its own: the schedule decides when).
    pub fn validate(&self, now_ms: u64) -> Result<(), SpecError> {
        validate_name(&self.name)?;
        self.when.validate(now_ms)?;
        if self.job.not_before_ms.is_some() {
            return Err(invalid(
                "delay",
                "a scheduled job starts when the schedule fires; it takes no --delay or --at",
            ));
        }
        self.job.validate(now_ms)
    }
}

/// A schedule and where it is in its timetable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// As added.
    pub spec: ScheduleSpec,
    /// The next fire, Unix milliseconds.
    pub next_ms: Option<u64>,
    /// The last fire, Unix milliseconds.
    #[serde(default)]
    pub last_fire_ms: Option<u64>,
    /// The job the last fire queued.
    #[serde(default)]
    pub last_job: Option<u64>,
    /// Fires skipped because the previous job still ran (`no_overlap`).
    #[serde(default)]
    pub skipped: u64,
}

impl Schedule {
    /// A new schedule, its first fire computed from `now_ms`.
    pub fn new(spec: ScheduleSpec, now_ms: u64) -> Self {
        Self {
            next_ms: spec.when.next_after(now_ms),
            spec,
            last_fire_ms: None,
            last_job: None,
            skipped: 0,
        }
    }

    /// At daemon start: whether a fire was missed while it was down and is to be made up
    /// now (`catch_up`); the next fire is moved past `now_ms` either way.
    pub fn on_restore(&mut self, now_ms: u64) -> bool {
        let missed = self.next_ms.is_some_and(|next| next < now_ms);
        if missed {
            self.next_ms = self.spec.when.next_after(now_ms);
        }
        missed && self.spec.catch_up
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        field,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(when: When) -> ScheduleSpec {
        ScheduleSpec {
            name: "nightly".into(),
            when,
            no_overlap: false,
            catch_up: false,
            job: JobSpec::new(vec!["true".into()]),
        }
    }

    #[test]
    fn every_fires_at_fixed_intervals_and_cron_on_its_minutes() {
        let every = When::Every(Duration::from_secs(600));
        assert_eq!(every.next_after(1_000), Some(601_000));
        let cron = When::Cron("*/5 * * * *".into());
        let next = cron.next_after(1_700_000_000_000).unwrap();
        assert!(next > 1_700_000_000_000 && next - 1_700_000_000_000 <= 300_000);
        assert_eq!(
            next % 300_000,
            0,
            "on a five-minute boundary (every zone is whole minutes apart here)"
        );
    }

    #[test]
    fn bad_timetables_are_refused_with_the_field() {
        for (when, field) in [
            (When::Cron("* * *".into()), "cron"),
            (When::Cron("61 * * * *".into()), "cron"),
            (When::Cron("0 0 30 2 *".into()), "cron"),
            (When::Every(Duration::from_millis(10)), "every"),
        ] {
            let e = spec(when).validate(1_700_000_000_000).unwrap_err();
            assert_eq!(e.field(), field, "{e}");
        }
        let mut with_delay = spec(When::Every(Duration::from_secs(60)));
        with_delay.job.not_before_ms = Some(5);
        assert_eq!(with_delay.validate(0).unwrap_err().field(), "delay");
        let mut bad_name = spec(When::Every(Duration::from_secs(60)));
        bad_name.name = "a b".into();
        assert_eq!(bad_name.validate(0).unwrap_err().field(), "name");
    }

    #[test]
    fn a_missed_fire_is_made_up_once_only_with_catch_up() {
        let mut schedule = Schedule::new(spec(When::Every(Duration::from_secs(60))), 0);
        assert_eq!(schedule.next_ms, Some(60_000));
        assert!(!schedule.on_restore(600_000), "skipped without catch_up");
        assert_eq!(schedule.next_ms, Some(660_000));
        let mut catching = spec(When::Every(Duration::from_secs(60)));
        catching.catch_up = true;
        let mut schedule = Schedule::new(catching, 0);
        assert!(schedule.on_restore(600_000));
        assert!(!schedule.on_restore(600_000), "only once");
    }
}
