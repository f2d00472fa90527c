//! The supervisor end to end: the real `procward` binary, a real daemon per test (its own
//! PROCWARD_HOME), real managed processes.

mod common;

use std::time::{Duration, Instant};

use common::{Procward, is_running, json, wait_for};
use predicates::str::contains;
use serde_json::Value;

/// A daemon home for one test; on drop, stops every managed process and the daemon.
struct Daemon {
    pw: Procward,
}

impl Daemon {
    fn new() -> Self {
        Self {
            pw: Procward::new(),
        }
    }

    fn cmd(&self) -> assert_cmd::Command {
        self.pw.cmd()
    }

    fn status(&self, name: &str) -> Value {
        let out = self
            .cmd()
            .args(["status", name, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "status {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&out)
    }

    fn wait_state(&self, name: &str, state: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.status(name);
            if status["state"] == state || Instant::now() > deadline {
                assert_eq!(status["state"], state, "{status}");
                return status;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn logs(&self, name: &str, lines: u32) -> Vec<String> {
        let out = self
            .cmd()
            .args(["logs", name, "--stdout", "--lines", &lines.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn daemon_pid(&self) -> u32 {
        let out = self
            .cmd()
            .args(["daemon", "status", "--json"])
            .output()
            .unwrap();
        json(&out)["pid"].as_u64().expect("daemon pid") as u32
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(out) = self.cmd().args(["list", "--json"]).output()
            && let Ok(list) = serde_json::from_slice::<Value>(&out.stdout)
        {
            for process in list.as_array().into_iter().flatten() {
                let name = process["spec"]["name"].as_str().unwrap_or_default();
                let _ = self.cmd().args(["stop", name]).output();
            }
        }
        let _ = self.cmd().args(["daemon", "stop"]).output();
    }
}

fn group_members(pgid: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) && fields[0] != "Z" {
            members.push(pid);
        }
    }
    members
}

#[test]
fn start_list_status_stop_delete() {
    let d = Daemon::new();
    d.cmd()
        .args(["start", "web", "--", "sleep", "1000"])
        .assert()
        .success()
        .stdout(contains("web: started; running (pid"));
    let status = d.status("web");
    assert_eq!(status["state"], "running");
    let pid = status["pid"].as_u64().unwrap() as u32;
    assert!(is_running(pid));
    let list = d.cmd().args(["list", "--json"]).output().unwrap();
    assert_eq!(json(&list)[0]["spec"]["name"], "web");
    d.cmd()
        .arg("list")
        .assert()
        .success()
        .stdout(contains("web"))
        .stdout(contains("running"));
    d.cmd()
        .args(["stop", "web"])
        .assert()
        .success()
        .stdout(contains("web: stopped"));
    assert!(wait_for(Duration::from_secs(2), || !is_running(pid)));
    assert_eq!(d.status("web")["state"], "stopped");
    d.cmd().args(["delete", "web"]).assert().success();
    d.cmd()
        .args(["status", "web"])
        .assert()
        .code(1)
        .stderr(contains("no managed process named 'web'"));
}

#[test]
fn planned_form_with_env_and_logs() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "--name",
            "greet",
            "--command",
            "sh -c 'echo hello $WHO; echo oops >&2; sleep 1000'",
            "--env",
            "WHO=world",
        ])
        .assert()
        .success();
    assert!(wait_for(Duration::from_secs(3), || d.logs("greet", 10)
        == ["hello world"]));
    let out = d
        .cmd()
        .args(["logs", "greet", "--stderr"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "oops");
}

#[test]
fn stop_leaves_nothing_of_the_tree_behind() {
    let d = Daemon::new();
    d.cmd()
        .args(["start", "tree", "--", "sh", "-c", "sleep 1000 & sleep 1000"])
        .assert()
        .success();
    let pid = d.status("tree")["pid"].as_u64().unwrap() as u32;
    assert!(wait_for(Duration::from_secs(2), || group_members(pid)
        .len()
        >= 2));
    d.cmd().args(["stop", "tree"]).assert().success();
    assert!(
        group_members(pid).is_empty(),
        "left behind: {:?}",
        group_members(pid)
    );
}

#[test]
fn term_ignoring_tree_is_killed_at_the_stop_timeout() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "stubborn",
            "--stop-timeout",
            "0.5",
            "--",
            "sh",
            "-c",
            "trap '' TERM; sleep 1000 & sleep 1000; wait",
        ])
        .assert()
        .success();
    let pid = d.status("stubborn")["pid"].as_u64().unwrap() as u32;
    assert!(wait_for(Duration::from_secs(2), || group_members(pid)
        .len()
        >= 3));
    let started = Instant::now();
    d.cmd().args(["stop", "stubborn"]).assert().success();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(500),
        "stopped before the timeout: {took:?}"
    );
    assert!(
        group_members(pid).is_empty(),
        "left behind: {:?}",
        group_members(pid)
    );
}

#[test]
fn crashing_process_backs_off_then_fails_with_a_reason() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "crash",
            "--restart",
            "on-failure",
            "--max-restarts",
            "3",
            "--backoff",
            "50ms:100ms",
            "--",
            "sh",
            "-c",
            "exit 3",
        ])
        .assert()
        .success();
    let status = d.wait_state("crash", "failed", Duration::from_secs(10));
    assert_eq!(status["restarts"], 3);
    assert!(
        status["reason"].as_str().unwrap().contains("max_restarts"),
        "{status}"
    );
    assert_eq!(status["last_exit"]["exit_code"], 3);
}

#[test]
fn clean_exit_with_on_failure_stays_stopped() {
    let d = Daemon::new();
    d.cmd()
        .args(["start", "once", "--restart", "on-failure", "--", "true"])
        .assert()
        .success();
    let status = d.wait_state("once", "stopped", Duration::from_secs(5));
    assert_eq!(status["restarts"], 0);
    assert_eq!(status["last_exit"]["exit_code"], 0);
}

#[test]
fn every_line_is_captured_exactly_once() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "count",
            "--restart",
            "never",
            "--",
            "seq",
            "1",
            "100000",
        ])
        .assert()
        .success();
    d.wait_state("count", "stopped", Duration::from_secs(20));
    let lines = d.logs("count", 100_000);
    assert_eq!(lines.len(), 100_000);
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, l)| *l == (i + 1).to_string()),
        "lines out of order or missing"
    );
}

#[test]
fn follow_streams_new_lines() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "ticker",
            "--",
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done",
        ])
        .assert()
        .success();
    let mut follow = std::process::Command::new(assert_cmd::cargo::cargo_bin("procward"))
        .args(["logs", "ticker", "--follow", "--lines", "0"])
        .env("PROCWARD_HOME", d.pw.dir().join("home"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(follow.stdout.take().unwrap());
    let mut seen = Vec::new();
    for _ in 0..5 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        seen.push(line.trim().to_owned());
    }
    let _ = follow.kill();
    let _ = follow.wait();
    let numbers: Vec<u32> = seen
        .iter()
        .map(|l| l.trim_start_matches("tick ").parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{seen:?}");
}

#[test]
fn pause_and_resume_stop_and_continue_the_group() {
    let d = Daemon::new();
    d.cmd()
        .args(["start", "nap", "--", "sleep", "1000"])
        .assert()
        .success();
    let pid = d.status("nap")["pid"].as_u64().unwrap();
    d.cmd().args(["pause", "nap"]).assert().success();
    assert_eq!(d.status("nap")["state"], "paused");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    assert!(stat.contains(") T "), "{stat}");
    d.cmd().args(["resume", "nap"]).assert().success();
    assert_eq!(d.status("nap")["state"], "running");
    d.cmd()
        .args(["resume", "nap"])
        .assert()
        .code(2)
        .stderr(contains("cannot resume"));
    d.cmd().args(["signal", "nap", "USR1"]).assert().success();
    assert!(wait_for(
        Duration::from_secs(3),
        || d.status("nap")["state"] != "running"
    ));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let d = Daemon::new();
    d.cmd()
        .args(["start", "ok", "--", "sleep", "1000"])
        .assert()
        .success();
    d.cmd()
        .args(["start", "ok", "--", "sleep", "1000"])
        .assert()
        .code(2)
        .stderr(contains("already exists"));
    let long = "x".repeat(65);
    for name in ["a/b", "..", "has space", long.as_str(), ""] {
        d.cmd()
            .args(["start", name, "--", "sleep", "1"])
            .assert()
            .code(2);
    }
    d.cmd()
        .args(["start", "empty", "--command", "   "])
        .assert()
        .code(2);
    d.cmd()
        .args(["start", "nocmd"])
        .assert()
        .code(2)
        .stderr(contains("command is required"));
    d.cmd()
        .args(["start", "bad", "--backoff", "5s:1s", "--", "true"])
        .assert()
        .code(2);
    d.cmd()
        .args(["stop", "ghost"])
        .assert()
        .code(1)
        .stderr(contains("no managed process named 'ghost'"));
    d.cmd()
        .args(["logs", "ok", "--lines", "10000000"])
        .assert()
        .code(2);
    let list = d.cmd().args(["list", "--json"]).output().unwrap();
    assert_eq!(
        json(&list).as_array().unwrap().len(),
        1,
        "only 'ok' is registered"
    );
}

#[test]
fn spawn_errors_are_clear_and_leave_the_process_failed() {
    let d = Daemon::new();
    d.cmd()
        .args(["start", "missing", "--", "/nonexistent/program"])
        .assert()
        .failure()
        .stderr(contains("cannot start 'missing'"))
        .stderr(contains("/nonexistent/program"));
    let status = d.status("missing");
    assert_eq!(status["state"], "failed");
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/program"),
        "{status}"
    );
    d.cmd()
        .args([
            "start",
            "nowhere",
            "--cwd",
            "/nonexistent/dir",
            "--",
            "true",
        ])
        .assert()
        .failure()
        .stderr(contains("/nonexistent/dir"));
    assert_eq!(d.status("nowhere")["state"], "failed");
}

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
    let daemon = d.daemon_pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_for(Duration::from_secs(3), || !is_running(daemon)));
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
    let daemon = d.daemon_pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
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
