//! `procward import` conversions: the real binary on real pm2 and process-compose files
//! (JS files through the real node), the produced keys and the "not converted" list, and
//! the output accepted by procward's own parser. Refusals and imported files run by
//! `procward up` are in import_run.rs.

mod common;

use common::Procward;
use common::import::*;

#[test]
fn pm2_ecosystem_js_is_evaluated_and_converted() {
    if !node_available("pm2_ecosystem_js_is_evaluated_and_converted") {
        return;
    }
    let pw = Procward::new();
    let file = fixture("ecosystem.config.js");
    let result = import_json(&pw, &[file.to_str().unwrap()]);
    let text = result["toml"].as_str().unwrap();
    assert!(text.starts_with(
        "# procward.toml converted by `procward import` from ecosystem.config.js (pm2)"
    ));
    parses(text);
    let processes = tables(text);
    assert_eq!(
        keys_of(&processes),
        ["api", "nightly-report", "queue-worker"]
    );
    let cpus = std::thread::available_parallelism().unwrap().get();
    let api = &processes["api"];
    let mut api_keys = vec!["command", "cwd", "env", "stop_timeout"];
    if cpus > 1 {
        api_keys.push("instances");
    }
    api_keys.extend(["memory_max", "on_breach", "best_effort", "logs"]);
    assert_eq!(keys(api), sorted(&api_keys));
    assert_eq!(
        api["command"].to_string(),
        r#"["node", "--max-old-space-size=256", "./server.js", "--port", "3000"]"#
    );
    assert_eq!(
        api["env"].to_string(),
        r#"{ NODE_ENV = "development", PORT = "3000" }"#
    );
    assert_eq!(api["stop_timeout"].as_str(), Some("8s"));
    assert_eq!(api["memory_max"].as_str(), Some("300M"));
    assert_eq!(api["on_breach"].as_str(), Some("restart"));
    assert_eq!(api["logs"].to_string(), "{ timestamps = true }");
    if cpus > 1 {
        assert_eq!(api["instances"].as_integer(), Some(cpus as i64));
    }
    let worker = &processes["queue-worker"];
    assert_eq!(
        keys(worker),
        sorted(&[
            "command",
            "env",
            "restart",
            "max_restarts",
            "backoff",
            "stable_after",
            "success_exit_codes",
            "watch",
            "watch_ignore"
        ])
    );
    assert_eq!(
        worker["command"].to_string(),
        r#"["/usr/bin/python3", "-u", "worker.py"]"#
    );
    assert_eq!(worker["restart"].as_str(), Some("on-failure"));
    assert_eq!(worker["success_exit_codes"].to_string(), "[0, 3]");
    assert_eq!(worker["backoff"].as_str(), Some("100ms:15s"));
    assert_eq!(worker["stable_after"].as_str(), Some("30s"));
    assert_eq!(worker["watch"].to_string(), r#"["lib/**", "*.toml"]"#);
    let report = &processes["nightly-report"];
    assert_eq!(
        keys(report),
        sorted(&[
            "command",
            "restart",
            "backoff",
            "autostart",
            "cron_restart",
            "logs"
        ])
    );
    assert_eq!(report["restart"].as_str(), Some("never"));
    assert_eq!(report["cron_restart"].as_str(), Some("0 3 * * *"));

    assert_eq!(
        skipped(&result),
        pairs(&[
            ("(file)", "deploy"),
            ("api", "env_production"),
            ("api", "exec_mode"),
            ("api", "error_file"),
            ("api", "listen_timeout"),
            ("api", "merge_logs"),
            ("api", "out_file"),
            ("api", "wait_ready"),
            ("nightly-report", "source_map_support"),
        ])
    );
    assert_eq!(
        result["renamed"],
        serde_json::json!([{"from": "queue worker", "to": "queue-worker"}])
    );
    let cluster = &result["skipped"][2]["reason"];
    assert!(
        cluster.as_str().unwrap().contains("SO_REUSEPORT"),
        "{cluster}"
    );

    // --env production merges env_production; the plain output is the TOML, the list on stderr.
    let out = pw
        .cmd()
        .args(["import", file.to_str().unwrap(), "--env", "production"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        tables(&text)["api"]["env"].to_string(),
        r#"{ NODE_ENV = "production", PORT = "3000" }"#
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("not converted:\n"), "{stderr}");
    assert!(
        stderr.contains("  api: exec_mode: cluster mode has no equivalent"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  \"queue worker\" -> queue-worker"),
        "{stderr}"
    );
    assert!(!stderr.contains("env_production"), "{stderr}");
}

#[test]
fn pm2_json_and_yaml_convert_without_node() {
    let pw = Procward::new();
    let result = import_json(&pw, &[fixture("ecosystem.json").to_str().unwrap()]);
    let text = result["toml"].as_str().unwrap();
    parses(text);
    let processes = tables(text);
    let web = &processes["web"];
    assert_eq!(
        keys(web),
        sorted(&[
            "command",
            "env",
            "max_restarts",
            "backoff",
            "instances",
            "watch",
            "watch_ignore"
        ])
    );
    assert_eq!(web["command"].to_string(), r#"["node", "app.js"]"#);
    assert_eq!(web["instances"].as_integer(), Some(2));
    assert_eq!(web["watch"].to_string(), r#"["**/*"]"#);
    assert_eq!(web["backoff"].as_str(), Some("500ms:500ms"));
    let tool = &processes["bin-tool"];
    assert_eq!(
        tool["command"].to_string(),
        r#"["/usr/local/bin/tool", "serve", "--fast"]"#
    );
    assert_eq!(tool["memory_max"].as_integer(), Some(104_857_600));
    assert_eq!(tool["stop_timeout"].as_str(), Some("1500ms"));
    assert_eq!(
        skipped(&result),
        pairs(&[("web", "env_staging"), ("web", "user")])
    );

    // A bare array in YAML, written beside an -o file in another folder: cwd made absolute.
    let dir = pw.dir().join("src");
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = dir.join("pm2.yml");
    std::fs::write(&yaml, "- name: one\n  script: one.sh\n  args: [a]\n").unwrap();
    let out_file = pw.dir().join("procward.toml");
    pw.cmd()
        .args([
            "import",
            yaml.to_str().unwrap(),
            "-o",
            out_file.to_str().unwrap(),
        ])
        .assert()
        .success();
    let written = std::fs::read_to_string(&out_file).unwrap();
    let one = &tables(&written)["one"];
    assert_eq!(one["command"].to_string(), r#"["bash", "one.sh", "a"]"#);
    assert_eq!(one["cwd"].as_str(), Some(dir.to_str().unwrap()));
    // procward's own file parser reads what was written.
    procward_core::supervisor::compose::parse_compose_file(&out_file).unwrap();
    // Not overwritten without --force; overwritten with it.
    std::fs::write(&out_file, "keep me").unwrap();
    let out = pw
        .cmd()
        .args([
            "import",
            yaml.to_str().unwrap(),
            "-o",
            out_file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "keep me");
    pw.cmd()
        .args([
            "import",
            yaml.to_str().unwrap(),
            "-o",
            out_file.to_str().unwrap(),
            "--force",
        ])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(&out_file)
            .unwrap()
            .contains("[process.one]")
    );
}

#[test]
fn process_compose_converts_dependencies_probes_and_replicas() {
    let pw = Procward::new();
    let result = import_json(&pw, &[fixture("process-compose.yaml").to_str().unwrap()]);
    let text = result["toml"].as_str().unwrap();
    parses(text);
    // File order is kept.
    let order: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("[process.")?.strip_suffix(']'))
        .collect();
    assert_eq!(order, ["db", "migrate", "api", "web-ui", "docs"]);
    let processes = tables(text);
    let db = &processes["db"];
    assert_eq!(
        keys(db),
        sorted(&[
            "command",
            "cwd",
            "env",
            "restart",
            "stop_signal",
            "stop_timeout",
            "readiness"
        ])
    );
    assert_eq!(db["command"].as_str(), Some("postgres -D ./data -p 5433"));
    assert_eq!(db["cwd"].as_str(), Some("./db"));
    assert_eq!(db["restart"].as_str(), Some("never"));
    assert_eq!(db["stop_signal"].as_str(), Some("SIGINT"));
    assert_eq!(db["stop_timeout"].as_str(), Some("20s"));
    assert_eq!(
        db["readiness"].to_string(),
        r#"{ command = "pg_isready -h 127.0.0.1 -p 5433", interval = "5s", retries = 10, start_period = "2s", timeout = "2s" }"#
    );
    let api = &processes["api"];
    assert_eq!(
        keys(api),
        sorted(&[
            "command",
            "env",
            "restart",
            "max_restarts",
            "backoff",
            "instances",
            "depends_on",
            "health",
            "readiness"
        ])
    );
    assert_eq!(
        api["env"].to_string(),
        r#"{ APP_ENV = "dev", DATABASE_URL = "postgres://127.0.0.1:5433/app", PORT = "8080" }"#
    );
    assert_eq!(api["restart"].as_str(), Some("on-failure"));
    assert_eq!(api["max_restarts"].as_integer(), Some(5));
    assert_eq!(api["backoff"].as_str(), Some("2s:2s"));
    assert_eq!(api["instances"].as_integer(), Some(3));
    assert_eq!(api["depends_on"].to_string(), r#"["db", "migrate"]"#);
    assert_eq!(
        api["health"].to_string(),
        r#"{ http = "http://127.0.0.1:8080/healthz", interval = "10s", retries = 3, timeout = "3s" }"#
    );
    assert_eq!(
        api["readiness"].to_string(),
        r#"{ http = "http://127.0.0.1:8080/ready", interval = "2s", retries = 3, timeout = "1s" }"#
    );
    let web = &processes["web-ui"];
    assert_eq!(web["restart"].as_str(), Some("always"));
    assert_eq!(web["max_restarts"].as_str(), Some("unlimited"));
    assert_eq!(web["depends_on"].to_string(), r#"["api"]"#);
    assert_eq!(processes["docs"]["autostart"].as_bool(), Some(false));
    assert_eq!(processes["migrate"]["depends_on"].to_string(), r#"["db"]"#);

    assert_eq!(
        skipped(&result),
        pairs(&[
            ("(file)", "log_location"),
            ("api", "depends_on.migrate.condition"),
            ("web ui", "ready_log_line"),
            ("docs", "log_location"),
        ])
    );
    assert_eq!(
        result["renamed"],
        serde_json::json!([{"from": "web ui", "to": "web-ui"}])
    );
    let notes: Vec<&str> = result["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["field"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["depends_on.db.condition"]);
    // The skipped fields are also comments under their process.
    assert!(text.contains(
        "[process.docs]\ncommand = \"mkdocs serve\"\nenv = { APP_ENV = \"dev\" }\nrestart = \"never\"\nautostart = false\n# not converted: log_location:"
    ), "{text}");
}
