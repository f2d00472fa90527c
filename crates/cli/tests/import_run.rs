//! `procward import`: bad input refused with exit 2 and nothing written, and imported
//! files run by `procward up` against a real daemon (a process-compose file with real
//! servers; replicas with a readiness probe).

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::import::*;
use common::{Procward, free_port, json, wait_for};

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
