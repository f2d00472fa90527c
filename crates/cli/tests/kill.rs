//! `procward kill`: real processes, real signals, and every refusal.

mod common;

use std::time::Duration;

use common::{Procward, Spawned, children_of, is_running, json, wait_for};
use predicates::str::contains;

#[test]
fn term_ends_a_sleeping_process() {
    let pw = Procward::new();
    let target = Spawned::sleeper();
    pw.cmd()
        .arg("kill")
        .arg(target.pid().to_string())
        .assert()
        .success()
        .stdout(contains(format!(
            "pid {} (sleep): ended by SIGTERM",
            target.pid()
        )));
    assert!(!target.alive());
}

#[test]
fn term_ignoring_process_is_killed_after_the_timeout() {
    let pw = Procward::new();
    let mut target = Spawned::shell("trap '' TERM; echo ready; while :; do sleep 0.05; done");
    target.read_line();
    let out = pw
        .cmd()
        .args([
            "kill",
            "--json",
            "--timeout",
            "0.3",
            &target.pid().to_string(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let record = &json(&out)[0];
    assert_eq!(record["outcome"]["signal"], "SIGTERM");
    assert_eq!(record["outcome"]["ended_by"], "SIGKILL");
    assert_eq!(record["outcome"]["escalated"], true);
    assert!(record["outcome"]["elapsed_ms"].as_u64().unwrap() >= 300);
    assert!(!target.alive());
}

#[test]
fn force_sends_kill_at_once() {
    let pw = Procward::new();
    let target = Spawned::sleeper();
    let out = pw
        .cmd()
        .args(["kill", "--force", "--json", &target.pid().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(json(&out)[0]["outcome"]["ended_by"], "SIGKILL");
    assert_eq!(json(&out)[0]["outcome"]["escalated"], false);
}

#[test]
fn several_pids_escalate_together() {
    let pw = Procward::new();
    let targets: Vec<Spawned> = (0..3)
        .map(|_| Spawned::shell("trap '' TERM; while :; do sleep 0.05; done"))
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let mut cmd = pw.cmd();
    cmd.args(["kill", "--timeout", "0.5"]);
    cmd.args(targets.iter().map(|t| t.pid().to_string()));
    cmd.assert().success().stdout(contains("ended by SIGKILL"));
    // Three stubborn processes share one grace period instead of waiting 3 x 0.5 s.
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    assert!(targets.iter().all(|t| !t.alive()));
}

#[test]
fn tree_takes_every_descendant() {
    let pw = Procward::new();
    let mut target = Spawned::shell("sleep 1000 & sleep 1000 & echo ready; wait");
    target.read_line();
    let kids = children_of(target.pid());
    assert_eq!(kids.len(), 2, "two sleeps expected: {kids:?}");
    let out = pw
        .cmd()
        .args(["kill", "--tree", "--json", &target.pid().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let pids: Vec<u64> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids[0], u64::from(target.pid()), "parent first");
    for kid in kids {
        assert!(pids.contains(&u64::from(kid)));
        assert!(
            wait_for(Duration::from_secs(2), || !is_running(kid)),
            "child {kid} survived"
        );
    }
}

#[test]
fn without_tree_children_survive() {
    let pw = Procward::new();
    let mut target = Spawned::shell("sleep 1000 & echo ready; wait");
    target.read_line();
    let kid = children_of(target.pid())[0];
    pw.cmd()
        .args(["kill", &target.pid().to_string()])
        .assert()
        .success();
    assert!(is_running(kid));
    pw.cmd().args(["kill", &kid.to_string()]).assert().success();
}

#[test]
fn recycled_pid_is_refused_by_start_time() {
    let pw = Procward::new();
    let target = Spawned::sleeper();
    let listing = pw
        .cmd()
        .args(["ps", "--json", "--interval", "10ms"])
        .output()
        .unwrap();
    let me = json(&listing)
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == target.pid())
        .cloned()
        .expect("target listed");
    let start = me["start_time"].as_u64().unwrap();
    pw.cmd()
        .args([
            "kill",
            "--start-time",
            &(start - 100).to_string(),
            &target.pid().to_string(),
        ])
        .assert()
        .code(2)
        .stderr(contains("recycled"));
    assert!(target.alive());
    pw.cmd()
        .args([
            "kill",
            "--start-time",
            &start.to_string(),
            &target.pid().to_string(),
        ])
        .assert()
        .success();
    assert!(!target.alive());
}

#[test]
fn protected_pids_are_refused_and_nothing_is_signalled() {
    let pw = Procward::new();
    let bystander = Spawned::sleeper();
    let me = std::process::id().to_string(); // procward's parent when the test runs it
    for pid in [
        "0",
        "1",
        "-1",
        "-9",
        "4294967295",
        "2147483648",
        me.as_str(),
    ] {
        pw.cmd()
            .args(["kill", pid, &bystander.pid().to_string()])
            .assert()
            .code(2)
            .stderr(contains("refusing to signal PID"));
    }
    assert!(bystander.alive(), "a refused batch must signal nothing");
}

#[test]
fn missing_pid_is_exit_1() {
    let pw = Procward::new();
    pw.cmd()
        .args(["kill", "2147483000"])
        .assert()
        .code(1)
        .stderr(contains("no such process"));
}

#[test]
fn bad_arguments_are_rejected_with_exit_2() {
    let pw = Procward::new();
    let target = Spawned::sleeper();
    let pid = target.pid().to_string();
    let cases: &[(&[&str], &str)] = &[
        (&["kill", "abc"], "not a whole number"),
        (&["kill", "12abc"], "not a whole number"),
        (&["kill", "--signal", "FOO", &pid], "unknown signal 'FOO'"),
        (&["kill", "--signal", "0", &pid], "unknown signal"),
        (&["kill", "--port", "0"], "out of range"),
        (&["kill", "--port", "70000"], "out of range"),
        (&["kill", "--port", "http"], "not a number"),
        (&["kill", "--timeout", "-1", &pid], "negative"),
        (&["kill", "--timeout", "soon", &pid], "not a duration"),
        (&["kill"], "required"),
        (
            &["kill", "--start-time", "5", &pid, "1234"],
            "exactly one PID",
        ),
        (
            &["kill", "--elevated", "--elevate-with", "doas", &pid],
            "unknown elevation method",
        ),
    ];
    for (args, message) in cases {
        pw.cmd()
            .args(*args)
            .assert()
            .code(2)
            .stderr(contains(*message));
    }
    assert!(target.alive());
}

#[test]
fn non_terminating_signals_are_delivered_without_waiting() {
    let pw = Procward::new();
    let target = Spawned::sleeper();
    let pid = target.pid().to_string();
    pw.cmd()
        .args(["kill", "--signal", "STOP", &pid])
        .assert()
        .success()
        .stdout(contains("SIGSTOP delivered"));
    assert!(wait_for(Duration::from_secs(2), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") T "))
    }));
    pw.cmd()
        .args(["kill", "-s", "cont", &pid])
        .assert()
        .success();
    assert!(target.alive());
}

#[test]
fn kill_by_port_names_the_owner_first() {
    let pw = Procward::new();
    let mut server = Spawned::shell(
        "exec python3 -c 'import socket,time\ns=socket.socket()\ns.bind((\"127.0.0.1\",0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(1000)'",
    );
    let port = server.read_line();
    pw.cmd()
        .args(["kill", "--port", &port])
        .assert()
        .success()
        .stderr(contains(format!(
            "port {port}/tcp on 127.0.0.1: pid {} (python3",
            server.pid()
        )))
        .stdout(contains("ended by SIGTERM"));
    assert!(!server.alive());
    pw.cmd()
        .args(["kill", "--port", &port])
        .assert()
        .code(1)
        .stderr(contains("no process listens"));
}

#[test]
fn process_kill_tool_form_answers_json_when_piped() {
    let pw = Procward::new();
    let target = Spawned::sleeper();
    let out = pw
        .cmd()
        .args(["process", "kill", "--pid", &target.pid().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(json(&out)[0]["outcome"]["ended_by"], "SIGTERM");
    pw.cmd()
        .args(["process", "kill", "--pid", "1"])
        .assert()
        .code(2);
}
