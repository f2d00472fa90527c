//! Resource limits end to end: the real `procward` binary and daemon, real processes.
//! Per-process limits in poll mode (cgroups made unavailable with `PROCWARD_CGROUPS=off`):
//! a memory hog restarted or stopped at its limit, a fork loop caught by `pids_max`, a
//! notify-only breach; the `[limits]` spawn gate refusing starts and holding jobs; bad
//! input refused with the field, changing nothing.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::{is_running, json, wait_for};
use predicates::str::contains;

/// Grows by 1 MiB of touched memory every 20 ms, up to 400 MiB (so a failing test cannot
/// exhaust the machine), then sleeps.
const HOG: &str = "import time\nb=[]\nwhile len(b)<400:\n b.append(b'x'*(1<<20)); time.sleep(0.02)\ntime.sleep(600)";

/// A daemon with `config` as its procward.toml, cgroups turned off (every limit polled).
fn daemon(config: &str) -> Daemon {
    let d = Daemon::new();
    d.pw.write_config(config);
    d.cmd()
        .env("PROCWARD_CGROUPS", "off")
        .args(["daemon", "--detach"])
        .assert()
        .success();
    d
}

#[test]
fn a_memory_hog_is_restarted_at_its_polled_limit() {
    let d = daemon("");
    d.cmd()
        .args(["start", "hog", "--memory-max", "64M", "--best-effort"])
        .args(["--restart", "never", "--", "python3", "-c", HOG])
        .assert()
        .success();
    let first = d.status("hog")["pid"].as_u64().unwrap() as u32;
    assert!(
        wait_for(
            Duration::from_secs(20),
            || d.status("hog")["limit_breaches"].as_u64().unwrap_or(0) >= 1
        ),
        "no breach: {}",
        d.status("hog")
    );
    let status = d.wait_state("hog", "running", Duration::from_secs(10));
    let breach = status["limit_breach"].as_str().unwrap();
    assert!(
        breach.starts_with("memory_max 64.0MiB: the tree used "),
        "{breach}"
    );
    assert!(breach.ends_with("(restart)"), "{breach}");
    assert_eq!(status["limits"][0]["limit"], "memory_max");
    assert_eq!(status["limits"][0]["enforcement"], "poll");
    // Restarted although its policy is `never`: a new run.
    assert!(wait_for(Duration::from_secs(10), || {
        d.status("hog")["pid"]
            .as_u64()
            .is_some_and(|p| p as u32 != first)
    }));
    assert!(wait_for(Duration::from_secs(5), || !is_running(first)));
    let human = d.cmd().args(["status", "hog"]).output().unwrap();
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.contains("memory_max 64.0MiB (poll); on breach: restart"),
        "{human}"
    );
}

#[test]
fn a_breach_with_stop_leaves_it_stopped_with_the_limit_as_reason() {
    let d = daemon("");
    d.cmd()
        .args(["start", "hog", "--memory-max", "48M", "--on-breach", "stop"])
        .args(["--best-effort", "--", "python3", "-c", HOG])
        .assert()
        .success();
    let pid = d.status("hog")["pid"].as_u64().unwrap() as u32;
    let status = d.wait_state("hog", "stopped", Duration::from_secs(20));
    let reason = status["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("stopped by a limit: memory_max 48.0MiB"),
        "{reason}"
    );
    assert!(!is_running(pid));
    // Stays stopped: no restart policy brings it back.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(d.status("hog")["state"], "stopped");
}

#[test]
fn a_fork_loop_is_caught_by_pids_max_and_notify_leaves_it_running() {
    let d = daemon("");
    d.cmd()
        .args([
            "start",
            "forks",
            "--pids-max",
            "20",
            "--on-breach",
            "notify",
        ])
        .args(["--best-effort", "--", "sh", "-c"])
        .arg("for i in $(seq 40); do sleep 600 & done; wait")
        .assert()
        .success();
    assert!(
        wait_for(
            Duration::from_secs(10),
            || d.status("forks")["limit_breaches"] == 1
        ),
        "{}",
        d.status("forks")
    );
    let status = d.status("forks");
    let breach = status["limit_breach"].as_str().unwrap();
    assert!(breach.starts_with("pids_max 20: the tree had "), "{breach}");
    assert!(breach.ends_with("(notify)"), "{breach}");
    assert_eq!(status["state"], "running");
    // Reported once per run, not every second.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(d.status("forks")["limit_breaches"], 1);
}

#[test]
fn a_hard_limit_that_can_only_be_polled_needs_best_effort() {
    let d = daemon("");
    d.cmd()
        .args(["start", "hog", "--memory-max", "64M", "--", "sleep", "600"])
        .assert()
        .failure()
        .stderr(contains("memory_max: can only be polled on this machine"))
        .stderr(contains("--best-effort"));
    // The soft limit alone is fine polled.
    d.cmd()
        .args([
            "start",
            "soft",
            "--memory-high",
            "64M",
            "--",
            "sleep",
            "600",
        ])
        .assert()
        .success();
    let list = json(&d.cmd().args(["list", "--json"]).output().unwrap());
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["soft"]);
    assert_eq!(list[0]["spec"]["limits"]["memory_high"], 64 << 20);
    assert_eq!(list[0]["limits"][0]["enforcement"], "poll");
}

#[test]
fn bad_limits_are_refused_with_the_field_and_change_nothing() {
    let d = daemon("");
    for (flags, expect) in [
        (&["--memory-max", "64 parsecs"][..], "memory_max"),
        (&["--memory-max", "512K"][..], "outside 1MiB to 16TiB"),
        (&["--cpu-max", "0%"][..], "cpu_max"),
        (&["--cpu-max", "lots"][..], "not a CPU limit"),
        (&["--pids-max", "0"][..], "pids_max"),
        (&["--on-breach", "explode"][..], "on_breach"),
        (
            &["--memory-max", "64M", "--memory-high", "128M"][..],
            "above memory_max",
        ),
    ] {
        d.cmd()
            .args(["start", "bad"])
            .args(flags)
            .args(["--best-effort", "--", "sleep", "600"])
            .assert()
            .code(2)
            .stderr(contains(expect));
    }
    let list = json(&d.cmd().args(["list", "--json"]).output().unwrap());
    assert_eq!(list.as_array().unwrap().len(), 0);
}

#[test]
fn max_processes_refuses_a_start_naming_the_limit() {
    let d = daemon("[limits]\nmax_processes = 1\n");
    d.cmd()
        .args(["start", "one", "--", "sleep", "600"])
        .assert()
        .success();
    d.cmd()
        .args(["start", "two", "--", "sleep", "600"])
        .assert()
        .failure()
        .stderr(contains(
            "refused by the limit max_processes = 1 in procward.toml [limits]: \
             managed processes running is 1",
        ));
    let list = json(&d.cmd().args(["list", "--json"]).output().unwrap());
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    // Once the first stops, there is room again.
    d.cmd().args(["stop", "one"]).assert().success();
    d.cmd()
        .args(["start", "two", "--", "sleep", "600"])
        .assert()
        .success();
}

#[test]
fn max_jobs_holds_jobs_queued_with_the_limit_as_reason() {
    let d = daemon("[limits]\nmax_jobs = 1\n[queue.group.default]\nparallel = 4\n");
    let add = |secs: &str| {
        let out = d
            .cmd()
            .args(["queue", "add", "--", "sleep", secs])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let first = add("1");
    let second = add("1");
    let show = |id: &str| {
        json(
            &d.cmd()
                .args(["queue", "show", id, "--json"])
                .output()
                .unwrap(),
        )
    };
    assert!(wait_for(Duration::from_secs(5), || show(&first)["state"]
        == "running"));
    let held = show(&second);
    assert_eq!(held["state"], "queued", "{held}");
    let reason = held["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("held: refused by the limit max_jobs = 1")
            && reason.ends_with("jobs running is 1"),
        "{reason}"
    );
    // The held job runs once the first is done.
    d.cmd()
        .args(["queue", "wait", &second])
        .timeout(Duration::from_secs(20))
        .assert()
        .success();
    assert_eq!(show(&first)["state"], "completed");
}

#[test]
fn a_bad_limits_section_is_refused_at_daemon_start() {
    let d = Daemon::new();
    d.pw.write_config("[limits]\nmax_memory_percent = 150\n");
    d.cmd()
        .args(["daemon"])
        .timeout(Duration::from_secs(10))
        .assert()
        .failure()
        .stderr(contains("max_memory_percent"));
    d.pw.write_config("[limits]\nmax_gpus = 1\n");
    d.cmd()
        .args(["daemon"])
        .timeout(Duration::from_secs(10))
        .assert()
        .code(2)
        .stderr(contains("max_gpus"));
}
