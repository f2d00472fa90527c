//! Restarts the spec asks for, end to end. On file change: a change to a watched file
//! restarts the process once (a burst of writes is one restart), ignored files and other
//! files do not, a new subfolder is watched too, and bad patterns are refused before
//! anything starts. On a cron schedule: `* * * * *` restarts it at the next minute.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::wait_for;
use predicates::str::contains;

fn pid(d: &Daemon, name: &str) -> u64 {
    d.status(name)["pid"].as_u64().unwrap_or(0)
}

/// Starts NAME watching `args` in a fresh folder; returns the folder.
fn start_watching(d: &Daemon, name: &str, args: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/app.py"), "v1").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "n").unwrap();
    let mut cmd = d.cmd();
    cmd.args(["start", name, "--cwd"])
        .arg(dir.path())
        .args(args);
    cmd.args(["--", "sleep", "1000"]).assert().success();
    // The watcher is set up just after the start; give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    dir
}

#[test]
fn a_burst_of_changes_restarts_once_and_other_files_do_not() {
    let d = Daemon::new();
    let dir = start_watching(
        &d,
        "dev",
        &["--watch", "src/**/*.py", "--watch-ignore", "*.log"],
    );
    let first = pid(&d, "dev");

    // Not watched, ignored: no restart.
    std::fs::write(dir.path().join("notes.txt"), "changed").unwrap();
    std::fs::write(dir.path().join("src/debug.log"), "noise").unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(pid(&d, "dev"), first, "unwatched changes restarted it");

    // Ten saves in a row: one restart.
    for i in 0..10 {
        std::fs::write(dir.path().join("src/app.py"), format!("v{i}")).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(wait_for(Duration::from_secs(5), || {
        let now = pid(&d, "dev");
        now != 0 && now != first
    }));
    let second = pid(&d, "dev");
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(pid(&d, "dev"), second, "one burst, one restart");
    let status = d.status("dev");
    assert_eq!(status["state"], "running");
    assert_eq!(status["spec"]["watch"][0], "src/**/*.py");
    // The daemon's log says which file did it.
    let log = std::fs::read_to_string(d.pw.dir().join("home/daemon.log")).unwrap_or_default();
    assert!(
        log.contains("app.py") && log.contains("restarting"),
        "{log}"
    );
}

#[test]
fn a_new_subfolder_is_watched_too() {
    let d = Daemon::new();
    let dir = start_watching(&d, "deep", &["--watch", "src/**/*.py"]);
    let first = pid(&d, "deep");
    let sub = dir.path().join("src/pkg");
    std::fs::create_dir(&sub).unwrap();
    // The folder's creation is not a .py change; wait past the debounce.
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(pid(&d, "deep"), first);
    std::fs::write(sub.join("mod.py"), "x").unwrap();
    assert!(wait_for(Duration::from_secs(5), || {
        let now = pid(&d, "deep");
        now != 0 && now != first
    }));
}

#[test]
fn bad_patterns_are_refused_and_nothing_starts() {
    let d = Daemon::new();
    d.cmd()
        .args(["start", "bad", "--watch", "src/[a", "--", "sleep", "1000"])
        .assert()
        .code(2)
        .stderr(contains("invalid watch"));
    d.cmd()
        .args(["start", "bad", "--watch", "../etc/*", "--", "sleep", "1000"])
        .assert()
        .code(2)
        .stderr(contains("'..'"));
    d.cmd()
        .args(["status", "bad"])
        .assert()
        .code(1)
        .stderr(contains("no managed process named 'bad'"));
}

#[test]
fn cron_restart_restarts_at_the_next_minute() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "nightly",
            "--cron-restart",
            "* * * * *",
            "--",
            "sleep",
            "1000",
        ])
        .assert()
        .success();
    let first = pid(&d, "nightly");
    assert_eq!(d.status("nightly")["spec"]["cron_restart"], "* * * * *");
    // At most a minute (plus the stop and start) away.
    assert!(wait_for(Duration::from_secs(65), || {
        let now = pid(&d, "nightly");
        now != 0 && now != first
    }));
    assert_eq!(d.status("nightly")["state"], "running");
    for (bad, words) in [
        ("0 3 * *", "five fields"),
        ("61 * * * *", "invalid cron_restart"),
    ] {
        d.cmd()
            .args(["start", "bad", "--cron-restart", bad, "--", "sleep", "1000"])
            .assert()
            .code(2)
            .stderr(contains(words));
    }
}
