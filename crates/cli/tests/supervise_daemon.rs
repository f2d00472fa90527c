//! The daemon end to end: crash safety and re-adoption, procward.toml with `up` and
//! `down`, and one private daemon per home.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::{is_running, json, wait_for};
use predicates::str::contains;

#[test]
fn daemon_crash_loses_nothing_and_processes_are_readopted() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "counter",
            "--",
            "sh",
            "-c",
            "i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo $i; sleep 0.005; done; sleep 1000",
        ])
        .assert()
        .success();
    let pid = d.status("counter")["pid"].as_u64().unwrap() as u32;
    std::thread::sleep(Duration::from_millis(300));
    let daemon = d.kill_9();
    assert!(
        is_running(pid),
        "the managed process must survive the daemon"
    );
    std::thread::sleep(Duration::from_millis(2500)); // it keeps printing with no daemon
    let status = d.status("counter"); // starts a new daemon, which re-adopts
    assert_eq!(status["state"], "running");
    assert_eq!(status["pid"].as_u64().unwrap() as u32, pid);
    assert_ne!(d.daemon_pid(), daemon);
    let expected: Vec<String> = (1..=400).map(|i| i.to_string()).collect();
    wait_for(Duration::from_secs(10), || {
        d.logs("counter", 1000).len() >= 400
    });
    assert_eq!(
        d.logs("counter", 1000),
        expected,
        "every line exactly once across the crash"
    );
    d.cmd().args(["stop", "counter"]).assert().success();
    assert!(!is_running(pid));
}

#[test]
fn restart_policy_applies_to_a_process_that_exits_while_the_daemon_is_down() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "short",
            "--restart",
            "on-failure",
            "--backoff",
            "50ms:50ms",
            "--",
            "sh",
            "-c",
            "sleep 0.5; exit 1",
        ])
        .assert()
        .success();
    d.kill_9();
    std::thread::sleep(Duration::from_millis(900));
    assert!(wait_for(
        Duration::from_secs(5),
        || d.status("short")["restarts"].as_u64().unwrap_or(0) >= 1
    ));
    let status = d.status("short");
    assert_eq!(status["last_exit"]["exit_code"], 1, "{status}");
}

#[test]
fn up_starts_in_dependency_order_and_down_stops() {
    let d = Daemon::new();
    let dir = d.pw.dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.join("procward.toml"),
        format!(
            r#"
[process.web]
command = "sleep 1000"
depends_on = ["db"]

[process.db]
command = ["python3", "-c", "import socket,time; time.sleep(0.3); s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(1000)"]
health = {{ tcp = "127.0.0.1:{port}", interval = "100ms", timeout = "1s", retries = 50 }}
"#
        ),
    )
    .unwrap();
    let out = d
        .cmd()
        .args(["up", "--json"])
        .arg(dir.join("procward.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = json(&out);
    assert_eq!(started[0]["spec"]["name"], "db");
    assert_eq!(started[0]["health"], "healthy");
    assert_eq!(started[1]["spec"]["name"], "web");
    d.cmd()
        .arg("down")
        .arg(dir.join("procward.toml"))
        .assert()
        .success();
    assert_eq!(d.status("db")["state"], "stopped");
    assert_eq!(d.status("web")["state"], "stopped");
}

#[test]
fn malformed_compose_files_name_line_and_column() {
    let d = Daemon::new();
    let file = d.pw.dir().join("bad.toml");
    std::fs::write(&file, "[process.a]\ncommand = \"true\"\ncolour = 1\n").unwrap();
    d.cmd()
        .arg("up")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(contains(":3:"));
    std::fs::write(&file, "[process.a]\ncommand = \"true\"\ndepends_on = [\"b\"]\n[process.b]\ncommand = \"true\"\ndepends_on = [\"a\"]\n").unwrap();
    d.cmd()
        .arg("up")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(contains("cycle"));
}

#[test]
fn one_daemon_per_home_with_a_private_socket() {
    use std::os::unix::fs::PermissionsExt;
    let d = Daemon::new();
    d.cmd().args(["daemon", "--detach"]).assert().success();
    let home = d.pw.dir().join("home");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home), 0o700);
    assert_eq!(mode(&home.join("procward.sock")), 0o600);
    d.cmd()
        .arg("daemon")
        .assert()
        .failure()
        .stderr(contains("already running"));
    d.cmd()
        .args(["daemon", "status"])
        .assert()
        .success()
        .stdout(contains("running"));
    d.cmd().args(["daemon", "stop"]).assert().success();
    d.cmd().args(["daemon", "status"]).assert().code(1);
}

#[test]
fn a_daemon_that_cannot_start_says_why_to_the_command_that_started_it() {
    // The port is taken, which only the detached daemon finds out (when it binds): its
    // reason reaches `--detach` through the start-up pipe, not a wait for the socket.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let d = Daemon::new();
    let out = d
        .cmd()
        .args(["daemon", "--detach", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the daemon could not start")
            && stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    d.cmd().args(["daemon", "status"]).assert().code(1);
}

#[test]
fn commands_starting_the_daemon_at_the_same_moment_share_one() {
    let d = Daemon::new();
    let lists: Vec<_> = (0..4)
        .map(|_| {
            d.pw.std_cmd()
                .args(["list", "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for list in lists {
        let out = list.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(json(&out), serde_json::json!([]));
    }
    let daemon = d.daemon_pid();
    assert!(is_running(daemon));
    d.cmd().args(["daemon", "stop"]).assert().success();
}
