use serde_json::json;

use super::*;
use crate::commands::import::toml_out::{render, self_check};

fn run(root: Value) -> Conversion {
    let paths = Paths {
        source_dir: "/srv/stack".into(),
        output_dir: None,
    };
    let root = root.as_object().unwrap().clone();
    let order: Vec<String> = root["processes"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let c = convert(&root, &order, &paths);
    self_check(&render(&c, "test"), &paths.source_dir).unwrap();
    c
}

fn get(c: &Conversion, name: &str, key: &str) -> Option<String> {
    let p = c.processes.iter().find(|p| p.source_name == name).unwrap();
    p.get(key).map(Toml::to_string)
}

fn fields(list: &[crate::commands::import::toml_out::Skip]) -> Vec<(&str, &str)> {
    list.iter()
        .map(|s| (s.process.as_str(), s.field.as_str()))
        .collect()
}

#[test]
fn defaults_of_process_compose_are_written_out() {
    let c = run(json!({"processes": {
        "a": {"command": "sleep 1"},
        "b": {"command": "sleep 1", "availability": {"restart": "always"}},
        "c": {"command": "sleep 1", "availability": {"restart": "on_failure", "max_restarts": 2, "backoff_seconds": 3}},
        "d": {"command": "sleep 1", "availability": {"restart": "exit_on_failure", "exit_on_end": true}},
    }}));
    assert_eq!(get(&c, "a", "restart").unwrap(), "\"never\"");
    assert_eq!(get(&c, "a", "max_restarts"), None);
    assert_eq!(get(&c, "b", "max_restarts").unwrap(), "\"unlimited\"");
    assert_eq!(get(&c, "c", "restart").unwrap(), "\"on-failure\"");
    assert_eq!(get(&c, "c", "max_restarts").unwrap(), "2");
    assert_eq!(get(&c, "c", "backoff").unwrap(), "\"3s:3s\"");
    assert_eq!(get(&c, "d", "restart").unwrap(), "\"never\"");
    assert_eq!(
        fields(&c.skipped),
        [
            ("d", "availability.restart"),
            ("d", "availability.exit_on_end")
        ]
    );
}

#[test]
fn probes_become_health_and_readiness() {
    let c = run(json!({"processes": {
        "a": {"command": "srv",
              "liveness_probe": {"http_get": {"host": "127.0.0.1", "port": "8080", "path": "live"},
                                 "initial_delay_seconds": 5, "success_threshold": 2},
              "readiness_probe": {"exec": {"command": "test -f /tmp/ready"}, "period_seconds": 1}},
        "b": {"command": "srv", "liveness_probe": {"http_get": {"port": 443, "scheme": "https"}},
              "readiness_probe": {"period_seconds": 1}},
    }}));
    assert_eq!(
        get(&c, "a", "health").unwrap(),
        r#"{ http = "http://127.0.0.1:8080/live", interval = "10s", retries = 3, start_period = "5s", timeout = "1s" }"#
    );
    assert_eq!(
        get(&c, "a", "readiness").unwrap(),
        r#"{ command = "test -f /tmp/ready", interval = "1s", retries = 3, timeout = "1s" }"#
    );
    assert_eq!(get(&c, "b", "health"), None);
    assert_eq!(
        fields(&c.skipped),
        [
            ("a", "liveness_probe.success_threshold"),
            ("b", "liveness_probe"),
            ("b", "readiness_probe")
        ]
    );
    assert!(
        c.skipped[1].reason.contains("plain http"),
        "{:?}",
        c.skipped[1]
    );
}

#[test]
fn dependencies_follow_renames_and_conditions() {
    let c = run(json!({
        "environment": ["G=1", "H=2"],
        "log_level": "debug",
        "x-anchor": {},
        "processes": {
            "my db": {"command": "db", "environment": ["H=3"], "shutdown": {"signal": 15, "timeout_seconds": 9, "command": "x"}},
            "job": {"command": "job", "depends_on": {"my db": {"condition": "process_completed_successfully"}}},
            "web": {"command": "web", "replicas": 2, "disabled": true,
                    "depends_on": {"job": {"condition": "process_started"}, "ghost": {}, "broken": {}}},
            "broken": {"working_dir": "/x"},
        }
    }));
    assert_eq!(c.processes.len(), 3);
    assert_eq!(get(&c, "my db", "env").unwrap(), r#"{ G = "1", H = "3" }"#);
    assert_eq!(get(&c, "my db", "stop_signal").unwrap(), "\"SIGTERM\"");
    assert_eq!(get(&c, "my db", "stop_timeout").unwrap(), "\"9s\"");
    assert_eq!(get(&c, "job", "depends_on").unwrap(), r#"["my-db"]"#);
    assert_eq!(get(&c, "web", "depends_on").unwrap(), r#"["job"]"#);
    assert_eq!(get(&c, "web", "instances").unwrap(), "2");
    assert_eq!(get(&c, "web", "autostart").unwrap(), "false");
    assert_eq!(c.renamed[0].to, "my-db");
    assert_eq!(
        fields(&c.skipped),
        [
            // json! objects are sorted; a YAML file keeps its own order.
            ("(file)", "log_level"),
            ("broken", "command"),
            ("job", "depends_on.my db.condition"),
            ("my db", "shutdown.command"),
            ("web", "depends_on.ghost"),
            ("web", "depends_on.broken"),
        ]
    );
}
