//! process-compose processes to procward processes. process-compose's defaults differ
//! from procward's (no restart unless `availability` says so, unlimited restarts, probes
//! every 10 s), so they are written out where they matter rather than left to procward's.

use std::collections::HashMap;

use serde_json::{Map, Value};
use toml::Value as Toml;

use super::common::{Names, Paths, boolean, integer, shown, strings, text};
use super::compose_probe::probe;
use super::toml_out::{Conversion, FILE, Process, set_checked, set_or_skip};

/// Why a process-compose field has no procward equivalent.
fn unmappable(field: &str) -> Option<&'static str> {
    Some(match field {
        "log_location" | "log_configuration" => {
            "procward keeps each stream in $PROCWARD_HOME/logs/NAME/ (see `procward logs NAME`)"
        }
        "is_daemon" => {
            "procward supervises the process it starts; run the daemon in the foreground instead"
        }
        "ready_log_line" => {
            "procward has no log-line readiness; use readiness = { tcp = ... } or { http = ... }"
        }
        "namespace" => "procward has no namespaces; process names are unique",
        "description" => "procward.toml has no description field",
        "is_tty" | "is_interactive" => "procward runs processes without a terminal",
        "is_elevated" => "procward runs processes as the daemon's user",
        "vars" => "process-compose template variables are not expanded; write the values in",
        "launch_timeout_seconds" => "procward has no launch timeout",
        _ => return None,
    })
}

/// Fields read by [`convert_process`] itself.
const HANDLED: &[&str] = &[
    "command",
    "entrypoint",
    "working_dir",
    "environment",
    "availability",
    "depends_on",
    "liveness_probe",
    "readiness_probe",
    "shutdown",
    "disabled",
    "replicas",
];

/// Converts a process-compose file: its `processes` in `order` (file order), with the
/// top-level `environment` merged under each process's own.
pub fn convert(root: &Map<String, Value>, order: &[String], paths: &Paths) -> Conversion {
    let mut c = Conversion::default();
    let global_env = root.get("environment").map(env_list).unwrap_or_default();
    for (field, value) in root {
        // `x-*` keys hold YAML anchors, which process-compose ignores too.
        let ignored = field.starts_with("x-");
        if !ignored && !matches!(field.as_str(), "processes" | "version" | "environment") {
            c.skip(
                FILE,
                field,
                format!("no procward equivalent ({field} = {})", shown(value)),
            );
        }
    }
    let processes = root.get("processes").and_then(Value::as_object);
    let Some(processes) = processes else {
        return c;
    };
    let mut names = Names::default();
    let renamed: HashMap<&str, String> = order
        .iter()
        .filter(|n| processes.contains_key(*n))
        .map(|n| (n.as_str(), names.assign(n, &mut c)))
        .collect();
    for name in order {
        if let Some(Value::Object(process)) = processes.get(name) {
            convert_process(
                name,
                process,
                &global_env,
                paths,
                processes,
                &renamed,
                &mut c,
            );
        } else if processes.contains_key(name) {
            c.skip(name, "", "not a mapping: process not converted");
        }
    }
    drop_missing_dependencies(&mut c);
    c
}

/// Removes dependencies on processes that were not converted (procward refuses a file
/// that names an unknown process), listing each.
fn drop_missing_dependencies(c: &mut Conversion) {
    let converted: Vec<String> = c.processes.iter().map(|p| p.name.clone()).collect();
    let mut dropped = Vec::new();
    for p in &mut c.processes {
        let Some(Toml::Array(deps)) = p.get("depends_on").cloned() else {
            continue;
        };
        let (kept, gone): (Vec<Toml>, Vec<Toml>) = deps
            .into_iter()
            .partition(|d| d.as_str().is_some_and(|d| converted.iter().any(|c| c == d)));
        for dep in gone {
            let dep = dep.as_str().unwrap_or_default().to_owned();
            dropped.push((p.source_name.clone(), dep));
        }
        if kept.is_empty() {
            p.remove("depends_on");
        } else {
            p.set("depends_on", Toml::Array(kept));
        }
    }
    for (process, dep) in dropped {
        c.skip(
            &process,
            &format!("depends_on.{dep}"),
            format!("{dep} was not converted"),
        );
    }
}

fn convert_process(
    n: &str,
    obj: &Map<String, Value>,
    global_env: &[(String, String)],
    paths: &Paths,
    all: &Map<String, Value>,
    renamed: &HashMap<&str, String>,
    c: &mut Conversion,
) {
    let mut p = Process::new(&renamed[n], n);
    let command = obj
        .get("command")
        .and_then(text)
        .filter(|s| !s.trim().is_empty());
    let entrypoint = obj
        .get("entrypoint")
        .and_then(strings)
        .filter(|e| !e.is_empty());
    let command = match (entrypoint, command) {
        (Some(mut argv), command) => {
            argv.extend(command);
            Toml::Array(argv.into_iter().map(Toml::String).collect())
        }
        (None, Some(line)) => Toml::String(line),
        (None, None) => {
            c.skip(n, "command", "missing: process not converted");
            return;
        }
    };
    if !set_or_skip(&mut p, c, "command", "command", command) {
        return;
    }
    let cwd = obj.get("working_dir").and_then(text);
    if let Some(dir) = paths.cwd(cwd.as_deref()) {
        p.set("cwd", dir);
    }
    let mut env: Vec<(String, String)> = global_env.to_vec();
    env.extend(obj.get("environment").map(env_list).unwrap_or_default());
    if !env.is_empty() {
        let table: toml::Table = env.into_iter().map(|(k, v)| (k, Toml::String(v))).collect();
        set_or_skip(&mut p, c, "env", "environment", Toml::Table(table));
    }
    availability(obj.get("availability"), &mut p, c);
    shutdown(obj.get("shutdown"), &mut p, c);
    if obj.get("disabled").and_then(boolean) == Some(true) {
        p.set("autostart", false);
    }
    if let Some(v) = obj.get("replicas") {
        match integer(v) {
            Some(1) => {}
            Some(k) if (2..=256).contains(&k) => p.set("instances", k),
            _ => c.skip(n, "replicas", format!("not 1-256 ({})", shown(v))),
        }
    }
    depends_on(obj.get("depends_on"), n, all, renamed, &mut p, c);
    for (field, key) in [
        ("liveness_probe", "health"),
        ("readiness_probe", "readiness"),
    ] {
        if let Some(v) = obj.get(field) {
            match probe(v, n, field, c) {
                Ok(table) => {
                    set_or_skip(&mut p, c, key, field, Toml::Table(table));
                }
                Err(why) => c.skip(n, field, why),
            }
        }
    }
    for (field, value) in obj {
        if HANDLED.contains(&field.as_str()) {
            continue;
        }
        // `false` or null turns off something procward does not have: nothing to say.
        if matches!(value, Value::Bool(false) | Value::Null) {
            continue;
        }
        let reason = unmappable(field).unwrap_or("not a process-compose field procward knows");
        c.skip(n, field, format!("{reason} ({field} = {})", shown(value)));
    }
    c.processes.push(p);
}

/// `environment`: a list of `K=V` (or a mapping).
fn env_list(value: &Value) -> Vec<(String, String)> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(text)
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (kv, String::new()),
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
            .collect(),
        _ => Vec::new(),
    }
}

/// `availability`: restart policy (process-compose's default is no restart), fixed
/// back-off, and max_restarts (0, its default, is unlimited).
fn availability(value: Option<&Value>, p: &mut Process, c: &mut Conversion) {
    let n = p.source_name.clone();
    let obj = value.and_then(Value::as_object);
    let policy = obj.and_then(|o| o.get("restart")).and_then(text);
    let restart = match policy.as_deref() {
        None | Some("no") => "never",
        Some("always") => "always",
        Some("on_failure") => "on-failure",
        Some("exit_on_failure") => {
            c.skip(
                &n,
                "availability.restart",
                "exit_on_failure stops every process when this one fails; procward stops \
                 none (restart = \"never\" written)",
            );
            "never"
        }
        Some(other) => {
            c.skip(
                &n,
                "availability.restart",
                format!("unknown policy {other:?} (restart = \"never\" written)"),
            );
            "never"
        }
    };
    p.set("restart", restart);
    let Some(obj) = obj else { return };
    if restart != "never" {
        match obj.get("max_restarts").map(|v| (v, integer(v))) {
            None | Some((_, Some(0))) => p.set("max_restarts", "unlimited"),
            Some((v, count)) => {
                let count = count.filter(|k| *k > 0).map(Toml::Integer);
                set_checked(p, c, "max_restarts", "availability.max_restarts", v, count);
            }
        }
    }
    if let Some(v) = obj.get("backoff_seconds") {
        let fixed = integer(v)
            .filter(|s| *s > 0)
            .map(|s| Toml::String(format!("{s}s:{s}s")));
        set_checked(p, c, "backoff", "availability.backoff_seconds", v, fixed);
    }
    for (field, value) in obj {
        if !matches!(
            field.as_str(),
            "restart" | "max_restarts" | "backoff_seconds"
        ) {
            c.skip(
                &n,
                &format!("availability.{field}"),
                format!("no procward equivalent ({})", shown(value)),
            );
        }
    }
}

/// `shutdown`: signal (a number) and timeout; a shutdown command cannot be kept.
fn shutdown(value: Option<&Value>, p: &mut Process, c: &mut Conversion) {
    let Some(obj) = value.and_then(Value::as_object) else {
        return;
    };
    let n = p.source_name.clone();
    for (field, v) in obj {
        let place = format!("shutdown.{field}");
        match field.as_str() {
            "signal" => {
                // A number (process-compose's form) is written as its name: "2" is SIGINT.
                let name = text(v).map(|s| match s.parse::<procward_core::Signal>() {
                    Ok(signal) => signal.name().to_owned(),
                    Err(_) => s,
                });
                set_checked(p, c, "stop_signal", &place, v, name.map(Toml::String));
            }
            "timeout_seconds" => {
                let secs = integer(v).filter(|s| *s >= 0).map(|s| Toml::String(format!("{s}s")));
                set_checked(p, c, "stop_timeout", &place, v, secs);
            }
            "command" => c.skip(&n, &place, "procward stops a process with its stop_signal; run the command yourself before `procward down`"),
            _ => c.skip(&n, &place, format!("no procward equivalent ({})", shown(v))),
        }
    }
}

/// `depends_on: {db: {condition: ...}}` (or a list of names).
fn depends_on(
    value: Option<&Value>,
    n: &str,
    all: &Map<String, Value>,
    renamed: &HashMap<&str, String>,
    p: &mut Process,
    c: &mut Conversion,
) {
    let deps: Vec<(String, Option<String>)> = match value {
        None | Some(Value::Null) => return,
        Some(Value::Object(map)) => map
            .iter()
            .map(|(dep, v)| (dep.clone(), v.get("condition").and_then(text)))
            .collect(),
        Some(v) => strings(v)
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d, None))
            .collect(),
    };
    let mut names = Vec::new();
    for (dep, condition) in deps {
        let Some(target) = renamed.get(dep.as_str()) else {
            c.skip(
                n,
                &format!("depends_on.{dep}"),
                "no process of that name in the file",
            );
            continue;
        };
        let place = format!("depends_on.{dep}.condition");
        let has_probe = all
            .get(&dep)
            .is_some_and(|d| d.get("liveness_probe").is_some());
        match condition.as_deref() {
            None | Some("process_started") if has_probe => c.note(
                n,
                &place,
                format!("procward waits until {dep} is healthy, since it has a health check"),
            ),
            Some("process_healthy") if !has_probe => c.note(
                n,
                &place,
                format!("{dep} has no liveness_probe (procward's health check), so procward waits only until it has started"),
            ),
            Some(cond @ ("process_completed" | "process_completed_successfully" | "process_log_ready")) => c.skip(
                n,
                &place,
                format!("{cond}: procward starts this once {dep} has started (or is healthy); it does not wait for {dep} to exit or log"),
            ),
            _ => {}
        }
        names.push(Toml::String(target.clone()));
    }
    if !names.is_empty() {
        p.set("depends_on", Toml::Array(names));
    }
}

#[cfg(test)]
#[path = "compose_tests.rs"]
mod tests;
