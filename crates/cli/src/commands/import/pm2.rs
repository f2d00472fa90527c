//! pm2 apps (from ecosystem.config.js evaluated by node, pm2 JSON or pm2 YAML) to
//! procward processes: what has an equivalent is converted, everything else is listed
//! with the reason.

use procward_core::supervisor::spec::{command_from_string, shell_words as shell_join};
use serde_json::{Map, Value};
use toml::Value as Toml;

use super::common::{Names, Paths, boolean, shown, text};
use super::pm2_fields::{boolean_field, instances, restart, timing, watch};
use super::toml_out::{Conversion, FILE, Process, set_checked, set_or_skip};

/// Options of one pm2 conversion.
pub struct Options<'a> {
    /// `--env NAME`: merge `env_NAME` over `env`.
    pub env: Option<&'a str>,
    /// The machine's CPU count, for `instances: "max"`.
    pub cpus: u32,
    /// Where the source and the output are.
    pub paths: &'a Paths,
}

/// Why a pm2 option has no procward equivalent, for the options pm2 documents.
fn unmappable(field: &str) -> Option<&'static str> {
    const LOGS: &str =
        "procward keeps each stream in $PROCWARD_HOME/logs/NAME/ (see `procward logs NAME`)";
    Some(match field {
        "out_file" | "error_file" | "err_file" | "log_file" | "output" | "error" | "log"
        | "merge_logs" | "combine_logs" | "log_type" | "pid_file" | "pid" => LOGS,
        "disable_logs" => "procward always captures output (rotated by size)",
        "wait_ready" | "listen_timeout" => {
            "procward cannot receive process.send('ready'); add readiness = { http = \"...\" } \
             or { tcp = \"HOST:PORT\" } by hand"
        }
        "source_map_support" | "disable_source_map_support" => {
            "pass --enable-source-maps in node_args instead"
        }
        "namespace" => "procward has no namespaces; process names are unique",
        "user" | "uid" | "gid" => "procward runs processes as the daemon's user",
        "kill_retry_time" => "procward sends the stop signal once, then SIGKILL after stop_timeout",
        "shutdown_with_message" => "procward stops processes with a signal",
        "treekill" => "procward always signals the whole process group",
        "instance_var" | "increment_var" => "procward sets no per-instance variable",
        "watch_options" | "watch_delay" => {
            "procward waits for 300 ms of quiet before restarting; chokidar options do not apply"
        }
        "vizion"
        | "post_update"
        | "force"
        | "pmx"
        | "automation"
        | "filter_env"
        | "append_env_to_name"
        | "port"
        | "version"
        | "restart_on"
        | "trace"
        | "deep_monitoring"
        | "disable_trace"
        | "max_memory_restart_delay"
        | "cron_restart_delay" => "no procward equivalent",
        _ => return None,
    })
}

/// Options read by [`convert_app`] itself.
const HANDLED: &[&str] = &[
    "name",
    "script",
    "args",
    "interpreter",
    "exec_interpreter",
    "interpreter_args",
    "node_args",
    "cwd",
    "env",
    "autorestart",
    "max_restarts",
    "restart_delay",
    "exp_backoff_restart_delay",
    "min_uptime",
    "kill_timeout",
    "watch",
    "ignore_watch",
    "cron_restart",
    "instances",
    "exec_mode",
    "stop_exit_codes",
    "max_memory_restart",
    "time",
    "log_date_format",
    "autostart",
];

/// Converts pm2's apps (the `apps` array of an ecosystem file); `rest` is the file's
/// other top-level keys, listed as not converted.
pub fn convert(apps: &[Value], rest: &Map<String, Value>, options: &Options<'_>) -> Conversion {
    let mut conversion = Conversion::default();
    for (field, value) in rest {
        let reason = match field.as_str() {
            "deploy" => "procward does not deploy; keep using pm2 deploy or your CI for it",
            _ => "not a pm2 ecosystem key procward knows",
        };
        conversion.skip(
            FILE,
            field,
            format!("{reason} ({field} = {})", shown(value)),
        );
    }
    let mut names = Names::default();
    for (i, app) in apps.iter().enumerate() {
        convert_app(app, i, options, &mut names, &mut conversion);
    }
    conversion
}

fn convert_app(
    app: &Value,
    index: usize,
    options: &Options<'_>,
    names: &mut Names,
    c: &mut Conversion,
) {
    let place = format!("apps[{index}]");
    let Some(obj) = app.as_object() else {
        c.skip(&place, "", "not an object: app not converted");
        return;
    };
    let script = obj
        .get("script")
        .and_then(text)
        .filter(|s| !s.trim().is_empty());
    let source_name = obj
        .get("name")
        .and_then(text)
        .or_else(|| script.as_deref().map(stem))
        .unwrap_or(place);
    let Some(script) = script else {
        c.skip(&source_name, "script", "missing: app not converted");
        return;
    };
    let name = names.assign(&source_name, c);
    let mut p = Process::new(&name, &source_name);
    let n = source_name.as_str();

    let command = command(obj, &script, n, c);
    p.set(
        "command",
        Toml::Array(command.into_iter().map(Toml::String).collect()),
    );
    let cwd = obj.get("cwd").and_then(text);
    if let Some(dir) = options.paths.cwd(cwd.as_deref()) {
        p.set("cwd", dir);
    }
    env(obj, options.env, &mut p, c);
    restart(obj, &mut p, c);
    timing(obj, &mut p, c);
    if boolean_field(obj, "autostart", n, c) == Some(false) {
        p.set("autostart", false);
    }
    instances(obj, options.cpus, &mut p, c);
    watch(obj, &options.paths.absolute_cwd(cwd.as_deref()), &mut p, c);
    if let Some(v) = obj.get("cron_restart") {
        set_checked(
            &mut p,
            c,
            "cron_restart",
            "cron_restart",
            v,
            text(v).map(Toml::String),
        );
    }
    if let Some(v) = obj.get("max_memory_restart") {
        let size = match v {
            Value::Number(bytes) => bytes.as_i64().map(Toml::Integer),
            other => text(other).map(|s| Toml::String(s.trim().to_owned())),
        };
        if set_checked(&mut p, c, "memory_max", "max_memory_restart", v, size) {
            p.set("on_breach", "restart");
            // pm2 polls memory too; this lets `up` accept the limit where no cgroup can
            // hold it (a cgroup still enforces it where there is one).
            p.set("best_effort", true);
        }
    }
    let time = obj.get("time").and_then(boolean) == Some(true);
    if let Some(format) = obj.get("log_date_format") {
        c.note(
            n,
            "log_date_format",
            format!(
                "{} not kept: procward stamps each line in UTC with milliseconds \
                 (2026-12-06T08:48:23.123Z)",
                shown(format)
            ),
        );
    }
    if time || obj.contains_key("log_date_format") {
        let mut logs = toml::Table::new();
        logs.insert("timestamps".into(), true.into());
        p.set("logs", logs);
    }
    for (field, value) in obj {
        if HANDLED.contains(&field.as_str()) || field.starts_with("env_") {
            continue;
        }
        // `false` or null turns off something procward does not have: nothing to say.
        if matches!(value, Value::Bool(false) | Value::Null) && field != "treekill" {
            continue;
        }
        let reason = unmappable(field).unwrap_or("not a pm2 option procward knows");
        c.skip(n, field, format!("{reason} ({field} = {})", shown(value)));
    }
    c.processes.push(p);
}

/// The file name without folders and extension: pm2's default app name.
fn stem(script: &str) -> String {
    let file = script.rsplit('/').next().unwrap_or(script);
    match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => file.to_owned(),
    }
}

/// argv: the interpreter (pm2's by the script's extension unless given), its arguments,
/// the script, then `args`.
fn command(obj: &Map<String, Value>, script: &str, n: &str, c: &mut Conversion) -> Vec<String> {
    let interpreter = obj
        .get("interpreter")
        .or_else(|| obj.get("exec_interpreter"))
        .and_then(text);
    let by_extension = match script.rsplit_once('.').map(|(_, e)| e) {
        Some("js" | "cjs" | "mjs") => Some("node"),
        Some("py") => Some("python3"),
        Some("sh") => Some("bash"),
        Some("rb") => Some("ruby"),
        Some("php") => Some("php"),
        Some("pl") => Some("perl"),
        Some("ts") => Some("ts-node"),
        _ => None,
    };
    let interpreter = match interpreter.as_deref() {
        Some("none" | "") => None,
        Some(other) => Some(other.to_owned()),
        None => by_extension.map(str::to_owned),
    };
    let mut argv = Vec::new();
    match interpreter {
        Some(interpreter) => {
            argv.push(interpreter);
            for field in ["interpreter_args", "node_args"] {
                argv.extend(words(obj, field, n, c));
            }
            argv.push(script.to_owned());
        }
        // `script: "npm"` runs as is, with `args` after it.
        None if !script.contains(char::is_whitespace) => argv.push(script.to_owned()),
        // A script with spaces is a command line: split (or run by sh) as procward does.
        None => {
            let args = words(obj, "args", n, c);
            let line = format!("{script} {}", shell_join(&args));
            return command_from_string(line.trim()).unwrap_or_else(|_| vec![script.to_owned()]);
        }
    }
    argv.extend(words(obj, "args", n, c));
    argv
}

/// A list of arguments: an array as is, a string split like a shell.
fn words(obj: &Map<String, Value>, field: &str, n: &str, c: &mut Conversion) -> Vec<String> {
    match obj.get(field) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
        Some(v) => {
            let line = text(v).unwrap_or_default();
            shlex::split(&line).unwrap_or_else(|| {
                c.skip(n, field, format!("unbalanced quotes in {}", shown(v)));
                Vec::new()
            })
        }
    }
}

/// `env`, then `env_NAME` over it when `--env NAME` chose it; other `env_*` are listed.
fn env(obj: &Map<String, Value>, chosen: Option<&str>, p: &mut Process, c: &mut Conversion) {
    let mut vars = toml::Table::new();
    let mut add = |field: &str, c: &mut Conversion| match obj.get(field) {
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match text(v) {
                    Some(v) => {
                        vars.insert(k.clone(), Toml::String(v));
                    }
                    None if v.is_null() => {}
                    None => c.skip(
                        &p.source_name,
                        &format!("{field}.{k}"),
                        format!("not a string, number or boolean ({})", shown(v)),
                    ),
                }
            }
        }
        Some(other) => c.skip(
            &p.source_name,
            field,
            format!("not an object ({})", shown(other)),
        ),
        None => {}
    };
    add("env", c);
    for field in obj.keys().filter(|k| k.starts_with("env_")) {
        let env_name = &field["env_".len()..];
        if chosen == Some(env_name) {
            add(field, c);
        } else {
            c.skip(
                &p.source_name,
                field,
                format!("pm2 applies it with --env {env_name}; `procward import --env {env_name}` merges it over env"),
            );
        }
    }
    if !vars.is_empty() {
        set_or_skip(p, c, "env", "env", Toml::Table(vars));
    }
}

#[cfg(test)]
#[path = "pm2_tests.rs"]
mod tests;
