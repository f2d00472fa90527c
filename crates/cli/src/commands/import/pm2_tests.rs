use serde_json::json;

use super::*;
use crate::commands::import::toml_out::{FILE, render, self_check};

fn paths() -> Paths {
    Paths {
        source_dir: "/srv/shop".into(),
        output_dir: None,
    }
}

fn run(apps: Value, env: Option<&str>) -> Conversion {
    let paths = paths();
    let options = Options {
        env,
        cpus: 4,
        paths: &paths,
    };
    let apps = apps.as_array().unwrap().clone();
    let c = convert(&apps, &Map::new(), &options);
    // Whatever the input, the output parses.
    self_check(&render(&c, "test"), &paths.source_dir).unwrap();
    c
}

fn get(c: &Conversion, i: usize, key: &str) -> Option<String> {
    c.processes[i].get(key).map(Toml::to_string)
}

fn skipped(c: &Conversion) -> Vec<(&str, &str)> {
    c.skipped
        .iter()
        .map(|s| (s.process.as_str(), s.field.as_str()))
        .collect()
}

#[test]
fn script_and_interpreter_make_argv() {
    let c = run(
        json!([
            {"name": "a", "script": "app.js", "args": "--port 80 'x y'"},
            {"name": "b", "script": "tool", "args": ["serve"]},
            {"name": "c", "script": "run.sh", "interpreter": "none"},
            {"name": "d", "script": "main.py", "interpreter_args": ["-u"]},
            {"script": "/opt/bin/server.mjs", "node_args": "--inspect"},
            {"name": "f", "script": "npm run start", "args": "--silent"},
        ]),
        None,
    );
    let argv: Vec<String> = (0..6).map(|i| get(&c, i, "command").unwrap()).collect();
    assert_eq!(argv[0], r#"["node", "app.js", "--port", "80", "x y"]"#);
    assert_eq!(argv[1], r#"["tool", "serve"]"#);
    assert_eq!(argv[2], r#"["run.sh"]"#);
    assert_eq!(argv[3], r#"["python3", "-u", "main.py"]"#);
    assert_eq!(argv[4], r#"["node", "--inspect", "/opt/bin/server.mjs"]"#);
    assert_eq!(argv[5], r#"["npm", "run", "start", "--silent"]"#);
    // pm2 names an unnamed app after its script.
    assert_eq!(c.processes[4].name, "server");
}

#[test]
fn restart_and_timing_fields_map() {
    let c = run(
        json!([
            {"name": "a", "script": "a", "autorestart": false, "max_restarts": 3,
             "restart_delay": 250, "min_uptime": 5000, "kill_timeout": "30s"},
            {"name": "b", "script": "b", "stop_exit_codes": 0, "exp_backoff_restart_delay": 20000},
            {"name": "c", "script": "c", "restart_delay": 0, "kill_timeout": 7_200_000},
        ]),
        None,
    );
    assert_eq!(get(&c, 0, "restart").unwrap(), "\"never\"");
    assert_eq!(get(&c, 0, "max_restarts").unwrap(), "3");
    assert_eq!(get(&c, 0, "backoff").unwrap(), "\"250ms:250ms\"");
    assert_eq!(get(&c, 0, "stable_after").unwrap(), "\"5s\"");
    assert_eq!(get(&c, 0, "stop_timeout").unwrap(), "\"30s\"");
    assert_eq!(get(&c, 1, "restart").unwrap(), "\"on-failure\"");
    assert_eq!(get(&c, 1, "success_exit_codes").unwrap(), "[0]");
    assert_eq!(get(&c, 1, "backoff").unwrap(), "\"20s:20s\"");
    // Out of procward's range, or meaning "no back-off": listed, with the parser's words.
    assert_eq!(get(&c, 2, "backoff"), None);
    assert_eq!(get(&c, 2, "stop_timeout"), None);
    let reason = &c
        .skipped
        .iter()
        .find(|s| s.field == "kill_timeout")
        .unwrap()
        .reason;
    assert!(reason.contains("1h"), "{reason}");
    assert_eq!(skipped(&c), [("c", "restart_delay"), ("c", "kill_timeout")]);
}

#[test]
fn env_merges_only_the_chosen_environment() {
    let apps = json!([{"name": "a", "script": "a", "env": {"A": 1, "B": "x", "C": true},
        "env_production": {"B": "prod"}, "env_staging": {"B": "stage"}}]);
    let c = run(apps.clone(), None);
    assert_eq!(
        get(&c, 0, "env").unwrap(),
        r#"{ A = "1", B = "x", C = "true" }"#
    );
    assert_eq!(skipped(&c), [("a", "env_production"), ("a", "env_staging")]);
    let c = run(apps, Some("production"));
    assert_eq!(
        get(&c, 0, "env").unwrap(),
        r#"{ A = "1", B = "prod", C = "true" }"#
    );
    assert_eq!(skipped(&c), [("a", "env_staging")]);
}

#[test]
fn instances_watch_memory_and_logs() {
    let c = run(
        json!([
            {"name": "a", "script": "a", "instances": "max", "exec_mode": "cluster_mode",
             "watch": ["src", "./conf/", "*.json"], "ignore_watch": ["node_modules", "../x"],
             "max_memory_restart": "1G", "time": true},
            {"name": "b", "script": "b", "instances": -1, "watch": true, "log_date_format": "HH:mm"},
            {"name": "c", "script": "c", "instances": 1000, "ignore_watch": ["x"]},
        ]),
        None,
    );
    assert_eq!(get(&c, 0, "instances").unwrap(), "4");
    assert_eq!(
        get(&c, 0, "watch").unwrap(),
        r#"["src/**", "conf/**", "*.json"]"#
    );
    assert_eq!(get(&c, 0, "watch_ignore").unwrap(), r#"["node_modules"]"#);
    assert_eq!(get(&c, 0, "memory_max").unwrap(), "\"1G\"");
    assert_eq!(get(&c, 0, "on_breach").unwrap(), "\"restart\"");
    assert_eq!(get(&c, 0, "logs").unwrap(), "{ timestamps = true }");
    assert_eq!(get(&c, 1, "instances").unwrap(), "3");
    assert_eq!(get(&c, 1, "watch").unwrap(), r#"["**/*"]"#);
    assert_eq!(get(&c, 1, "logs").unwrap(), "{ timestamps = true }");
    assert_eq!(get(&c, 2, "instances"), None);
    assert_eq!(
        skipped(&c),
        [
            ("a", "exec_mode"),
            ("a", "ignore_watch"),
            ("c", "instances"),
            ("c", "ignore_watch")
        ]
    );
    let notes: Vec<_> = c
        .notes
        .iter()
        .map(|n| (n.process.as_str(), n.field.as_str()))
        .collect();
    assert_eq!(
        notes,
        [
            ("a", "instances"),
            ("b", "instances"),
            ("b", "log_date_format")
        ]
    );
}

#[test]
fn unknown_and_unmappable_fields_are_listed_with_reasons() {
    let paths = paths();
    let options = Options {
        env: None,
        cpus: 1,
        paths: &paths,
    };
    let apps = [
        json!({"name": "a", "script": "a", "out_file": "/tmp/o", "colour": "red",
        "vizion": false, "treekill": false}),
        json!({"name": "no script"}),
        json!(3),
    ];
    let mut rest = Map::new();
    rest.insert("deploy".into(), json!({}));
    let c = convert(&apps, &rest, &options);
    assert_eq!(c.processes.len(), 1);
    assert_eq!(
        skipped(&c),
        [
            (FILE, "deploy"),
            ("a", "colour"),
            ("a", "out_file"),
            ("a", "treekill"),
            ("no script", "script"),
            ("apps[2]", "")
        ]
    );
    assert!(
        c.skipped[2].reason.contains("logs NAME"),
        "{:?}",
        c.skipped[2]
    );
}
