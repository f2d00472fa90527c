//! Resource limits held by the kernel (cgroup mode), end to end with the real daemon: a
//! memory hog OOM-killed at `memory_max` and restarted or stopped, a fork loop held at
//! `pids_max`, and a stop that ends a `setsid` escapee. Each test first asks the daemon
//! what this machine enforces and says so when a controller is missing here.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::{cgroup_enforces, cgroup_tracks, is_running, tree_size, wait_for};

const HOG: &str = "import time\nb=[]\nwhile len(b)<400:\n b.append(b'x'*(1<<20)); time.sleep(0.005)\ntime.sleep(600)";

/// Forks 100 sleeping children, going on when a fork fails.
const FORKS: &str = "import os,time\nfor i in range(100):\n try:\n  if os.fork()==0:\n   time.sleep(600); os._exit(0)\n except OSError: pass\ntime.sleep(600)";

/// A daemon with cgroups on (the default), and its `limits` line from `daemon status`.
fn daemon() -> (Daemon, String) {
    let d = Daemon::new();
    d.cmd().args(["daemon", "--detach"]).assert().success();
    let limits = d.limits_line();
    (d, limits)
}

#[test]
fn the_kernel_holds_memory_max_and_the_process_is_restarted() {
    let (d, limits) = daemon();
    if !cgroup_enforces(&limits, "memory_max") {
        return eprintln!("memory_max is polled on this machine ({limits}); see limits.rs");
    }
    d.cmd()
        .args(["start", "hog", "--memory-max", "64M", "--restart", "never"])
        .args(["--", "python3", "-c", HOG])
        .assert()
        .success();
    let first = d.status("hog");
    assert_eq!(first["limits"][0]["enforcement"], "cgroup", "{first}");
    let first = first["pid"].as_u64().unwrap();
    assert!(
        wait_for(
            Duration::from_secs(20),
            || d.status("hog")["limit_breaches"].as_u64().unwrap_or(0) >= 1
        ),
        "{}",
        d.status("hog")
    );
    let status = d.status("hog");
    let breach = status["limit_breach"].as_str().unwrap();
    assert_eq!(
        breach,
        "memory_max 64.0MiB: the kernel ended the tree, out of memory (restart)"
    );
    assert_eq!(status["last_exit"]["signal"], 9, "{status}");
    // Restarted although its policy is `never`.
    assert!(wait_for(Duration::from_secs(10), || {
        d.status("hog")["pid"].as_u64().is_some_and(|p| p != first)
    }));
    let audit = std::fs::read_to_string(d.pw.dir().join("home/audit.log")).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains(r#""action":"limit-restart""#)
                && l.contains(r#""interface":"limits""#)
                && l.contains("the kernel ended the tree")),
        "{audit}"
    );
}

#[test]
fn an_oom_with_stop_leaves_it_stopped() {
    let (d, limits) = daemon();
    if !cgroup_enforces(&limits, "memory_max") {
        return eprintln!("memory_max is polled on this machine ({limits}); see limits.rs");
    }
    d.cmd()
        .args(["start", "hog", "--memory-max", "48M", "--on-breach", "stop"])
        .args(["--", "python3", "-c", HOG])
        .assert()
        .success();
    let status = d.wait_state("hog", "stopped", Duration::from_secs(20));
    assert_eq!(
        status["reason"],
        "stopped by a limit: memory_max 48.0MiB: the kernel ended the tree, out of memory (stop)"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(d.status("hog")["state"], "stopped");
}

#[test]
fn a_fork_loop_is_held_at_pids_max() {
    let (d, limits) = daemon();
    if !cgroup_enforces(&limits, "pids_max") {
        return eprintln!("pids_max is polled on this machine ({limits}); see limits.rs");
    }
    d.cmd()
        .args([
            "start",
            "forks",
            "--pids-max",
            "20",
            "--",
            "python3",
            "-c",
            FORKS,
        ])
        .assert()
        .success();
    let root = d.status("forks")["pid"].as_u64().unwrap() as u32;
    std::thread::sleep(Duration::from_millis(1500));
    let tree = tree_size(root);
    assert!((10..=20).contains(&tree), "the tree has {tree} processes");
    assert_eq!(d.status("forks")["state"], "running");
}

#[test]
fn stop_ends_a_setsid_escapee() {
    let (d, limits) = daemon();
    if !cgroup_tracks(&limits) {
        return eprintln!("no cgroup tracking on this machine ({limits})");
    }
    d.cmd()
        .args(["start", "escape", "--", "sh", "-c"])
        .arg("setsid sh -c 'echo $$ > escapee.pid; exec sleep 600' & sleep 600")
        .current_dir(d.pw.dir())
        .assert()
        .success();
    let file = d.pw.dir().join("escapee.pid");
    assert!(wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(&file).is_ok_and(|s| s.ends_with('\n'))
    }));
    let escapee: u32 = std::fs::read_to_string(&file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(is_running(escapee));
    d.cmd().args(["stop", "escape"]).assert().success();
    assert!(
        wait_for(Duration::from_secs(5), || !is_running(escapee)),
        "the escapee {escapee} outlived stop"
    );
}
