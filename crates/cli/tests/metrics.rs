//! Per-process metrics end to end: a real managed Python process with known descriptors,
//! I/O and CPU (tests/fixtures/metrics_child.py), and `status`/`list --json` compared
//! with what this test reads from `/proc` itself.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::daemon::Daemon;
use common::{json, wait_for};
use serde_json::Value;

const FILES: u64 = 12;
const BYTES: u64 = 300_000;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/metrics_child.py")
}

fn proc_io(pid: u64, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}: ")))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn proc_status(pid: u64, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap();
    value.split_whitespace().next().unwrap().parse().unwrap()
}

/// utime and stime of /proc/PID/stat in milliseconds.
fn proc_cpu_ms(pid: u64) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &text[text.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the comm: state is field 3, utime 14, stime 15.
    let ticks = |i: usize| fields[i - 3].parse::<u64>().unwrap();
    (ticks(14) * 10, ticks(15) * 10)
}

fn fds(pid: u64) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as u64
}

fn start_child(d: &Daemon) -> (u64, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().to_str().unwrap().to_owned();
    d.cmd()
        .args(["start", "probe", "--", "/usr/bin/python3"])
        .arg(fixture())
        .args([folder.as_str(), &FILES.to_string(), &BYTES.to_string()])
        .assert()
        .success();
    (wait_ready(dir.path()), dir)
}

/// The fixture's pid, once it has opened its files and done its I/O.
fn wait_ready(folder: &Path) -> u64 {
    let ready = folder.join("ready");
    assert!(
        wait_for(Duration::from_secs(20), || ready.exists()),
        "the child never got ready"
    );
    std::fs::read_to_string(&ready).unwrap().parse().unwrap()
}

fn check_main(m: &Value, pid: u64) {
    assert_eq!(m["processes"], 1, "{m}");
    // Stable after ready: the child only sleeps (and burns CPU in a thread).
    assert_eq!(m["open_fds"].as_u64().unwrap(), fds(pid), "{m}");
    assert!(m["open_fds"].as_u64().unwrap() >= FILES + 3, "{m}");
    assert_eq!(m["threads"].as_u64().unwrap(), proc_status(pid, "Threads"));
    for (ours, theirs) in [
        ("io_read_bytes", "read_bytes"),
        ("io_write_bytes", "write_bytes"),
        ("io_rchar", "rchar"),
        ("io_wchar", "wchar"),
    ] {
        assert_eq!(
            m[ours].as_u64().unwrap(),
            proc_io(pid, theirs),
            "{ours}: {m}"
        );
    }
    assert!(m["io_wchar"].as_u64().unwrap() >= BYTES, "{m}");
    assert!(m["io_rchar"].as_u64().unwrap() >= BYTES, "{m}");
    // fsync on a disk-backed file: the bytes reached storage.
    assert!(m["io_write_bytes"].as_u64().unwrap() >= BYTES, "{m}");
    let (user, system) = proc_cpu_ms(pid);
    let ours = m["cpu_user_ms"].as_u64().unwrap();
    assert!(ours <= user && ours + 2000 >= user, "user {ours} vs {user}");
    assert!(m["cpu_system_ms"].as_u64().unwrap() <= system);
    assert!(ours > 100, "the burning thread used CPU: {m}");
    let rss = proc_status(pid, "VmRSS") * 1024;
    let ours = m["memory_rss"].as_u64().unwrap();
    assert!(ours.abs_diff(rss) < rss / 5, "rss {ours} vs {rss}");
}

#[test]
fn status_and_list_json_match_proc() {
    let d = Daemon::new();
    let (pid, _dir) = start_child(&d);
    // A first reading is CPU over the life so far; the second over the interval.
    d.status("probe");
    std::thread::sleep(Duration::from_millis(700));
    let status = d.status("probe");
    assert_eq!(status["pid"].as_u64(), Some(pid));
    let main = &status["metrics"];
    check_main(main, pid);
    let cpu = main["cpu_percent"].as_f64().unwrap();
    assert!(cpu > 40.0 && cpu < 150.0, "one busy thread: {cpu}");

    let tree = &status["tree"];
    assert_eq!(tree["processes"], 3, "python and two sleeps: {tree}");
    let children: Vec<u64> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .filter(|&p| proc_status(p, "PPid") == pid)
        .collect();
    assert_eq!(children.len(), 2);
    let fds_sum = fds(pid) + children.iter().map(|&c| fds(c)).sum::<u64>();
    assert_eq!(tree["open_fds"].as_u64().unwrap(), fds_sum, "{tree}");
    let threads = main["threads"].as_u64().unwrap() + 2;
    assert_eq!(tree["threads"].as_u64().unwrap(), threads, "{tree}");
    let wchar = proc_io(pid, "wchar") + children.iter().map(|&c| proc_io(c, "wchar")).sum::<u64>();
    assert_eq!(tree["io_wchar"].as_u64().unwrap(), wchar);
    assert!(tree["memory_rss"].as_u64() > main["memory_rss"].as_u64());

    let list = json(&d.cmd().args(["list", "--json"]).output().unwrap());
    check_main(&list[0]["metrics"], pid);
    assert_eq!(list[0]["tree"]["processes"], 3);

    let human = d.cmd().args(["status", "probe"]).output().unwrap();
    let human = String::from_utf8(human.stdout).unwrap();
    let line = |key: &str| {
        human
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {key} line: {human}"))
            .to_owned()
    };
    assert_eq!(line("open fds"), fds(pid).to_string());
    assert!(line("tree").starts_with("3 processes"), "{human}");
    assert!(line("disk io").starts_with("read "), "{human}");

    d.cmd().args(["stop", "probe"]).assert().success();
    let stopped = d.status("probe");
    assert!(stopped["metrics"].is_null(), "not running: no metrics");
}

#[test]
fn a_running_jobs_show_matches_proc_and_an_ended_one_has_no_metrics() {
    let d = Daemon::new();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().to_str().unwrap().to_owned();
    let out = d
        .cmd()
        .args(["queue", "add", "--attempts", "1", "--", "/usr/bin/python3"])
        .arg(fixture())
        .args([folder.as_str(), &FILES.to_string(), &BYTES.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let pid = wait_ready(dir.path());
    let show = || {
        json(
            &d.cmd()
                .args(["queue", "show", &id, "--json"])
                .output()
                .unwrap(),
        )
    };
    let shown = show();
    assert_eq!(shown["state"], "running", "{shown}");
    check_main(&shown["metrics"], pid);
    assert_eq!(shown["tree"]["processes"], 3, "python and two sleeps");
    assert!(shown["tree"]["memory_rss"].as_u64() > shown["metrics"]["memory_rss"].as_u64());

    let human = d.cmd().args(["queue", "show", &id]).output().unwrap();
    let human = String::from_utf8(human.stdout).unwrap();
    let open_fds = human
        .lines()
        .find_map(|l| l.strip_prefix("open fds"))
        .unwrap_or_else(|| panic!("no open fds line: {human}"));
    assert_eq!(open_fds.trim(), fds(pid).to_string());
    assert!(human.lines().any(|l| l.starts_with("tree ")), "{human}");

    d.cmd().args(["queue", "cancel", &id]).assert().success();
    let ended = show();
    assert_eq!(ended["state"], "cancelled", "{ended}");
    assert!(ended.get("metrics").is_none(), "ended: no metrics: {ended}");
}
