//! procward.toml as written: serde structs that mirror the file with the span of every
//! value, value types that parse humane strings inside deserialization (so toml reports a
//! bad value at its own line and column), and [`build`], which turns one
//! `[process.NAME]` table into a [`ProcessSpec`] plus the spans validation errors point at.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use crate::Signal;
use crate::resources::{BreachAction, MAX_MEMORY, MIN_MEMORY, parse_cpu};
use crate::supervisor::spec::replica::parse_instances;
use crate::supervisor::spec::{
    Backoff, HealthCheck, LogLimits, Probe, ProcessSpec, RestartPolicy, SpecError,
    command_from_string, parse_duration_reason, parse_env_file, parse_max_restarts, parse_size,
    read_config_file, validate_name,
};

pub(super) type Located<T> = Result<T, (Range<usize>, String)>;
/// Spans of the fields a validation error may blame, by field name.
pub(super) type FieldSpans = Vec<(&'static str, Range<usize>)>;

/// Builds one spec, with the spans of the fields that [`ProcessSpec::validate`] may blame.
pub(super) fn build(
    name: &Spanned<String>,
    raw: &RawProcess,
    base: &Path,
) -> Located<(ProcessSpec, FieldSpans)> {
    validate_name(name.get_ref()).map_err(|e| (name.span(), e.to_string()))?;
    let mut spec = ProcessSpec::new(name.get_ref(), raw.command.get_ref().0.clone());
    let mut spans = vec![("command", raw.command.span())];
    if let Some(file) = &raw.env_file {
        let path = base.join(file.get_ref());
        let shown = path.display();
        let text = read_config_file(&path)
            .map_err(|e| (file.span(), format!("cannot read env_file {shown}: {e}")))?;
        spec.env =
            parse_env_file(&text).map_err(|e| (file.span(), format!("env_file {shown}: {e}")))?;
    }
    if let Some(env) = &raw.env {
        spec.env
            .extend(env.get_ref().iter().map(|(k, v)| (k.clone(), v.0.clone())));
        spans.push(("env", env.span()));
    }
    if let Some(cwd) = &raw.cwd {
        if cwd.get_ref().is_empty() {
            return Err((
                cwd.span(),
                "cwd is empty: omit it to use this file's folder".into(),
            ));
        }
        spec.cwd = Some(base.join(cwd.get_ref()));
        spans.push(("cwd", cwd.span()));
    }
    spec.cwd = spec.cwd.or_else(|| Some(base.to_owned()));
    if let Some(restart) = raw.restart {
        spec.restart = restart;
    }
    if let Some(max) = &raw.max_restarts {
        spec.max_restarts = max.0;
    }
    if let Some(backoff) = &raw.backoff {
        spec.backoff = backoff.get_ref().0;
        spans.push(("backoff", backoff.span()));
    }
    if let Some(stable) = &raw.stable_after {
        spec.stable_after = stable.get_ref().0;
        spans.push(("stable_after", stable.span()));
    }
    if let Some(signal) = raw.stop_signal {
        spec.stop_signal = signal;
    }
    if let Some(timeout) = &raw.stop_timeout {
        spec.stop_timeout = timeout.get_ref().0;
        spans.push(("stop_timeout", timeout.span()));
    }
    spec.autostart = raw.autostart.unwrap_or(true);
    if let Some(cron) = &raw.cron_restart {
        spec.cron_restart = Some(cron.get_ref().clone());
        spans.push(("cron_restart", cron.span()));
    }
    for (field, value, target) in [
        ("watch", &raw.watch, &mut spec.watch),
        ("watch_ignore", &raw.watch_ignore, &mut spec.watch_ignore),
    ] {
        if let Some(patterns) = value {
            target.clone_from(patterns.get_ref());
            spans.push((field, patterns.span()));
        }
    }
    spec.depends_on = raw.depends_on.iter().map(|d| d.get_ref().clone()).collect();
    if let Some(dep) = raw.depends_on.first() {
        spans.push(("depends_on", dep.span()));
    }
    for (field, value, target) in [
        ("health", &raw.health, &mut spec.health),
        ("readiness", &raw.readiness, &mut spec.readiness),
    ] {
        if let Some(check) = value {
            let built = check.get_ref().to_check(field);
            *target = Some(built.map_err(|m| (check.span(), m))?);
            spans.push((field, check.span()));
        }
    }
    if let Some(codes) = &raw.success_exit_codes {
        spec.success_exit_codes.clone_from(codes.get_ref());
        spans.push(("success_exit_codes", codes.span()));
    }
    if let Some(instances) = &raw.instances {
        spec.instances = instances.get_ref().0;
        spans.push(("instances", instances.span()));
    }
    if let Some(logs) = &raw.logs {
        let defaults = LogLimits::default();
        spec.logs = LogLimits {
            max_bytes: logs
                .get_ref()
                .max_bytes
                .as_ref()
                .map_or(defaults.max_bytes, |s| s.0),
            max_files: logs.get_ref().max_files.unwrap_or(defaults.max_files),
            timestamps: logs.get_ref().timestamps.unwrap_or(defaults.timestamps),
        };
        spans.push(("logs", logs.span()));
    }
    let limits = &mut spec.limits;
    limits.memory_max = raw.memory_max.as_ref().map(|m| m.0);
    limits.memory_high = raw.memory_high.as_ref().map(|m| m.0);
    limits.cpu_max = raw.cpu_max.as_ref().map(|c| c.0);
    limits.pids_max = raw.pids_max;
    limits.on_breach = raw.on_breach.unwrap_or_default();
    limits.best_effort = raw.best_effort.unwrap_or(false);
    for (field, span) in [
        ("memory_max", raw.memory_max.as_ref().map(|m| m.1.clone())),
        ("memory_high", raw.memory_high.as_ref().map(|m| m.1.clone())),
        ("cpu_max", raw.cpu_max.as_ref().map(|c| c.1.clone())),
    ] {
        spans.extend(span.map(|s| (field, s)));
    }
    Ok((spec, spans))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) process: BTreeMap<Spanned<String>, Spanned<RawProcess>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProcess {
    command: Spanned<Command>,
    env: Option<Spanned<BTreeMap<String, EnvValue>>>,
    env_file: Option<Spanned<String>>,
    cwd: Option<Spanned<String>>,
    restart: Option<RestartPolicy>,
    max_restarts: Option<MaxRestarts>,
    backoff: Option<Spanned<BackoffValue>>,
    stable_after: Option<Spanned<Human>>,
    stop_signal: Option<Signal>,
    stop_timeout: Option<Spanned<Human>>,
    autostart: Option<bool>,
    #[serde(default)]
    pub(super) depends_on: Vec<Spanned<String>>,
    health: Option<Spanned<RawHealth>>,
    logs: Option<Spanned<RawLogs>>,
    memory_max: Option<Memory>,
    memory_high: Option<Memory>,
    cpu_max: Option<Cpu>,
    pids_max: Option<u32>,
    on_breach: Option<BreachAction>,
    best_effort: Option<bool>,
    watch: Option<Spanned<Vec<String>>>,
    watch_ignore: Option<Spanned<Vec<String>>>,
    cron_restart: Option<Spanned<String>>,
    success_exit_codes: Option<Spanned<Vec<i32>>>,
    readiness: Option<Spanned<RawHealth>>,
    instances: Option<Spanned<Instances>>,
}

/// A memory limit with its span (for errors that compare two limits).
struct Memory(u64, Range<usize>);
impl<'de> Deserialize<'de> for Memory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Spanned::<Size>::deserialize(d)?;
        let span = value.span();
        let bytes = value.into_inner().0;
        if !(MIN_MEMORY..=MAX_MEMORY).contains(&bytes) {
            return Err(custom(format!("{bytes} bytes is outside 1MiB to 16TiB")));
        }
        Ok(Memory(bytes, span))
    }
}

/// A CPU limit (`"150%"` or a number of percent) with its span.
struct Cpu(u32, Range<usize>);
impl<'de> Deserialize<'de> for Cpu {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Spanned::<CpuValue>::deserialize(d)?;
        let span = value.span();
        Ok(Cpu(value.into_inner().0, span))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    http: Option<String>,
    tcp: Option<String>,
    command: Option<String>,
    interval: Option<Human>,
    timeout: Option<Human>,
    retries: Option<u32>,
    start_period: Option<Human>,
}

impl RawHealth {
    /// The check, or why not; `field` (`health` or `readiness`) names it in the words.
    fn to_check(&self, field: &str) -> Result<HealthCheck, String> {
        let probe = match (&self.http, &self.tcp, &self.command) {
            (Some(url), None, None) => Probe::Http { url: url.clone() },
            (None, Some(target), None) => Probe::parse_tcp(target).map_err(|e| e.to_string())?,
            (None, None, Some(cmd)) => Probe::Command(cmd.clone()),
            _ => return Err(format!("{field} needs exactly one of http, tcp or command")),
        };
        let mut check = HealthCheck::new(probe);
        check.interval = self.interval.as_ref().map_or(check.interval, |d| d.0);
        check.timeout = self.timeout.as_ref().map_or(check.timeout, |d| d.0);
        check.retries = self.retries.unwrap_or(check.retries);
        check.start_period = self
            .start_period
            .as_ref()
            .map_or(check.start_period, |d| d.0);
        check.validate().map_err(|e| e.to_string())?;
        Ok(check)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogs {
    max_bytes: Option<Size>,
    max_files: Option<u32>,
    timestamps: Option<bool>,
}

/// Implements `Deserialize` for a value type through a visitor whose `visit_*` methods
/// turn parse errors into serde errors, so toml reports them at the value's position.
macro_rules! value_type {
    ($name:ident($inner:ty), $expecting:literal, { $($body:tt)* }) => {
        #[derive(Clone)]
        struct $name($inner);
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    $($body)*
                }
                d.deserialize_any(V)
            }
        }
    };
}

fn custom<E: de::Error>(e: impl fmt::Display) -> E {
    E::custom(e)
}

value_type!(
    Command(Vec<String>),
    "a command string or an array of strings",
    {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Command, E> {
            command_from_string(v).map(Command).map_err(custom)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Command, A::Error> {
            let mut argv = Vec::new();
            while let Some(arg) = seq.next_element::<String>()? {
                argv.push(arg);
            }
            match argv.first() {
                Some(first) if !first.trim().is_empty() => Ok(Command(argv)),
                _ => Err(custom(SpecError::EmptyCommand)),
            }
        }
    }
);

value_type!(
    Human(Duration),
    "a duration such as \"10s\" or a number of seconds",
    {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Human, E> {
            parse_duration_reason(v).map(Human).map_err(custom)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Human, E> {
            u64::try_from(v)
                .map(|s| Human(Duration::from_secs(s)))
                .map_err(|_| custom("negative durations are not allowed"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Human, E> {
            Duration::try_from_secs_f64(v)
                .map(Human)
                .map_err(|_| custom(format!("{v} is not a usable number of seconds (negative, not a number or far too large)")))
        }
    }
);

value_type!(
    Size(u64),
    "a size in bytes or a string such as \"10MiB\"",
    {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
            parse_size(v).map(Size).map_err(custom)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
            u64::try_from(v)
                .map(Size)
                .map_err(|_| custom("sizes cannot be negative"))
        }
    }
);

value_type!(CpuValue(u32), "a CPU limit such as \"150%\"", {
    fn visit_str<E: de::Error>(self, v: &str) -> Result<CpuValue, E> {
        parse_cpu(v).map(CpuValue).map_err(custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<CpuValue, E> {
        parse_cpu(&v.to_string()).map(CpuValue).map_err(custom)
    }
});

value_type!(MaxRestarts(Option<u32>), "a count or \"unlimited\"", {
    fn visit_str<E: de::Error>(self, v: &str) -> Result<MaxRestarts, E> {
        parse_max_restarts(v).map(MaxRestarts).map_err(custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<MaxRestarts, E> {
        u32::try_from(v)
            .map(|n| MaxRestarts(Some(n)))
            .map_err(|_| custom("max_restarts must be 0-4294967295 or \"unlimited\""))
    }
});

value_type!(Instances(u32), "a count from 1 to 256 or \"max\"", {
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Instances, E> {
        parse_instances(v).map(Instances).map_err(custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Instances, E> {
        parse_instances(&v.to_string())
            .map(Instances)
            .map_err(custom)
    }
});

value_type!(BackoffValue(Backoff), "a backoff such as \"1s:30s\"", {
    fn visit_str<E: de::Error>(self, v: &str) -> Result<BackoffValue, E> {
        v.parse().map(BackoffValue).map_err(custom)
    }
});

value_type!(EnvValue(String), "a string, number or boolean", {
    fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvValue, E> {
        Ok(EnvValue(v.to_owned()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<EnvValue, E> {
        Ok(EnvValue(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<EnvValue, E> {
        Ok(EnvValue(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<EnvValue, E> {
        Ok(EnvValue(v.to_string()))
    }
});
