//! A full disk under a running daemon (a small tmpfs, root only): logs keep whole lines and
//! mark their gaps, `status`/`list` show the condition, and registry writes the disk
//! refused are retried, so a `kill -9` of the daemon afterwards loses no intent. Also the
//! pm2-style `name` and `command` at the top level of `list --json` / `status --json`.

mod common;
#[path = "common/tmpfs.rs"]
mod tmpfs;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::daemon::Daemon;
use common::grpc::{TcpDaemon, runtime};
use common::{is_running, json, wait_for};
use procward_proto::v1;
use serde_json::Value;
use tmpfs::{Tmpfs, check_numbered_with_markers, root_or_skip};

/// A daemon (serving gRPC on TCP too) whose home, or part of it, is a tmpfs. Fields drop
/// in order: the daemon and its processes stop before the tmpfs is unmounted.
struct DiskHome {
    tcp: TcpDaemon,
    disk: Tmpfs,
}

impl DiskHome {
    /// A tmpfs of `size` on `sub` of PROCWARD_HOME (`""`: the whole home).
    fn new(sub: &str, size: &str) -> Self {
        let daemon = Daemon::new();
        let disk = Tmpfs::mount(&daemon.pw.dir().join("home").join(sub), size);
        let tcp = TcpDaemon::start_in(daemon, &[]);
        Self { tcp, disk }
    }

    fn daemon(&self) -> &Daemon {
        &self.tcp.daemon
    }

    fn home(&self) -> std::path::PathBuf {
        self.daemon().pw.dir().join("home")
    }

    fn list(&self) -> Vec<Value> {
        let out = self
            .daemon()
            .cmd()
            .args(["list", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&out).as_array().cloned().expect("a JSON array")
    }

    /// The process as gRPC `Status` shows it.
    fn grpc_status(&self, name: &str) -> v1::ManagedProcess {
        runtime().block_on(async {
            let mut supervisor = self.tcp.supervisor().await;
            let request = v1::NameRequest { name: name.into() };
            supervisor.status(request).await.unwrap().into_inner()
        })
    }
}

/// Every line of a log, oldest file first; each file must end with a whole line.
fn log_lines(path: &Path) -> Vec<String> {
    read_log_lines(path, true)
}

/// [`log_lines`] while the disk is still full: the writer may be between a short write
/// and the truncation back to the last whole line, so a file may end mid-line for a
/// moment (whole lines are checked again once space is back).
fn log_lines_while_full(path: &Path) -> Vec<String> {
    read_log_lines(path, false)
}

fn read_log_lines(path: &Path, whole: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for k in (0..16).rev() {
        let file = match k {
            0 => path.to_path_buf(),
            k => path.with_extension(format!("log.{k}")),
        };
        if let Ok(bytes) = fs::read(&file) {
            assert!(
                !whole || bytes.is_empty() || bytes.ends_with(b"\n"),
                "{} ends mid-line",
                file.display()
            );
            let text = match whole {
                true => String::from_utf8(bytes).expect("whole UTF-8 lines"),
                false => String::from_utf8_lossy(&bytes).into_owned(),
            };
            lines.extend(text.lines().map(str::to_owned));
        }
    }
    lines
}

#[test]
fn log_lines_stay_whole_and_each_gap_is_marked_when_the_home_disk_fills() {
    if !root_or_skip("log_lines_stay_whole_and_each_gap_is_marked") {
        return;
    }
    let h = DiskHome::new("", "4m");
    // Bursts of numbered 14-byte lines, each its own write (at most ~140 KB/s, so the 7
    // rotated files hold a few seconds of output: the marker is not rotated away before
    // the test reads it).
    let script = "i=0; while :; do j=0; while [ $j -lt 100 ]; do i=$((i+1)); j=$((j+1)); \
                  printf 'line %08d\\n' $i; done; sleep 0.01; done";
    h.daemon()
        .cmd()
        .args([
            "start",
            "counter",
            "--log-max-bytes",
            "64KiB",
            "--log-max-files",
            "8",
        ])
        .args(["--", "sh", "-c", script])
        .assert()
        .success();
    let log = h.home().join("logs/counter/stdout.log");
    assert!(wait_for(Duration::from_secs(20), || log_lines(&log).len() > 500));

    let filler = h.disk.fill("filler");
    let mut seen = Value::Null;
    let dropped_during = wait_for(Duration::from_secs(20), || {
        seen = h.daemon().status("counter");
        seen["log_dropped_bytes"].as_u64().unwrap_or(0) > 20_000
    });
    assert!(dropped_during, "status never showed drops: {seen}");
    assert_eq!(seen["log_error"], "no space left on device", "{seen}");
    let row = h
        .list()
        .into_iter()
        .find(|r| r["name"] == "counter")
        .expect("row");
    assert!(row["log_dropped_bytes"].as_u64().unwrap() > 0, "{row}");
    let table = h.daemon().cmd().arg("list").output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(
        table.contains("logs failing: no space left on device"),
        "{table}"
    );
    let wire = h.grpc_status("counter");
    assert!(wire.log_dropped_bytes > 0, "{wire:?}");
    assert_eq!(wire.log_error, "no space left on device");
    let text = h
        .daemon()
        .cmd()
        .args(["status", "counter"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("bytes dropped, failing now: no space left on device"),
        "{text}"
    );
    assert!(
        !log_lines_while_full(&log)
            .iter()
            .any(|l| l.starts_with("[procward")),
        "a marker while the disk is still full"
    );
    assert!(
        is_running(seen["pid"].as_u64().unwrap() as u32),
        "the process was blocked or died"
    );

    fs::remove_file(filler).unwrap();
    // Space is back: one marker, then lines again, and rotation moves the marker out of
    // the live file.
    let rotated_past = wait_for(Duration::from_secs(60), || {
        let live = fs::read_to_string(&log).unwrap_or_default();
        let all = log_lines(&log);
        !live.contains("[procward") && all.iter().any(|l| l.starts_with("[procward"))
    });
    assert!(rotated_past, "no marker, or no rotation after it");
    h.daemon()
        .cmd()
        .args(["stop", "counter"])
        .assert()
        .success();
    let status = h.daemon().status("counter");
    assert_eq!(status["log_error"], "", "{status}");

    let (markers, gaps) = check_numbered_with_markers(&log_lines(&log));
    assert!(markers >= 1);
    assert_eq!(
        Some(gaps),
        status["log_dropped_bytes"].as_u64(),
        "the markers count exactly what status reports dropped"
    );
}

#[test]
fn an_exit_on_a_full_disk_keeps_its_exit_code() {
    if !root_or_skip("an_exit_on_a_full_disk_keeps_its_exit_code") {
        return;
    }
    let h = DiskHome::new("", "4m");
    let flag = h.daemon().pw.dir().join("flag"); // outside the tmpfs
    let script = format!(
        "echo started; while [ ! -e {} ]; do sleep 0.02; done; echo bye; exit 7",
        flag.display()
    );
    h.daemon()
        .cmd()
        .args([
            "start",
            "quitter",
            "--restart",
            "never",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .assert()
        .success();
    let log = h.home().join("logs/quitter/stdout.log");
    assert!(wait_for(Duration::from_secs(20), || log_lines(&log).len() == 1));
    let filler = h.disk.fill("filler");
    fs::write(&flag, b"").unwrap();
    let status = h
        .daemon()
        .wait_state("quitter", "stopped", Duration::from_secs(20));
    assert_eq!(status["last_exit"]["exit_code"], 7, "{status}");
    // "bye" still fits in the log's last page.
    assert_eq!(log_lines(&log), ["started", "bye"]);
    fs::remove_file(filler).unwrap();
}

/// Pids of live processes whose command line contains `token`.
fn holders(token: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(token) && is_running(pid) {
            pids.push(pid);
        }
    }
    pids
}

/// Kills, when dropped, every process whose command line carries `token`: what a failing
/// run of the test may have left without a daemon that knows it (the token is unique to
/// this test process, so nothing else is signalled).
struct KillTagged(String);

impl Drop for KillTagged {
    fn drop(&mut self) {
        for pid in holders(&self.0) {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

#[test]
fn registry_writes_a_full_disk_refused_are_retried_and_survive_a_kill_9() {
    if !root_or_skip("registry_writes_a_full_disk_refused_are_retried") {
        return;
    }
    let token = format!("pwdisk{}", std::process::id());
    // Declared first, dropped last: after the daemon has stopped what it knows.
    let _leftovers = KillTagged(token.clone());
    let h = DiskHome::new("registry", "256k");
    let d = h.daemon();
    let tag = |name: &str| format!("{token}-{name}");
    let start = |name: &str| {
        let script = format!("sleep 100000; : {}", tag(name));
        d.cmd()
            .args([
                "start",
                name,
                "--stop-timeout",
                "2s",
                "--",
                "sh",
                "-c",
                &script,
            ])
            .assert()
            .success();
    };
    for name in ["keep", "stopme", "restartme", "deleteme", "startme"] {
        start(name);
    }
    d.cmd().args(["stop", "startme"]).assert().success();
    let old_restartme = d.status("restartme")["pid"].as_u64().unwrap() as u32;

    let filler = h.disk.fill("filler");
    d.cmd().args(["stop", "stopme"]).assert().success();
    d.cmd().args(["restart", "restartme"]).assert().success();
    d.cmd().args(["restart", "startme"]).assert().success();
    start("newone");
    d.cmd().args(["stop", "deleteme"]).assert().success();
    for name in ["stopme", "restartme", "startme", "newone", "deleteme"] {
        let status = d.status(name);
        assert_eq!(
            status["registry_error"], "no space left on device",
            "{name}: {status}"
        );
    }
    let text = d.cmd().args(["status", "newone"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("not saved yet: no space left on device (retrying)"),
        "{text}"
    );
    assert_eq!(d.status("keep")["registry_error"], "");
    let wire = h.grpc_status("newone");
    assert_eq!(wire.registry_error, "no space left on device");
    // The queued write of deleteme must not bring it back. (The removal frees a page,
    // which a retry may take; what is left stays full.)
    d.cmd().args(["delete", "deleteme"]).assert().success();
    h.disk.fill("filler");

    fs::remove_file(filler).unwrap();
    let saved = wait_for(Duration::from_secs(20), || {
        h.list().iter().all(|row| row["registry_error"] == "")
    });
    assert!(saved, "registry entries still unsaved after space returned");
    assert_eq!(h.grpc_status("newone").registry_error, "");
    let pids: Vec<(String, Value)> = h
        .list()
        .into_iter()
        .map(|row| (row["name"].as_str().unwrap().to_owned(), row["pid"].clone()))
        .collect();

    d.kill_9();

    // The restarted daemon sees exactly what was intended.
    let after = h.list();
    let state = |name: &str| {
        let row = after.iter().find(|r| r["name"] == name);
        row.map(|r| (r["state"].as_str().unwrap().to_owned(), r["pid"].clone()))
    };
    assert_eq!(after.len(), 5, "{after:?}");
    assert!(state("deleteme").is_none(), "a deleted process came back");
    assert_eq!(
        state("stopme").unwrap().0,
        "stopped",
        "a stopped process ran again"
    );
    for (name, pid) in &pids {
        let (now, now_pid) = state(name).unwrap();
        let want = if name == "stopme" {
            "stopped"
        } else {
            "running"
        };
        assert_eq!((now.as_str(), &now_pid), (want, pid), "{name}");
    }
    assert_ne!(state("restartme").unwrap().1, old_restartme);
    for name in ["keep", "restartme", "startme", "newone"] {
        assert_eq!(holders(&tag(name)).len(), 1, "{name} must run exactly once");
    }
    for name in ["stopme", "deleteme"] {
        assert!(holders(&tag(name)).is_empty(), "{name} must not run");
    }
    for entry in fs::read_dir(h.home().join("registry")).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = fs::read(&path).unwrap();
            serde_json::from_slice::<Value>(&bytes)
                .unwrap_or_else(|e| panic!("{} is corrupt: {e}", path.display()));
        }
    }
}

#[test]
fn list_and_status_json_have_name_and_command_at_the_top_level() {
    let d = Daemon::new();
    d.cmd()
        .args(["start", "web", "--", "sleep", "1000"])
        .assert()
        .success();
    let out = d.cmd().args(["list", "--json"]).output().unwrap();
    let rows = json(&out);
    let row = &rows[0];
    assert_eq!(row["name"], "web", "{row}");
    assert_eq!(row["command"], "sleep 1000", "{row}");
    assert_eq!(row["spec"]["name"], "web", "spec is kept");
    assert_eq!(row["spec"]["command"], serde_json::json!(["sleep", "1000"]));
    let status = d.status("web");
    assert_eq!(
        (&status["name"], &status["command"]),
        (&row["name"], &row["command"])
    );
    let stopped = d.cmd().args(["stop", "web", "--json"]).output().unwrap();
    assert_eq!(json(&stopped)[0]["name"], "web");
}
