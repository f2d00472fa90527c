//! Per-job resource limits end to end, with the real binary, daemon and processes: each
//! attempt in its own cgroup (a memory hog OOM-killed at `memory_max`, retried with
//! `restart` and failed at once with `stop`; a fork loop held at `pids_max`; a `setsid`
//! escapee ended by cancel and by the end of its attempt), and with cgroups turned off
//! (a hard limit refused without `--best-effort`, then polled). Bad limits exit 2 and
//! queue nothing.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::{cgroup_enforces, cgroup_tracks, is_running, json, tree_size, wait_for};
use predicates::str::contains;
use serde_json::Value;

/// Grows by 1 MiB of touched memory every 5 ms, up to 400 MiB, then sleeps.
const HOG: &str = "import time\nb=[]\nwhile len(b)<400:\n b.append(b'x'*(1<<20)); time.sleep(0.005)\ntime.sleep(600)";

/// Forks 100 sleeping children, going on when a fork fails.
const FORKS: &str = "import os,time\nfor i in range(100):\n try:\n  if os.fork()==0:\n   time.sleep(600); os._exit(0)\n except OSError: pass\ntime.sleep(600)";

/// A daemon with cgroups on (the default), and its `limits` line.
fn daemon() -> (Daemon, String) {
    let d = Daemon::new();
    d.cmd().args(["daemon", "--detach"]).assert().success();
    let limits = d.limits_line();
    (d, limits)
}

/// `queue add ARGS` (asserting success); the job id.
fn add(d: &Daemon, args: &[&str]) -> u64 {
    let out = d.cmd().args(["queue", "add"]).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Waits until job `id` is final; its `queue show --json`.
fn wait_final(d: &Daemon, id: u64, timeout: Duration) -> Value {
    let done = wait_for(timeout, || {
        matches!(
            d.job(id)["state"].as_str(),
            Some("completed" | "failed" | "cancelled")
        )
    });
    let job = d.job(id);
    assert!(done, "job {id} did not end: {job}");
    job
}

/// The pid of the running attempt of job `id`, once it runs.
fn running_pid(d: &Daemon, id: u64) -> u32 {
    assert!(
        wait_for(Duration::from_secs(10), || d.job(id)["state"] == "running"),
        "{}",
        d.job(id)
    );
    let job = d.job(id);
    job["attempts"].as_array().unwrap().last().unwrap()["pid"]
        .as_u64()
        .unwrap() as u32
}

#[test]
fn a_memory_hog_job_is_killed_at_memory_max_and_retried_per_its_attempts() {
    let (d, limits) = daemon();
    if !cgroup_enforces(&limits, "memory_max") {
        return eprintln!("memory_max is polled on this machine ({limits})");
    }
    let id = add(
        &d,
        &[
            "--memory-max",
            "48M",
            "--attempts",
            "2",
            "--backoff",
            "fixed:100ms",
            "--",
            "python3",
            "-c",
            HOG,
        ],
    );
    let job = wait_final(&d, id, Duration::from_secs(30));
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["spec"]["limits"]["memory_max"], 48 << 20);
    assert_eq!(job["limit_status"][0]["enforcement"], "cgroup", "{job}");
    let attempts = job["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{job}");
    for a in attempts {
        assert_eq!(a["breach"], "memory_max", "{job}");
        assert_eq!(a["signal"], 9, "{job}");
    }
    assert_eq!(
        job["limit_breach"],
        "memory_max 48.0MiB: the kernel ended the tree, out of memory"
    );
    assert_eq!(
        job["reason"], "attempt 2 of 2: over its memory_max (signal 9)",
        "{job}"
    );
    // `wait` answers with the job's exit code, as a shell reports a SIGKILL.
    d.cmd()
        .args(["queue", "wait", &id.to_string()])
        .assert()
        .code(137);
    let human = d
        .cmd()
        .args(["queue", "show", &id.to_string()])
        .output()
        .unwrap();
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.contains("memory_max 48.0MiB (cgroup); on breach: restart"),
        "{human}"
    );
    let audit = std::fs::read_to_string(d.pw.dir().join("home/audit.log")).unwrap();
    let breaches = audit
        .lines()
        .filter(|l| l.contains(r#""action":"limit-restart""#) && l.contains(&format!("job {id}")))
        .count();
    assert_eq!(breaches, 2, "{audit}");
}

#[test]
fn a_breach_with_stop_fails_the_job_without_another_attempt() {
    let (d, limits) = daemon();
    if !cgroup_enforces(&limits, "memory_max") {
        return eprintln!("memory_max is polled on this machine ({limits})");
    }
    let id = add(
        &d,
        &[
            "--memory-max",
            "40M",
            "--on-breach",
            "stop",
            "--attempts",
            "3",
            "--backoff",
            "fixed:100ms",
            "--",
            "python3",
            "-c",
            HOG,
        ],
    );
    let job = wait_final(&d, id, Duration::from_secs(30));
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["attempts"].as_array().unwrap().len(), 1, "{job}");
    assert_eq!(
        job["reason"],
        "stopped by a limit: memory_max 40.0MiB: the kernel ended the tree, out of memory"
    );
    // `queue retry` gives it its attempts again.
    d.cmd()
        .args(["queue", "retry", &id.to_string()])
        .assert()
        .success();
    let job = wait_final(&d, id, Duration::from_secs(30));
    assert_eq!(job["attempts"].as_array().unwrap().len(), 2, "{job}");
}

#[test]
fn a_fork_loop_job_is_held_at_pids_max() {
    let (d, limits) = daemon();
    if !cgroup_enforces(&limits, "pids_max") {
        return eprintln!("pids_max is polled on this machine ({limits})");
    }
    let id = add(&d, &["--pids-max", "12", "--", "python3", "-c", FORKS]);
    let root = running_pid(&d, id);
    std::thread::sleep(Duration::from_millis(1500));
    let tree = tree_size(root);
    assert!((6..=12).contains(&tree), "the tree has {tree} processes");
    assert_eq!(d.job(id)["state"], "running");
    d.cmd()
        .args(["queue", "cancel", &id.to_string()])
        .assert()
        .success();
    assert!(wait_for(Duration::from_secs(10), || !is_running(root)));
}

/// Starts a job whose shell leaves a `setsid` child behind; the escapee's pid.
fn escapee_job(d: &Daemon, script: &str) -> (u64, u32) {
    let id = add(
        d,
        &[
            "--cwd",
            d.pw.dir().to_str().unwrap(),
            "--",
            "sh",
            "-c",
            script,
        ],
    );
    let file = d.pw.dir().join("escapee.pid");
    assert!(wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&file).is_ok_and(|s| s.ends_with('\n'))
    }));
    let pid = std::fs::read_to_string(&file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (id, pid)
}

/// `queue cancel ID`: the job ends cancelled, and the escapee with it.
fn cancel_ends(d: &Daemon, id: u64, escapee: u32) {
    d.cmd()
        .args(["queue", "cancel", &id.to_string()])
        .assert()
        .success();
    assert!(
        wait_for(Duration::from_secs(10), || !is_running(escapee)),
        "the escapee {escapee} outlived the cancel of job {id}"
    );
    assert_eq!(d.job(id)["state"], "cancelled");
}

#[test]
fn cancel_and_the_end_of_an_attempt_end_a_setsid_escapee() {
    let (d, limits) = daemon();
    if !cgroup_tracks(&limits) {
        return eprintln!("no cgroup tracking on this machine ({limits})");
    }
    let script = "setsid sh -c 'echo $$ > escapee.pid; exec sleep 600' & sleep 600";
    let (id, escapee) = escapee_job(&d, script);
    assert!(is_running(escapee));
    cancel_ends(&d, id, escapee);

    // A job whose shell exits at once: its attempt is over, and so is the escapee.
    std::fs::remove_file(d.pw.dir().join("escapee.pid")).unwrap();
    let script = "setsid sh -c 'echo $$ > escapee.pid; exec sleep 600' & sleep 0.3";
    let (id, escapee) = escapee_job(&d, script);
    let job = wait_final(&d, id, Duration::from_secs(10));
    assert_eq!(job["state"], "completed", "{job}");
    assert!(
        wait_for(Duration::from_secs(5), || !is_running(escapee)),
        "the escapee {escapee} outlived its attempt"
    );
}

/// The cgroup v2 directory `pid` is in (from `/proc/PID/cgroup` and the v2 mount).
fn v2_cgroup_of(pid: u32) -> Option<std::path::PathBuf> {
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let point = mountinfo
        .lines()
        .find(|l| l.contains(" - cgroup2 "))?
        .split(' ')
        .nth(4)?;
    Some(std::path::Path::new(point).join(path.trim_start_matches('/')))
}

#[test]
fn a_readopted_attempt_in_a_kept_unit_still_ends_its_escapee_and_stop_removes_kept_units() {
    let (d, limits) = daemon();
    if !limits.contains("cgroup2 at") {
        return eprintln!("no cgroup v2 tracking on this machine ({limits})");
    }
    // A first job's unit is kept when it ends; the next job runs in it again.
    let first = add(&d, &["--", "true"]);
    assert_eq!(
        wait_final(&d, first, Duration::from_secs(10))["state"],
        "completed"
    );
    let script = "setsid sh -c 'echo $$ > escapee.pid; exec sleep 600' & sleep 600";
    let (id, escapee) = escapee_job(&d, script);
    let unit = v2_cgroup_of(escapee).expect("the escapee's cgroup");
    let name = unit.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("run@"), "a kept unit: {}", unit.display());

    // The next daemon finds the attempt's unit by the name its record kept, so the
    // cancel ends the escapee too.
    d.kill_9();
    cancel_ends(&d, id, escapee);

    // A stopped daemon leaves no kept unit behind.
    d.cmd().args(["daemon", "stop"]).assert().success();
    let namespace = unit.parent().unwrap();
    let left: Vec<String> = std::fs::read_dir(namespace)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("run@"))
        .collect();
    assert!(
        left.is_empty(),
        "kept units left in {}: {left:?}",
        namespace.display()
    );
}

#[test]
fn without_cgroups_a_hard_limit_needs_best_effort_and_is_then_polled() {
    let d = Daemon::new();
    d.cmd()
        .env("PROCWARD_CGROUPS", "off")
        .args(["daemon", "--detach"])
        .assert()
        .success();
    d.cmd()
        .args(["queue", "add", "--memory-max", "64M", "--", "sleep", "600"])
        .assert()
        .failure()
        .stderr(contains("memory_max: can only be polled on this machine"))
        .stderr(contains("--best-effort"));
    let list = json(&d.cmd().args(["queue", "list", "--json"]).output().unwrap());
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");

    let id = add(
        &d,
        &[
            "--memory-max",
            "64M",
            "--best-effort",
            "--on-breach",
            "stop",
            "--",
            "python3",
            "-c",
            "import time\nb=[]\nwhile len(b)<400:\n b.append(b'x'*(1<<20)); time.sleep(0.02)\ntime.sleep(600)",
        ],
    );
    let job = wait_final(&d, id, Duration::from_secs(40));
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["limit_status"][0]["enforcement"], "poll", "{job}");
    let reason = job["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("stopped by a limit: memory_max 64.0MiB: the tree used "),
        "{job}"
    );
    assert_eq!(job["attempts"][0]["breach"], "memory_max", "{job}");
    assert_eq!(job["attempts"].as_array().unwrap().len(), 1, "{job}");
}

#[test]
fn bad_limits_exit_2_and_queue_nothing() {
    let d = Daemon::new();
    for (flags, expect) in [
        (&["--memory-max", "64 parsecs"][..], "memory_max"),
        (&["--cpu-max", "0%"][..], "cpu_max"),
        (&["--pids-max", "0"][..], "pids_max"),
        (&["--on-breach", "explode"][..], "on_breach"),
        (
            &["--memory-max", "64M", "--memory-high", "128M"][..],
            "above memory_max",
        ),
    ] {
        d.cmd()
            .args(["queue", "add"])
            .args(flags)
            .args(["--best-effort", "--", "sleep", "600"])
            .assert()
            .code(2)
            .stderr(contains(expect));
    }
    let list = json(&d.cmd().args(["queue", "list", "--json"]).output().unwrap());
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
}
