//! The supervisor end to end: the real `procward` binary, a real daemon per test (its own
//! PROCWARD_HOME), real managed processes: lifecycle, logs, restart policy, bad input.

mod common;

use std::time::{Duration, Instant};

use common::daemon::{Daemon, group_members};
use common::{is_running, json, wait_for};
use predicates::str::contains;

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
        .args(["logs", "ok", "--lines", "-1"])
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
fn the_process_starts_with_default_signal_handling_so_signal_int_ends_it() {
    // The shim blocks SIGHUP, SIGINT and SIGPIPE to survive them; none of that may reach
    // the process it starts.
    let d = Daemon::new();
    d.cmd()
        .args(["start", "sig", "--", "sh", "-c"])
        .arg("grep -E 'SigBlk|SigIgn' /proc/self/status; exec sleep 1000")
        .assert()
        .success();
    let pid = d.status("sig")["pid"].as_u64().unwrap() as u32;
    let logged = || {
        let out = d.cmd().args(["logs", "sig"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(wait_for(Duration::from_secs(5), || logged().contains("SigIgn")));
    let logs = logged();
    assert!(logs.contains("SigBlk:\t0000000000000000"), "{logs}");
    let ignored = logs
        .lines()
        .find_map(|line| line.split_once("SigIgn:\t").map(|(_, mask)| mask.trim()))
        .and_then(|mask| u64::from_str_radix(mask, 16).ok())
        .unwrap();
    for signal in [1, 2, 13, 15] {
        assert_eq!(ignored & (1 << (signal - 1)), 0, "signal {signal}: {logs}");
    }
    d.cmd().args(["signal", "sig", "INT"]).assert().success();
    assert!(
        wait_for(Duration::from_secs(5), || !is_running(pid)),
        "SIGINT did not end it"
    );
}
