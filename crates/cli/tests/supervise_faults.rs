//! The supervisor under faults: a process failing its health check is restarted with the
//! same back-off and `max_restarts` as a crashing one, and ends `failed`; a stop survives
//! a daemon killed in the middle of it. Each test runs its own daemon in its own home.

mod common;

use std::time::Duration;

use common::daemon::{Daemon, group_members};
use common::{is_running, json, wait_for};

/// A managed process that ignores SIGTERM (only SIGKILL ends it) and says when it does.
const STUBBORN: [&str; 3] = [
    "python3",
    "-c",
    "import signal,time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(1000)",
];

/// A loopback port nothing listens on (bound, then freed).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn failing_health_checks_back_off_and_give_up_at_max_restarts() {
    let d = Daemon::new();
    let file = d.pw.dir().join("procward.toml");
    let port = closed_port();
    std::fs::write(
        &file,
        format!(
            r#"
[process.sick]
command = "sleep 1000"
max_restarts = 2
backoff = "100ms:200ms"
health = {{ tcp = "127.0.0.1:{port}", interval = "100ms", timeout = "1s", retries = 1 }}
"#
        ),
    )
    .unwrap();
    let out = d.cmd().args(["up", "--json"]).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = json(&out)[0]["pid"].as_u64().expect("pid") as u32;
    let status = d.wait_state("sick", "failed", Duration::from_secs(30));
    assert_eq!(status["restarts"], 2, "{status}");
    let reason = status["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("unhealthy") && reason.contains("max_restarts (2)"),
        "{status}"
    );
    assert!(status["pid"].is_null(), "{status}");
    assert!(status["next_restart_at_ms"].is_null(), "{status}");
    // It stays failed: no more restarts come.
    std::thread::sleep(Duration::from_secs(1));
    let later = d.status("sick");
    assert_eq!(later["state"], "failed", "{later}");
    assert_eq!(later["restarts"], 2, "{later}");
    assert!(!is_running(first) && group_members(first).is_empty());
}

#[test]
fn a_stop_interrupted_by_a_daemon_crash_is_finished_by_the_next_daemon() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "stubborn",
            "--restart",
            "always",
            "--backoff",
            "200ms:1s",
        ])
        .args(["--stop-timeout", "4s", "--"])
        .args(STUBBORN)
        .assert()
        .success();
    let status = d.wait_state("stubborn", "running", Duration::from_secs(10));
    let pid = status["pid"].as_u64().expect("pid") as u32;
    assert!(wait_for(Duration::from_secs(10), || d.logs("stubborn", 1)
        == ["ready"]));
    // `procward stop` waits for the stop timeout, since SIGTERM is ignored.
    let mut stop = std::process::Command::new(assert_cmd::cargo::cargo_bin("procward"))
        .args(["stop", "stubborn"])
        .env("PROCWARD_HOME", d.pw.dir().join("home"))
        .env("XDG_CONFIG_HOME", d.pw.dir().join("config"))
        .env_remove("PROCWARD_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    d.wait_state("stubborn", "stopping", Duration::from_secs(10));
    d.kill_9();
    let _ = stop.wait();
    assert!(
        is_running(pid),
        "SIGTERM is ignored: only the deadline's SIGKILL ends it"
    );
    // The next daemon knows a stop was asked for and finishes it.
    let status = d.status("stubborn");
    assert_ne!(status["state"], "running", "the stop was lost: {status}");
    let status = d.wait_state("stubborn", "stopped", Duration::from_secs(15));
    assert!(
        !is_running(pid) && group_members(pid).is_empty(),
        "{status}"
    );
    std::thread::sleep(Duration::from_secs(1)); // past the back-off
    let status = d.status("stubborn");
    assert_eq!(
        status["state"], "stopped",
        "restarted after the stop: {status}"
    );
    assert_eq!(status["restarts"], 0, "{status}");
}
