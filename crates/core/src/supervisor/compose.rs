//! `procward.toml`: several processes in one file, for `procward up` and `procward down`.
//!
//! Each `[process.NAME]` table describes one process; only `command` is required:
//!
//! ```toml
//! [process.db]
//! command = "postgres -D /var/lib/pg"   # a string (split like a shell; shell syntax
//!                                       # such as | or $VAR runs under /bin/sh -c)
//!
//! [process.web]
//! command = ["python3", "-m", "http.server", "8000"]   # or an array: argv as is
//! cwd = "site"                  # relative to this file's folder (the default cwd)
//! env = { PORT = "8000" }       # wins over env_file
//! env_file = ".env"             # relative to this file's folder; KEY=VALUE lines
//! restart = "on-failure"        # "always" (default), "on-failure" or "never"
//! max_restarts = 5              # in a row without a stable run; or "unlimited" (default 10)
//! backoff = "1s:30s"            # restart delay BASE:MAX, doubling (default "1s:60s")
//! stable_after = "10s"          # uptime that resets the restart count (default "10s")
//! stop_signal = "INT"           # TERM (default), INT, SIGHUP, 15, ...
//! stop_timeout = "10s"          # wait before SIGKILL (default "5s", at most "1h")
//! autostart = true              # start on `up` and when the daemon starts (default true)
//! depends_on = ["db"]           # started first; waited for until healthy if checked
//! health = { http = "http://127.0.0.1:8000/", interval = "2s", timeout = "1s", retries = 3, start_period = "1s" }
//! # health probes: http = "http://HOST:PORT/PATH", tcp = "HOST:PORT" or command = "pg_isready"
//! # (run with sh -c); interval 5s, timeout 2s, retries 3, start_period 0 by default
//! logs = { max_bytes = "10MiB", max_files = 5 }   # rotation per stream (defaults shown)
//! ```
//!
//! Durations are strings with units (`500ms`, `10s`, `1.5m`, `1h`, `1m30s`) or bare
//! numbers of seconds. Sizes are bytes (an integer) or strings: `K`/`KiB`, `M`/`MiB`,
//! `G`/`GiB` are powers of 1024; `KB`, `MB`, `GB` powers of 1000. Names are 1-64 ASCII
//! letters, digits, `.`, `_` or `-`, not starting with `.` or `-`. Unknown keys are errors,
//! and every error says where: ``procward.toml:12:9: unknown field `colour`, ...``.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::spec::{
    Backoff, HealthCheck, LogLimits, Probe, ProcessSpec, RestartPolicy, SpecError,
    command_from_string, parse_duration_reason, parse_env_file, parse_max_restarts, parse_size,
    validate_name,
};
use crate::{ErrorKind, Signal};

/// A procward.toml that cannot be used; nothing was started or changed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A problem at a place in the file: syntax, unknown key, bad value, invalid spec.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        /// The file as the user named it (`procward.toml` when parsed from text).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file itself cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Two specs share a name.
    #[error("duplicate process name '{0}'")]
    DuplicateName(String),
    /// A `depends_on` entry names no process in the set.
    #[error("process '{process}' depends on unknown process '{dependency}'")]
    UnknownDependency {
        /// The depending process.
        process: String,
        /// The missing name.
        dependency: String,
    },
    /// Processes depend on each other in a circle, so none can start first.
    #[error("dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

impl ComposeError {
    /// The class of this error, for exit codes and status codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ComposeError::Read { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
                _ => ErrorKind::Failed,
            },
            _ => ErrorKind::InvalidInput,
        }
    }
}

/// Reads and parses a procward.toml; relative `cwd` and `env_file` resolve against the
/// file's folder (made absolute, since the daemon runs elsewhere).
pub fn parse_compose_file(path: &Path) -> Result<Vec<ProcessSpec>, ComposeError> {
    let read_err = |source| ComposeError::Read {
        path: path.to_owned(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    let absolute = std::path::absolute(path).map_err(read_err)?;
    let base = absolute.parent().unwrap_or(Path::new("/"));
    parse_named(&text, base, &path.display().to_string())
}

/// Parses procward.toml text into validated specs in file order; `base_dir` resolves
/// relative `cwd` and `env_file` (pass an absolute one). Errors read `procward.toml:L:C: ...`.
pub fn parse_compose(text: &str, base_dir: &Path) -> Result<Vec<ProcessSpec>, ComposeError> {
    parse_named(text, base_dir, "procward.toml")
}

fn parse_named(text: &str, base: &Path, file: &str) -> Result<Vec<ProcessSpec>, ComposeError> {
    let at = |span: Range<usize>, message: String| {
        let mut end = span.start.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        ComposeError::At {
            file: file.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message,
        }
    };
    let raw: RawFile = toml::from_str(text)
        .map_err(|e| at(e.span().unwrap_or(0..0), e.message().trim_end().to_owned()))?;
    let mut entries: Vec<_> = raw.process.into_iter().collect();
    if entries.is_empty() {
        return Err(at(
            0..0,
            "no processes: add a [process.NAME] table with a command".into(),
        ));
    }
    entries.sort_by_key(|(name, _)| name.span().start);
    let mut specs = Vec::with_capacity(entries.len());
    let mut dep_spans = Vec::new();
    for (name, raw) in &entries {
        let (spec, spans) = build(name, raw.get_ref(), base).map_err(|(s, m)| at(s, m))?;
        let field_span = |field: &str| {
            let found = spans.iter().find(|(f, _)| *f == field);
            found.map_or(name.span(), |(_, s)| s.clone())
        };
        spec.validate().map_err(|e| {
            at(
                field_span(e.field()),
                format!("process '{}': {e}", spec.name),
            )
        })?;
        dep_spans.push(
            raw.get_ref()
                .depends_on
                .iter()
                .map(Spanned::span)
                .collect::<Vec<_>>(),
        );
        specs.push(spec);
    }
    start_order(&specs).map_err(|e| {
        let span = match &e {
            ComposeError::UnknownDependency {
                process,
                dependency,
            } => {
                let i = specs.iter().position(|s| s.name == *process).unwrap_or(0);
                let j = specs[i].depends_on.iter().position(|d| d == dependency);
                j.map_or(entries[i].0.span(), |j| dep_spans[i][j].clone())
            }
            ComposeError::Cycle(cycle) => {
                let first = cycle.first().map(String::as_str);
                let i = specs.iter().position(|s| Some(s.name.as_str()) == first);
                entries[i.unwrap_or(0)].0.span()
            }
            _ => 0..0,
        };
        at(span, e.to_string())
    })?;
    Ok(specs)
}

type Located<T> = Result<T, (Range<usize>, String)>;
/// Spans of the fields a validation error may blame, by field name.
type FieldSpans = Vec<(&'static str, Range<usize>)>;

/// Builds one spec, with the spans of the fields that [`ProcessSpec::validate`] may blame.
fn build(
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
        let text = std::fs::read_to_string(&path)
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
        spec.stable_after = stable.0;
    }
    if let Some(signal) = raw.stop_signal {
        spec.stop_signal = signal;
    }
    if let Some(timeout) = &raw.stop_timeout {
        spec.stop_timeout = timeout.get_ref().0;
        spans.push(("stop_timeout", timeout.span()));
    }
    spec.autostart = raw.autostart.unwrap_or(true);
    spec.depends_on = raw.depends_on.iter().map(|d| d.get_ref().clone()).collect();
    if let Some(dep) = raw.depends_on.first() {
        spans.push(("depends_on", dep.span()));
    }
    if let Some(health) = &raw.health {
        spec.health = Some(
            health
                .get_ref()
                .to_check()
                .map_err(|m| (health.span(), m))?,
        );
        spans.push(("health", health.span()));
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
        };
        spans.push(("logs", logs.span()));
    }
    Ok((spec, spans))
}

/// The order to start `specs` in: every process after its dependencies, otherwise in the
/// given (file) order; `procward down` stops in the reverse. Refuses duplicate names,
/// unknown dependencies and cycles (naming the cycle: `a -> b -> a`).
pub fn start_order(specs: &[ProcessSpec]) -> Result<Vec<String>, ComposeError> {
    let mut index = HashMap::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        if index.insert(spec.name.as_str(), i).is_some() {
            return Err(ComposeError::DuplicateName(spec.name.clone()));
        }
    }
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(specs.len());
    for spec in specs {
        let mut mine = Vec::new();
        for dep in &spec.depends_on {
            let &j = index
                .get(dep.as_str())
                .ok_or_else(|| ComposeError::UnknownDependency {
                    process: spec.name.clone(),
                    dependency: dep.clone(),
                })?;
            if !mine.contains(&j) {
                mine.push(j);
            }
        }
        deps.push(mine);
    }
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents = vec![Vec::new(); specs.len()];
    for (i, mine) in deps.iter().enumerate() {
        for &j in mine {
            dependents[j].push(i);
        }
    }
    let mut ready: BinaryHeap<_> = (0..specs.len())
        .filter(|&i| waiting[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(specs.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(specs[i].name.clone());
        for &k in &dependents[i] {
            waiting[k] -= 1;
            if waiting[k] == 0 {
                ready.push(Reverse(k));
            }
        }
    }
    if order.len() == specs.len() {
        return Ok(order);
    }
    // Every process left waits on another one left: walk until a name repeats.
    let mut path = vec![(0..specs.len()).find(|&i| waiting[i] > 0).unwrap_or(0)];
    loop {
        let current = *path.last().unwrap_or(&0);
        let next = deps[current]
            .iter()
            .copied()
            .find(|&j| waiting[j] > 0)
            .unwrap_or(current);
        if let Some(p) = path.iter().position(|&i| i == next) {
            let mut cycle: Vec<String> = path[p..].iter().map(|&i| specs[i].name.clone()).collect();
            cycle.push(specs[next].name.clone());
            return Err(ComposeError::Cycle(cycle));
        }
        path.push(next);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    process: BTreeMap<Spanned<String>, Spanned<RawProcess>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcess {
    command: Spanned<Command>,
    env: Option<Spanned<BTreeMap<String, EnvValue>>>,
    env_file: Option<Spanned<String>>,
    cwd: Option<Spanned<String>>,
    restart: Option<RestartPolicy>,
    max_restarts: Option<MaxRestarts>,
    backoff: Option<Spanned<BackoffValue>>,
    stable_after: Option<Human>,
    stop_signal: Option<Signal>,
    stop_timeout: Option<Spanned<Human>>,
    autostart: Option<bool>,
    #[serde(default)]
    depends_on: Vec<Spanned<String>>,
    health: Option<Spanned<RawHealth>>,
    logs: Option<Spanned<RawLogs>>,
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
    fn to_check(&self) -> Result<HealthCheck, String> {
        let probe = match (&self.http, &self.tcp, &self.command) {
            (Some(url), None, None) => Probe::Http { url: url.clone() },
            (None, Some(target), None) => Probe::parse_tcp(target).map_err(|e| e.to_string())?,
            (None, None, Some(cmd)) => Probe::Command(cmd.clone()),
            _ => return Err("health needs exactly one of http, tcp or command".into()),
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
                .map_err(|_| custom("a duration must be a non-negative number of seconds"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<ProcessSpec>, ComposeError> {
        parse_compose(text, Path::new("/srv/app"))
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    fn spec(name: &str, deps: &[&str]) -> ProcessSpec {
        let mut spec = ProcessSpec::new(name, vec!["true".into()]);
        spec.depends_on = deps.iter().map(|d| d.to_string()).collect();
        spec
    }

    /// The example in the module documentation (copied to README.md) must parse.
    #[test]
    fn documented_example_parses() {
        let source = include_str!("compose.rs");
        let example: String = source
            .lines()
            .skip_while(|l| *l != "//! ```toml")
            .skip(1)
            .take_while(|l| *l != "//! ```")
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "PORT=1\nexport DEBUG='yes'\n").unwrap();
        let specs = parse_compose(&example, dir.path()).unwrap();
        let [db, web] = &specs[..] else {
            panic!("{specs:?}")
        };
        assert_eq!(db.command, ["postgres", "-D", "/var/lib/pg"]);
        assert_eq!(db.cwd.as_deref(), Some(dir.path()));
        assert_eq!(db.restart, RestartPolicy::Always);
        assert_eq!(web.command, ["python3", "-m", "http.server", "8000"]);
        assert_eq!(web.cwd, Some(dir.path().join("site")));
        assert_eq!(web.env["PORT"], "8000", "env wins over env_file");
        assert_eq!(web.env["DEBUG"], "yes");
        assert_eq!(web.restart, RestartPolicy::OnFailure);
        assert_eq!(web.max_restarts, Some(5));
        assert_eq!(web.backoff.to_string(), "1s:30s");
        assert_eq!(web.stable_after, Duration::from_secs(10));
        assert_eq!(web.stop_signal, Signal::INT);
        assert_eq!(web.stop_timeout, Duration::from_secs(10));
        assert_eq!(web.depends_on, ["db"]);
        let health = web.health.as_ref().unwrap();
        assert_eq!(
            health.probe,
            Probe::Http {
                url: "http://127.0.0.1:8000/".into()
            }
        );
        assert_eq!(health.interval, Duration::from_secs(2));
        assert_eq!(health.timeout, Duration::from_secs(1));
        assert_eq!(health.start_period, Duration::from_secs(1));
        assert_eq!(web.logs, LogLimits::default());
    }

    #[test]
    fn values_in_every_form() {
        let specs = parse(
            "[process.b]\ncommand = 'echo $HOME'\nmax_restarts = 'unlimited'\nstop_timeout = 3\n\
             health = { tcp = '[::1]:5432', retries = 1 }\nlogs = { max_bytes = 8192, max_files = 1 }\n\
             env = { N = 1, F = 1.5, B = true }\nautostart = false\ncwd = '/abs'\n\
             [process.a]\ncommand = 'sleep 1'\nhealth = { command = 'pg_isready' }\n\
             logs = { max_bytes = '1MB' }\nbackoff = '500ms:1m'\nstable_after = 1.5\n",
        )
        .unwrap();
        assert_eq!(specs[0].name, "b", "file order is kept");
        assert_eq!(specs[0].command, ["/bin/sh", "-c", "echo $HOME"]);
        assert_eq!(specs[0].max_restarts, None);
        assert_eq!(specs[0].stop_timeout, Duration::from_secs(3));
        let probe = &specs[0].health.as_ref().unwrap().probe;
        assert_eq!(
            *probe,
            Probe::Tcp {
                host: "::1".into(),
                port: 5432
            }
        );
        assert_eq!(
            specs[0].logs,
            LogLimits {
                max_bytes: 8192,
                max_files: 1
            }
        );
        assert_eq!(specs[0].env["N"], "1");
        assert_eq!(specs[0].env["F"], "1.5");
        assert_eq!(specs[0].env["B"], "true");
        assert!(!specs[0].autostart);
        assert_eq!(specs[0].cwd.as_deref(), Some(Path::new("/abs")));
        assert_eq!(specs[1].command, ["sleep", "1"]);
        assert_eq!(specs[1].logs.max_bytes, 1_000_000);
        assert_eq!(specs[1].logs.max_files, 5);
        assert_eq!(specs[1].backoff.base, Duration::from_millis(500));
        assert_eq!(specs[1].stable_after, Duration::from_millis(1500));
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = err("[process.a]\ncommand = 'x'\nrestart = \n");
        assert!(e.starts_with("procward.toml:3:"), "{e}");
        let e = err("[process.a]\ncommand = \"unterminated\n");
        assert!(e.starts_with("procward.toml:2:"), "{e}");
        let e = err("[process.a\ncommand = 'x'\n");
        assert!(e.starts_with("procward.toml:1:"), "{e}");
        assert_eq!(
            err(""),
            "procward.toml:1:1: no processes: add a [process.NAME] table with a command"
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_position() {
        let e = err("[process.a]\ncommand = 'x'\n    colour = 'red'\n");
        assert!(
            e.starts_with("procward.toml:3:5: unknown field `colour`, expected one of"),
            "{e}"
        );
        let e = err("[processes.a]\ncommand = 'x'\n");
        assert!(
            e.starts_with("procward.toml:1:2: unknown field `processes`"),
            "{e}"
        );
        let e = err("[process.a]\ncommand = 'x'\nhealth = { http = 'http://h/', every = '1s' }\n");
        assert!(
            e.starts_with("procward.toml:3:") && e.contains("unknown field `every`"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_names_are_errors_with_line() {
        let e = err("[process.a]\ncommand = 'x'\n\n[process.a]\ncommand = 'y'\n");
        assert!(e.starts_with("procward.toml:4:"), "{e}");
        assert!(e.contains("duplicate"), "{e}");
        let specs = [spec("a", &[]), spec("a", &[])];
        assert_eq!(
            start_order(&specs).unwrap_err().to_string(),
            "duplicate process name 'a'"
        );
    }

    #[test]
    fn bad_names_point_at_the_table() {
        let long = "x".repeat(65);
        for name in [
            "a/b",
            "..",
            "a..b",
            "my app",
            ".hidden",
            "-x",
            "",
            long.as_str(),
        ] {
            let e = err(&format!("\n[process.\"{name}\"]\ncommand = 'x'\n"));
            assert!(
                e.starts_with("procward.toml:2:10: invalid name"),
                "{name}: {e}"
            );
        }
    }

    #[test]
    fn missing_or_empty_commands() {
        for (text, line) in [
            ("[process.a]\ncommand = ''\n", 2),
            ("[process.a]\ncommand = '   '\n", 2),
            ("[process.a]\ncommand = []\n", 2),
            ("[process.a]\ncommand = ['', 'x']\n", 2),
            ("[process.a]\ncommand = 3\n", 2),
        ] {
            let e = err(text);
            assert!(
                e.starts_with(&format!("procward.toml:{line}:")),
                "{text}: {e}"
            );
        }
        let e = err("[process.a]\ncwd = '/'\n");
        assert!(
            e.starts_with("procward.toml:1:") && e.contains("missing field `command`"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_point_at_the_value() {
        for (line, bad) in [
            ("stop_timeout = '10 parsecs'", "unknown unit"),
            ("stop_timeout = '-1s'", "negative"),
            ("stop_timeout = '2h'", "over the limit of 1h"),
            ("stable_after = -3", "negative"),
            ("backoff = '0s:1s'", "greater than zero"),
            ("backoff = '10s:1s'", "below the base"),
            ("backoff = 'fast'", "BASE:MAX"),
            ("restart = 'sometimes'", "unknown variant `sometimes`"),
            ("stop_signal = 'SIGFOO'", "unknown signal"),
            ("max_restarts = -1", "max_restarts"),
            ("max_restarts = 'lots'", "unlimited"),
            ("logs = { max_bytes = '10 XB' }", "unknown unit"),
            ("logs = { max_bytes = 100 }", "below 4096"),
            ("logs = { max_files = 0 }", "max_files"),
            ("health = { http = 'https://x/' }", "only http://"),
            ("health = { tcp = 'host:0' }", "1-65535"),
            ("health = { tcp = 'host:70000' }", "1-65535"),
            ("health = { tcp = 'host' }", "HOST:PORT"),
            ("health = { command = '' }", "empty"),
            (
                "health = { http = 'http://x/', tcp = 'x:1' }",
                "exactly one",
            ),
            ("health = { command = 'true', retries = 0 }", "at least 1"),
            (
                "health = { command = 'true', interval = 0 }",
                "greater than zero",
            ),
            ("env = { 'A=B' = 'x' }", "'='"),
            ("env = { A = [1] }", "a string, number or boolean"),
            ("cwd = ''", "cwd is empty"),
            ("depends_on = ['a']", "depends on itself"),
            ("depends_on = ['x/y']", "invalid depends_on"),
            ("autostart = 'yes'", "invalid type"),
        ] {
            let e = err(&format!("[process.a]\ncommand = 'x'\n{line}\n"));
            assert!(e.starts_with("procward.toml:3:"), "{line}: {e}");
            assert!(e.contains(bad), "{line}: {e}");
        }
    }

    #[test]
    fn env_file_problems_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.env"), "A=1\n\nB='open\n").unwrap();
        let text = "[process.a]\ncommand = 'x'\nenv_file = 'bad.env'\n";
        let e = parse_compose(text, dir.path()).unwrap_err().to_string();
        assert!(
            e.starts_with("procward.toml:3:12: env_file ")
                && e.ends_with("bad.env: line 3: unterminated single quote"),
            "{e}"
        );
        let text = "[process.a]\ncommand = 'x'\nenv_file = 'missing.env'\n";
        let e = parse_compose(text, dir.path()).unwrap_err().to_string();
        assert!(
            e.starts_with("procward.toml:3:12: cannot read env_file"),
            "{e}"
        );
    }

    #[test]
    fn dependency_errors_point_at_the_entry() {
        let e = err(
            "[process.a]\ncommand = 'x'\ndepends_on = ['b', 'ghost']\n[process.b]\ncommand = 'x'\n",
        );
        assert_eq!(
            e,
            "procward.toml:3:20: process 'a' depends on unknown process 'ghost'"
        );
        let text = "[process.a]\ncommand = 'x'\ndepends_on = ['b']\n\n[process.b]\ncommand = 'x'\ndepends_on = ['a']\n";
        assert_eq!(
            err(text),
            "procward.toml:1:10: dependency cycle: a -> b -> a"
        );
    }

    #[test]
    fn compose_file_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("procward.toml");
        std::fs::write(&path, "[process.a]\ncommand = 'x'\ncwd = 'sub'\n").unwrap();
        let specs = parse_compose_file(&path).unwrap();
        assert_eq!(specs[0].cwd, Some(dir.path().join("sub")));
        std::fs::write(&path, "[process.a]\nbad = 1\n").unwrap();
        let e = parse_compose_file(&path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}:2:1: unknown field `bad`", path.display())),
            "{e}"
        );
        let e = parse_compose_file(&dir.path().join("none.toml")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn start_order_puts_dependencies_first_and_keeps_file_order() {
        let specs = [
            spec("web", &["db", "cache"]),
            spec("worker", &[]),
            spec("db", &[]),
            spec("cache", &["db"]),
        ];
        assert_eq!(
            start_order(&specs).unwrap(),
            ["worker", "db", "cache", "web"]
        );
        let specs = [spec("c", &[]), spec("b", &[]), spec("a", &[])];
        assert_eq!(start_order(&specs).unwrap(), ["c", "b", "a"]);
        assert!(start_order(&[]).unwrap().is_empty());
    }

    #[test]
    fn start_order_names_cycles_and_unknown_dependencies() {
        let specs = [
            spec("x", &["a"]),
            spec("a", &["b"]),
            spec("b", &["c"]),
            spec("c", &["a"]),
        ];
        assert_eq!(
            start_order(&specs).unwrap_err().to_string(),
            "dependency cycle: a -> b -> c -> a"
        );
        let specs = [spec("a", &["a"])];
        assert_eq!(
            start_order(&specs).unwrap_err().to_string(),
            "dependency cycle: a -> a"
        );
        let specs = [spec("a", &["zzz"])];
        let e = start_order(&specs).unwrap_err();
        assert_eq!(
            e.to_string(),
            "process 'a' depends on unknown process 'zzz'"
        );
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
}
