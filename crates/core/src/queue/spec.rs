//! What a caller asks the queue to run, and the one check every interface's request goes
//! through ([`JobSpec::validate`]) before anything is queued.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::backoff::RetryBackoff;
use crate::resources::ResourceLimits;
use crate::supervisor::spec::{SpecError, format_duration, validate_exec, validate_name};

/// Highest priority (0 is the default and the lowest; higher runs first).
pub const MAX_PRIORITY: u32 = 1000;
/// Most attempts a job may have (the first run included).
pub const MAX_ATTEMPTS: u32 = 100;
/// Longest `--delay` (or how far ahead `--at` may be).
pub const MAX_DELAY: Duration = Duration::from_secs(365 * 24 * 3600);
/// Shortest and longest timeout of one attempt.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(100);
/// Longest timeout of one attempt.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);
/// Most dependencies of one job.
pub const MAX_AFTER: usize = 256;
/// Most labels of one job, and the longest label value in bytes.
pub const MAX_LABELS: usize = 32;
/// Longest label value in bytes.
pub const MAX_LABEL_VALUE: usize = 256;
/// The group every job without `--group` goes to; it always exists.
pub const DEFAULT_GROUP: &str = "default";

fn default_attempts() -> u32 {
    3
}

fn default_group() -> String {
    DEFAULT_GROUP.to_owned()
}

/// A job as added: the command and every rule for running it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Variables added to the daemon's environment for the job.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory; `None` keeps the daemon's.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Concurrency group (which must exist).
    #[serde(default = "default_group")]
    pub group: String,
    /// `0..=1000`; higher runs first, first-in first-out within one priority.
    #[serde(default)]
    pub priority: u32,
    /// Not started before this Unix millisecond (`--delay`, `--at`).
    #[serde(default)]
    pub not_before_ms: Option<u64>,
    /// Runs at most this many times (`1..=100`, default 3) until one exits 0.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// The wait between attempts.
    #[serde(default)]
    pub backoff: RetryBackoff,
    /// Per attempt: SIGTERM to the tree after this long, SIGKILL after the grace period.
    #[serde(default, with = "optional_ms")]
    pub timeout: Option<Duration>,
    /// Jobs that must complete first (they already exist, so no cycle can form).
    #[serde(default)]
    pub after: Vec<u64>,
    /// Start once every dependency has ended, whatever its outcome, instead of failing
    /// when one fails.
    #[serde(default)]
    pub after_any: bool,
    /// Free-form `key=value` tags for filtering.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// What each attempt's tree may use (its own cgroup unit, or polled), and what a
    /// breach does: `restart` fails the attempt (retried per `attempts`), `stop` fails
    /// the job without another attempt, `notify` only records it.
    #[serde(default, skip_serializing_if = "ResourceLimits::is_unset")]
    pub limits: ResourceLimits,
}

impl JobSpec {
    /// A spec running `command` with every default.
    pub fn new(command: Vec<String>) -> Self {
        Self {
            command,
            env: BTreeMap::new(),
            cwd: None,
            group: default_group(),
            priority: 0,
            not_before_ms: None,
            attempts: default_attempts(),
            backoff: RetryBackoff::default(),
            timeout: None,
            after: Vec::new(),
            after_any: false,
            labels: BTreeMap::new(),
            limits: ResourceLimits::default(),
        }
    }

    /// Checks everything that needs no other job or group: command, ranges, labels.
    /// `now_ms` bounds `not_before_ms` (at most a year ahead). The queue then checks the
    /// group and the dependencies exist.
    pub fn validate(&self, now_ms: u64) -> Result<(), SpecError> {
        validate_exec(&self.command, &self.env, self.cwd.as_deref())?;
        self.limits.validate()?;
        validate_name(&self.group).map_err(|e| invalid("group", e.to_string()))?;
        if self.priority > MAX_PRIORITY {
            return Err(invalid(
                "priority",
                format!("{} is above the maximum of {MAX_PRIORITY}", self.priority),
            ));
        }
        if let Some(at) = self.not_before_ms {
            let ahead = Duration::from_millis(at.saturating_sub(now_ms));
            if ahead > MAX_DELAY {
                return Err(invalid(
                    "delay",
                    format!(
                        "{} ahead is beyond the limit of 365d",
                        format_duration(ahead)
                    ),
                ));
            }
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.attempts) {
            return Err(invalid(
                "attempts",
                format!("{} is outside 1..={MAX_ATTEMPTS}", self.attempts),
            ));
        }
        self.backoff
            .validate()
            .map_err(|reason| invalid("backoff", reason))?;
        if let Some(t) = self.timeout
            && !(MIN_TIMEOUT..=MAX_TIMEOUT).contains(&t)
        {
            return Err(invalid(
                "timeout",
                format!("{} is outside 100ms..30d", format_duration(t)),
            ));
        }
        if self.after.len() > MAX_AFTER {
            return Err(invalid(
                "after",
                format!("{} dependencies; at most {MAX_AFTER}", self.after.len()),
            ));
        }
        if self.labels.len() > MAX_LABELS {
            return Err(invalid(
                "labels",
                format!("{} labels; at most {MAX_LABELS}", self.labels.len()),
            ));
        }
        for (key, value) in &self.labels {
            validate_name(key).map_err(|e| invalid("labels", format!("label key: {e}")))?;
            if value.len() > MAX_LABEL_VALUE || value.contains('\0') {
                return Err(invalid(
                    "labels",
                    format!(
                        "the value of {key} must be at most {MAX_LABEL_VALUE} bytes without NUL"
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Parses a `key=value` label.
pub fn parse_label(text: &str) -> Result<(String, String), SpecError> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| invalid("labels", format!("{text:?} is not KEY=VALUE")))?;
    validate_name(key).map_err(|e| invalid("labels", format!("label key: {e}")))?;
    Ok((key.to_owned(), value.to_owned()))
}

/// `Option<Duration>` as optional milliseconds.
mod optional_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> JobSpec {
        JobSpec::new(vec!["true".into()])
    }

    #[test]
    fn defaults_are_three_attempts_in_the_default_group() {
        let s = spec();
        assert_eq!(
            (s.attempts, s.group.as_str(), s.priority),
            (3, "default", 0)
        );
        s.validate(0).unwrap();
        let back: JobSpec = serde_json::from_str(r#"{"command":["true"]}"#).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn each_bad_field_is_named() {
        let now = 1_000_000;
        type Change = Box<dyn Fn(&mut JobSpec)>;
        let cases: Vec<(&str, Change)> = vec![
            ("command", Box::new(|s| s.command.clear())),
            ("command", Box::new(|s| s.command = vec![" ".into()])),
            ("priority", Box::new(|s| s.priority = 1001)),
            ("attempts", Box::new(|s| s.attempts = 0)),
            ("attempts", Box::new(|s| s.attempts = 101)),
            (
                "timeout",
                Box::new(|s| s.timeout = Some(Duration::from_millis(5))),
            ),
            (
                "timeout",
                Box::new(|s| s.timeout = Some(Duration::from_secs(31 * 86400))),
            ),
            (
                "delay",
                Box::new(move |s| s.not_before_ms = Some(now + 366 * 86_400_000)),
            ),
            ("group", Box::new(|s| s.group = "../x".into())),
            ("after", Box::new(|s| s.after = (0..300).collect())),
            (
                "labels",
                Box::new(|s| {
                    s.labels.insert("bad key".into(), "v".into());
                }),
            ),
        ];
        for (field, change) in cases {
            let mut s = spec();
            change(&mut s);
            let e = s.validate(now).unwrap_err();
            assert_eq!(e.field(), field, "{e}");
        }
    }

    #[test]
    fn labels_parse_as_key_equals_value() {
        assert_eq!(
            parse_label("env=prod").unwrap(),
            ("env".into(), "prod".into())
        );
        assert!(parse_label("novalue").is_err());
        assert!(parse_label("=x").is_err());
    }
}
