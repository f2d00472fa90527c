//! The job queue through the CLI and a real daemon: add prints the id, list and show as
//! tables and JSON, `run` streams the output and returns the exit code, `wait` returns
//! the job's exit code, bad input exits 2 with nothing queued, groups from the config
//! file, and a job running while the daemon is killed is re-adopted, not run twice.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::{json, wait_for};

fn add(d: &Daemon, args: &[&str]) -> u64 {
    let out = d.cmd().args(["queue", "add"]).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .expect("the job id")
}

#[test]
fn add_list_show_logs_and_wait_through_the_cli() {
    let d = Daemon::new();
    let id = add(
        &d,
        &[
            "--label",
            "team=web",
            "--",
            "sh",
            "-c",
            "echo hello; echo oops >&2",
        ],
    );
    d.cmd()
        .args(["queue", "wait", &id.to_string()])
        .assert()
        .success();
    let job = d.job(id);
    assert_eq!(job["state"], "completed");
    assert_eq!(job["spec"]["labels"]["team"], "web");
    assert_eq!(job["attempts"][0]["exit_code"], 0);
    let logs = d
        .cmd()
        .args(["queue", "logs", &id.to_string()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&logs.stdout), "hello\noops\n");
    let table = d.cmd().args(["queue", "list"]).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("completed") && table.contains("exit 0"),
        "{table}"
    );

    let failing = add(&d, &["--attempts", "1", "--", "sh", "-c", "exit 7"]);
    let wait = d
        .cmd()
        .args(["queue", "wait", &failing.to_string()])
        .output()
        .unwrap();
    assert_eq!(
        wait.status.code(),
        Some(7),
        "wait returns the job's exit code"
    );
    // Several ids: waited for together, reported in the order given, and the exit code
    // is the first failed job's.
    let slow = add(&d, &["--", "sh", "-c", "sleep 0.3"]);
    let wait = d
        .cmd()
        .args(["queue", "wait", &slow.to_string(), &failing.to_string()])
        .output()
        .unwrap();
    assert_eq!(wait.status.code(), Some(7));
    let out = String::from_utf8_lossy(&wait.stdout);
    let order: Vec<&str> = out.lines().filter_map(|l| l.split(':').next()).collect();
    assert_eq!(order, [slow.to_string(), failing.to_string()], "{out}");
    assert!(out.starts_with(&format!("{slow}: completed")), "{out}");
    let list = d
        .cmd()
        .args(["queue", "list", "--state", "failed", "--json"])
        .output()
        .unwrap();
    let ids: Vec<u64> = json(&list)
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [failing]);
}

#[test]
fn run_prints_the_output_live_and_exits_with_the_jobs_code() {
    let d = Daemon::new();
    let out = d
        .cmd()
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; sleep 0.3; echo late; exit 4",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\nlate\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("err\n"), "{stderr}");
    assert!(stderr.contains("failed"), "{stderr}");
    d.cmd().args(["run", "--", "true"]).assert().success();
}

#[test]
fn bad_input_exits_2_and_queues_nothing() {
    let d = Daemon::new();
    for (args, words) in [
        (vec!["--priority", "-5", "--", "true"], "negative"),
        (vec!["--priority", "1001", "--", "true"], "priority"),
        (vec!["--group", "nope", "--", "true"], "unknown group"),
        (vec!["--after", "12", "--", "true"], "no job 12"),
        (vec!["--timeout", "1ms", "--", "true"], "timeout"),
        (vec!["--delay", "400d", "--", "true"], "365d"),
        (vec!["--backoff", "linear:1s", "--", "true"], "backoff"),
        (vec!["--attempts", "0", "--", "true"], "attempts"),
        (
            vec!["--at", "2001-01-01T00:00:00Z", "--", "true"],
            "in the past",
        ),
        (vec!["--label", "nokey", "--", "true"], "KEY=VALUE"),
        (vec!["--", ""], "empty command"),
    ] {
        let out = d.cmd().args(["queue", "add"]).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(words),
            "{args:?}: {stderr} should say {words}"
        );
    }
    let list = d.cmd().args(["queue", "list", "--json"]).output().unwrap();
    assert_eq!(json(&list), serde_json::json!([]));
    let missing = d.cmd().args(["queue", "cancel", "99"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no job 99"));
    let group = d
        .cmd()
        .args(["queue", "group", "add", "g", "--parallel", "0"])
        .output()
        .unwrap();
    assert_eq!(group.status.code(), Some(2));
}

#[test]
fn groups_come_from_the_config_file_and_limit_concurrency() {
    let d = Daemon::new();
    let config = d.pw.dir().join("config/procward");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[queue.group.ci]\nparallel = 2\n",
    )
    .unwrap();
    let groups = d
        .cmd()
        .args(["queue", "group", "list", "--json"])
        .output()
        .unwrap();
    let groups = json(&groups);
    let ci = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "ci")
        .expect("ci");
    assert_eq!(ci["parallel"], 2);
    let ids: Vec<u64> = (0..4)
        .map(|_| add(&d, &["--group", "ci", "--", "sleep", "0.4"]))
        .collect();
    assert!(wait_for(Duration::from_secs(5), || {
        let list = d
            .cmd()
            .args(["queue", "list", "--json", "--state", "running"])
            .output()
            .unwrap();
        json(&list).as_array().unwrap().len() == 2
    }));
    let running = d
        .cmd()
        .args(["queue", "list", "--json", "--state", "running"])
        .output()
        .unwrap();
    assert_eq!(
        json(&running).as_array().unwrap().len(),
        2,
        "never more than parallel"
    );
    let args: Vec<String> = ids.iter().map(u64::to_string).collect();
    d.cmd()
        .args(["queue", "wait"])
        .args(&args)
        .assert()
        .success();
}

#[test]
fn a_job_running_when_the_daemon_is_killed_is_readopted_not_run_twice() {
    let d = Daemon::new();
    let count = d.pw.dir().join("starts");
    let script = format!("echo start >> {}; sleep 1.5; echo done", count.display());
    let id = add(&d, &["--", "sh", "-c", &script]);
    assert!(wait_for(Duration::from_secs(5), || d.job(id)["state"] == "running"));
    let daemon = d.kill_9();
    // The next command starts a new daemon, which finds the job's shim again.
    let out = d
        .cmd()
        .args(["queue", "wait", &id.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job = d.job(id);
    assert_eq!(job["state"], "completed");
    assert_eq!(job["attempts"].as_array().unwrap().len(), 1, "{job}");
    assert_eq!(
        std::fs::read_to_string(&count).unwrap(),
        "start\n",
        "ran once"
    );
    let logs = d
        .cmd()
        .args(["queue", "logs", &id.to_string()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&logs.stdout), "done\n");
    assert_ne!(d.daemon_pid(), daemon);
}

#[test]
fn a_schedule_with_catch_up_makes_up_a_fire_missed_while_the_daemon_was_down() {
    let d = Daemon::new();
    for (name, extra) in [("made-up", Some("--catch-up")), ("skipped", None)] {
        let mut cmd = d.cmd();
        cmd.args(["queue", "schedule", "add", name, "--every", "1s"]);
        cmd.args(extra);
        cmd.args(["--", "true"]).assert().success();
    }
    d.cmd().args(["daemon", "stop"]).assert().success();
    std::thread::sleep(Duration::from_millis(2500));
    // Listed right after the new daemon opened its socket: before any fire of its own.
    let list = d.cmd().args(["queue", "list", "--json"]).output().unwrap();
    let jobs = json(&list);
    let of = |name: &str| {
        jobs.as_array()
            .unwrap()
            .iter()
            .filter(|j| j["spec"]["labels"]["schedule"] == name)
            .count()
    };
    assert_eq!(of("made-up"), 1, "one job for the missed fires: {jobs}");
    assert_eq!(of("skipped"), 0, "{jobs}");
    let table = d
        .cmd()
        .args(["queue", "schedule", "list"])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("made-up") && table.contains("every 1s"),
        "{table}"
    );
    for name in ["made-up", "skipped"] {
        d.cmd()
            .args(["queue", "schedule", "remove", name])
            .assert()
            .success();
    }
    let bad = d
        .cmd()
        .args([
            "queue", "schedule", "add", "x", "--cron", "* * *", "--", "true",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("five fields"));
}

#[test]
fn a_daemon_that_never_queues_makes_no_queue_database() {
    let d = Daemon::new();
    d.cmd().args(["list"]).assert().success();
    let db = d.pw.dir().join("home/queue.db");
    assert!(!db.exists(), "no job yet: no {}", db.display());
    add(&d, &["--", "true"]);
    assert!(db.exists());
}
