//! `procward import`: the real binary on real pm2 and process-compose files (JS files
//! through the real node), the produced keys and the "not converted" list, bad input
//! refused with exit 2 and nothing written, and one imported file run by `procward up`
//! against a real daemon.
//!
//! Tests whose output holds the keys main is adding (`instances`, `success_exit_codes`,
//! `readiness`) check it as text and through `parse_compose` without those keys; the
//! end-to-end test uses none of them.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::daemon::Daemon;
use common::{Procward, json, wait_for};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// Whether node can run; the tests that need it say so when it cannot.
fn node_available(test: &str) -> bool {
    let ok = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: {test}: node is not on PATH (CI installs nodejs)");
    }
    ok
}

/// `import ARGS --json` succeeds; returns its JSON.
fn import_json(pw: &Procward, args: &[&str]) -> Value {
    let out = pw
        .cmd()
        .arg("import")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

/// The `[process.NAME]` tables of a converted file, parsed as plain TOML.
fn tables(toml_text: &str) -> toml::Table {
    let doc: toml::Table = toml_text.parse().expect("output is TOML");
    doc["process"].as_table().unwrap().clone()
}

fn keys(process: &toml::Value) -> Vec<&str> {
    process
        .as_table()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

fn skipped(result: &Value) -> Vec<(String, String)> {
    result["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["process"].as_str().unwrap().into(),
                s["field"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// procward's own parser accepts the output once the keys main adds are left out.
fn parses_without_pending(toml_text: &str) {
    let kept: String = toml_text
        .lines()
        .filter(|l| {
            !["instances =", "success_exit_codes =", "readiness ="]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    procward_core::supervisor::compose::parse_compose(&kept, Path::new("/srv"))
        .unwrap_or_else(|e| panic!("{e}\n{kept}"));
}

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
    parses_without_pending(text);
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

fn keys_of(t: &toml::Table) -> Vec<&str> {
    t.keys().map(String::as_str).collect()
}

/// toml::Table iterates in key order.
fn sorted<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys
}

#[test]
fn pm2_json_and_yaml_convert_without_node() {
    let pw = Procward::new();
    let result = import_json(&pw, &[fixture("ecosystem.json").to_str().unwrap()]);
    let text = result["toml"].as_str().unwrap();
    parses_without_pending(text);
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
    parses_without_pending(text);
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

/// Runs `import ARGS`, expects exit 2 naming `words`, and that `out` was not created.
fn refused(pw: &Procward, args: &[&str], words: &[&str]) {
    let out_file = pw.dir().join("never.toml");
    let out = pw
        .cmd()
        .arg("import")
        .args(args)
        .args(["-o", out_file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}");
    for word in words {
        assert!(stderr.contains(word), "{args:?}: {word:?} not in {stderr}");
    }
    assert!(!out_file.exists(), "{args:?} wrote a file");
}

#[test]
fn bad_input_is_refused_with_exit_2_and_nothing_written() {
    let pw = Procward::new();
    let write = |name: &str, text: &str| {
        let path = pw.dir().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let bad_yaml = write("pc.yaml", "processes:\n  a: [unclosed\n");
    refused(&pw, &[&bad_yaml], &["pc.yaml", "line 2"]);
    let bad_json = write("pm2.json", "{\"apps\": [");
    refused(&pw, &[&bad_json], &["pm2.json", "EOF"]);
    let missing = pw.dir().join("nope.yaml");
    refused(
        &pw,
        &[missing.to_str().unwrap()],
        &["cannot read", "nope.yaml"],
    );
    let docker = write(
        "docker-compose.yml",
        "services:\n  web:\n    image: nginx\n",
    );
    refused(&pw, &[&docker], &["unknown format", "--from"]);
    let empty = write("empty.json", "{\"apps\": []}");
    refused(&pw, &[&empty], &["no pm2 apps"]);
    let no_processes = write("none.yaml", "processes: {}\n");
    refused(&pw, &[&no_processes], &["no process-compose processes"]);
    // Every app unusable: nothing to convert, and the list says why.
    let scriptless = write("scriptless.json", "[{\"name\": \"a\"}]");
    refused(&pw, &[&scriptless], &["a: script: missing", "no pm2 apps"]);
    // --from that does not fit the content.
    refused(&pw, &[&no_processes, "--from", "pm2"], &["no pm2 apps"]);
    let pc = fixture("process-compose.yaml");
    refused(
        &pw,
        &[pc.to_str().unwrap(), "--env", "prod"],
        &["--env prod applies to pm2"],
    );
    refused(&pw, &["/dev/zero"], &["/dev/zero"]);

    if node_available("bad_input (JS)") {
        let throws = write("throws.config.js", "throw new Error('config exploded');\n");
        refused(
            &pw,
            &[&throws],
            &["node could not evaluate", "config exploded"],
        );
        let empty_js = write("empty.config.js", "module.exports = { apps: [] };\n");
        refused(&pw, &[&empty_js], &["no pm2 apps"]);
        let syntax = write("syntax.config.cjs", "module.exports = { apps: [ };\n");
        refused(&pw, &[&syntax], &["node could not evaluate", "SyntaxError"]);
        let hangs = write("hangs.config.js", "while (true) {}\n");
        refused(&pw, &[&hangs, "--node-timeout", "1"], &["within 1s"]);
    }
}

#[test]
fn js_without_node_on_path_is_a_clear_error() {
    let pw = Procward::new();
    let out = pw
        .cmd()
        .args(["import", fixture("ecosystem.config.js").to_str().unwrap()])
        .env("PATH", pw.dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("node is needed to evaluate"), "{stderr}");
    assert!(stderr.contains("install Node.js"), "{stderr}");
}

/// A free TCP port on 127.0.0.1 (bound, then released for the server to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn imported_process_compose_file_runs_under_procward_up() {
    let daemon = Daemon::new();
    let dir = daemon.pw.dir().join("stack");
    std::fs::create_dir_all(dir.join("site")).unwrap();
    std::fs::write(dir.join("site/index.html"), "hello from the import\n").unwrap();
    let port = free_port();
    let source = dir.join("process-compose.yaml");
    std::fs::write(
        &source,
        format!(
            r#"version: "0.5"
environment:
  - "STACK=imported"
processes:
  web server:
    command: "python3 -m http.server {port} --bind 127.0.0.1"
    working_dir: ./site
    availability:
      restart: always
      backoff_seconds: 1
    liveness_probe:
      http_get:
        host: 127.0.0.1
        port: {port}
        path: /index.html
      period_seconds: 1
      timeout_seconds: 1
    shutdown:
      signal: 15
      timeout_seconds: 3
  sleeper:
    command: "sleep 300"
    depends_on:
      web server:
        condition: process_healthy
"#
        ),
    )
    .unwrap();
    let toml_path = dir.join("procward.toml");
    let out = daemon
        .cmd()
        .args([
            "import",
            source.to_str().unwrap(),
            "-o",
            toml_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"web server\" -> web-server"), "{stderr}");

    daemon
        .cmd()
        .args(["up", toml_path.to_str().unwrap()])
        .assert()
        .success();
    let web = daemon.wait_state("web-server", "running", Duration::from_secs(15));
    assert_eq!(web["spec"]["restart"], "always", "{web}");
    assert_eq!(web["spec"]["env"]["STACK"], "imported", "{web}");
    let sleeper = daemon.wait_state("sleeper", "running", Duration::from_secs(15));
    assert_eq!(sleeper["spec"]["restart"], "never", "{sleeper}");
    assert_eq!(
        sleeper["spec"]["depends_on"],
        serde_json::json!(["web-server"])
    );
    // The server really serves the imported working directory.
    let served = wait_for(Duration::from_secs(10), || {
        http_get(port, "/index.html").is_some_and(|body| body.contains("hello from the import"))
    });
    assert!(
        served,
        "python3 http.server on 127.0.0.1:{port} never answered"
    );
    let healthy = wait_for(Duration::from_secs(15), || {
        daemon.status("web-server")["health"] == "healthy"
    });
    assert!(healthy, "{}", daemon.status("web-server"));
}

/// A plain HTTP/1.0 GET on 127.0.0.1; the body, or None.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// Replicas and a readiness probe, imported, run under `up` as `NAME:0` and `NAME:1`, each
/// ready.
#[test]
fn imported_replicas_and_readiness_run_under_procward_up() {
    let daemon = Daemon::new();
    let dir = daemon.pw.dir().join("replicas");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("process-compose.yaml");
    std::fs::write(
        &source,
        "processes:\n  sleeper:\n    command: \"sleep 300\"\n    replicas: 2\n    \
         readiness_probe:\n      exec:\n        command: \"true\"\n      period_seconds: 1\n",
    )
    .unwrap();
    let toml_path = dir.join("procward.toml");
    daemon
        .cmd()
        .args([
            "import",
            source.to_str().unwrap(),
            "-o",
            toml_path.to_str().unwrap(),
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(&toml_path).unwrap();
    assert!(text.contains("instances = 2\n"), "{text}");
    assert!(text.contains("readiness = { command = \"true\""), "{text}");
    daemon
        .cmd()
        .args(["up", toml_path.to_str().unwrap()])
        .assert()
        .success();
    let running = wait_for(Duration::from_secs(15), || {
        let out = daemon.cmd().args(["list", "--json"]).output().unwrap();
        let list = json(&out);
        let ready = |name: &str| {
            list.as_array().into_iter().flatten().any(|p| {
                p["name"] == name && p["state"] == "running" && p["readiness"] == "healthy"
            })
        };
        ready("sleeper:0") && ready("sleeper:1")
    });
    assert!(running, "sleeper:0 and sleeper:1 never both ran ready");
}
