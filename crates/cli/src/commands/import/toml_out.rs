//! The procward.toml that `procward import` writes. A conversion is a list of processes,
//! each a set of keys whose values the `toml` crate encodes (so quoting and escaping are
//! never hand-made), rendered in one fixed key order under a comment naming the source,
//! with what was not converted as comments under each process. Every value is checked on
//! its own by procward's parser when it is set ([`check_field`]), and the whole file
//! again before it is printed ([`self_check`]), so `procward up` accepts what `import`
//! prints.

use std::fmt::Write as _;
use std::path::Path;

use procward_core::supervisor::compose::{ComposeError, parse_compose};
use serde::Serialize;
use toml::Value;

/// The order keys are written in: what runs, where, when it restarts, how it stops,
/// how many, what it waits for, its checks, its triggers, its limits, its logs.
const ORDER: &[&str] = &[
    "command",
    "cwd",
    "env",
    "restart",
    "max_restarts",
    "backoff",
    "stable_after",
    "success_exit_codes",
    "stop_signal",
    "stop_timeout",
    "autostart",
    "instances",
    "depends_on",
    "health",
    "readiness",
    "watch",
    "watch_ignore",
    "cron_restart",
    "memory_max",
    "on_breach",
    "best_effort",
    "logs",
];

/// Something in the source that the output does not carry, or carries with a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// The app or process it belongs to (its name in the source), or `(file)`.
    pub process: String,
    /// The source's field, such as `exec_mode` or `depends_on.db.condition`.
    pub field: String,
    /// Why, and what to do instead when there is something.
    pub reason: String,
}

/// A name that procward's rules did not accept as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rename {
    /// The name in the source.
    pub from: String,
    /// The name in procward.toml.
    pub to: String,
}

/// One `[process.NAME]` table being built.
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    /// The procward name (already valid and unique).
    pub name: String,
    /// The name in the source, for the skip list.
    pub source_name: String,
    fields: Vec<(&'static str, Value)>,
}

impl Process {
    /// A process with no keys yet.
    pub fn new(name: &str, source_name: &str) -> Self {
        Self {
            name: name.to_owned(),
            source_name: source_name.to_owned(),
            fields: Vec::new(),
        }
    }

    /// Sets `key` (replacing an earlier value). `key` must be one of [`ORDER`].
    pub fn set(&mut self, key: &'static str, value: impl Into<Value>) {
        debug_assert!(ORDER.contains(&key), "unknown key {key}");
        let value = value.into();
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((key, value)),
        }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        self.fields.retain(|(k, _)| *k != key);
    }

    fn sorted(&self) -> Vec<(&'static str, &Value)> {
        let mut fields: Vec<_> = self.fields.iter().map(|(k, v)| (*k, v)).collect();
        fields.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k));
        fields
    }
}

/// The result of converting one file.
#[derive(Debug, Default)]
pub struct Conversion {
    /// The processes, in source order.
    pub processes: Vec<Process>,
    /// What was not converted.
    pub skipped: Vec<Skip>,
    /// Names that were changed.
    pub renamed: Vec<Rename>,
    /// What was converted with a change worth knowing (a resolved `max`, a dropped format).
    pub notes: Vec<Skip>,
}

impl Conversion {
    /// Records a field that was not converted.
    pub fn skip(&mut self, process: &str, field: &str, reason: impl Into<String>) {
        self.skipped.push(Skip {
            process: process.to_owned(),
            field: field.to_owned(),
            reason: reason.into(),
        });
    }

    /// Records a field converted with a change.
    pub fn note(&mut self, process: &str, field: &str, reason: impl Into<String>) {
        self.notes.push(Skip {
            process: process.to_owned(),
            field: field.to_owned(),
            reason: reason.into(),
        });
    }
}

/// Whether a table key can be written bare; otherwise it is quoted (a `.` would make a
/// dotted key of `[process.my.app]`).
fn key(text: &str) -> String {
    let bare = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        text.to_owned()
    } else {
        Value::String(text.to_owned()).to_string()
    }
}

/// A comment line: one line whatever the source's text held.
fn comment(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("# {}\n", flat.trim_end())
}

/// The procward.toml text; `header` names the source.
pub fn render(conversion: &Conversion, header: &str) -> String {
    let mut out = comment(header);
    for skip in conversion.skipped.iter().filter(|s| s.process == FILE) {
        out += &comment(&format!("not converted: {}: {}", skip.field, skip.reason));
    }
    for process in &conversion.processes {
        let _ = write!(out, "\n[process.{}]\n", key(&process.name));
        for (k, v) in process.sorted() {
            let _ = writeln!(out, "{k} = {v}");
        }
        let mine = |s: &&Skip| s.process == process.source_name;
        for skip in conversion.skipped.iter().filter(mine) {
            out += &comment(&format!("not converted: {}: {}", skip.field, skip.reason));
        }
    }
    out
}

/// The process name of skips about the file as a whole.
pub const FILE: &str = "(file)";

/// Parses `text` with procward's own parser, as
/// `procward up` would from a file in `base`.
pub fn self_check(text: &str, base: &Path) -> Result<(), ComposeError> {
    parse_compose(text, base).map(drop)
}

/// Whether procward accepts `key = value` in a process table: the parser's own message
/// when not.
pub fn check_field(key: &str, value: &Value) -> Result<(), String> {
    let command = if key == "command" {
        ""
    } else {
        "command = \"true\"\n"
    };
    let text = format!("[process.x]\n{command}{key} = {value}\n");
    parse_compose(&text, Path::new("/")).map(drop).map_err(|e| {
        let message = match e {
            ComposeError::At { message, .. } => message,
            other => other.to_string(),
        };
        let message = message.strip_prefix("process 'x': ").unwrap_or(&message);
        message.to_owned()
    })
}

/// Sets `key` to `value` when procward accepts it; otherwise lists `field` with the reason.
/// Returns whether it was set.
pub fn set_checked(
    p: &mut Process,
    c: &mut Conversion,
    key: &'static str,
    field: &str,
    source: &serde_json::Value,
    value: Option<Value>,
) -> bool {
    match value {
        Some(value) => set_or_skip(p, c, key, field, value),
        None => {
            c.skip(
                &p.source_name,
                field,
                format!("unusable value {}", super::common::shown(source)),
            );
            false
        }
    }
}

/// Sets `key` when procward's parser accepts the value; otherwise lists `field`.
pub fn set_or_skip(
    p: &mut Process,
    c: &mut Conversion,
    key: &'static str,
    field: &str,
    value: Value,
) -> bool {
    match check_field(key, &value) {
        Ok(()) => {
            p.set(key, value);
            true
        }
        Err(e) => {
            c.skip(&p.source_name, field, e);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, Value)]) -> Value {
        Value::Table(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn renders_in_order_with_inline_tables_and_parses() {
        let mut conversion = Conversion::default();
        let mut p = Process::new("my.app", "my app");
        p.set("restart", "on-failure");
        p.set(
            "env",
            table(&[("A B", "x \"y\"\n".into()), ("PORT", "80".into())]),
        );
        p.set(
            "command",
            Value::Array(vec!["node".into(), "a b.js".into()]),
        );
        p.set("instances", 2);
        conversion.processes.push(p);
        conversion.skip("my app", "out_file", "logs\nare kept elsewhere");
        conversion.skip(FILE, "deploy", "no deploys");
        let text = render(&conversion, "converted from x");
        assert!(text.starts_with("# converted from x\n# not converted: deploy: no deploys\n"));
        assert!(text.contains("[process.\"my.app\"]\ncommand = [\"node\", \"a b.js\"]\nenv = {"));
        assert!(text.contains("instances = 2\n"));
        assert!(text.ends_with("# not converted: out_file: logs are kept elsewhere\n"));
        let specs = parse_compose(&text, Path::new("/srv")).unwrap();
        assert_eq!(specs[0].instances, 2);
        assert_eq!(specs[0].name, "my.app");
        assert_eq!(specs[0].env["A B"], "x \"y\"\n");
        assert_eq!(specs[0].command, ["node", "a b.js"]);
    }

    #[test]
    fn checks_single_fields_with_the_parsers_words() {
        assert_eq!(check_field("stop_timeout", &"10s".into()), Ok(()));
        let e = check_field("stop_timeout", &"2h".into()).unwrap_err();
        assert!(e.contains("over the limit of 1h"), "{e}");
        let e = check_field("cron_restart", &"0 0 * * * *".into()).unwrap_err();
        assert!(!e.starts_with("process"), "{e}");
        assert_eq!(check_field("command", &"a 'b c'".into()), Ok(()));
        let e = check_field("command", &"a 'b".into()).unwrap_err();
        assert!(e.contains("unterminated"), "{e}");
        let probe = table(&[("tcp", "127.0.0.1:80".into())]);
        assert_eq!(check_field("readiness", &probe), Ok(()));
    }

    /// The keys of replicas, exit codes and readiness parse as procward reads them.
    #[test]
    fn output_with_the_new_keys_parses() {
        let mut conversion = Conversion::default();
        let mut p = Process::new("api", "api");
        p.set("command", "node server.js");
        p.set("restart", "on-failure");
        p.set("success_exit_codes", Value::Array(vec![0.into(), 3.into()]));
        p.set("instances", 3);
        p.set("readiness", table(&[("tcp", "127.0.0.1:80".into())]));
        conversion.processes.push(p);
        let text = render(&conversion, "new keys");
        let specs = parse_compose(&text, Path::new("/srv")).unwrap();
        assert_eq!(specs[0].instances, 3);
        assert_eq!(specs[0].success_exit_codes, [0, 3]);
        assert!(specs[0].readiness.is_some());
    }
}
