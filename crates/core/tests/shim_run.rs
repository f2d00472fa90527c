//! The per-process shim end to end, with real processes: spawn errors, exit records, zero
//! loss, rotation, and survival of the daemon-side launcher's death.
//!
//! The shim runs as `target/<profile>/examples/shim` (crates/core/examples/shim.rs), which
//! `cargo test` builds along with the tests.

mod common;

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{shim_exe, spec};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use procward_core::logs::writer::rotated_path;
use procward_core::supervisor::shim::{
    ExitRecord, LaunchError, LaunchSpec, Launched, launch, read_status,
};
use tempfile::TempDir;

/// Kills the child's process group and reaps the shim, however the test ends.
struct Running {
    launched: Launched,
    spec: LaunchSpec,
}

impl Running {
    fn start(dir: &TempDir, spec: LaunchSpec) -> Self {
        let launched = launch(&shim_exe(), &spec, &dir.path().join("launch.json")).unwrap();
        Self { launched, spec }
    }

    fn pgid(&self) -> Pid {
        Pid::from_raw(self.launched.child_pid as i32)
    }

    /// Waits for the exit record, then for the shim to exit 0.
    fn wait(&mut self) -> ExitRecord {
        let record = wait_status(&self.spec.status_file, Duration::from_secs(30));
        assert!(
            self.launched
                .shim
                .wait()
                .unwrap()
                .expect("the shim is our child")
                .success()
        );
        record
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = killpg(self.pgid(), Signal::SIGKILL);
        let _ = self.launched.shim.wait();
    }
}

fn wait_status(status_file: &Path, timeout: Duration) -> ExitRecord {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(record) = read_status(status_file).unwrap() {
            return record;
        }
        assert!(Instant::now() < deadline, "no exit record in {timeout:?}");
        sleep(Duration::from_millis(10));
    }
}

fn spawn_error(dir: &TempDir, spec: LaunchSpec) -> String {
    match launch(&shim_exe(), &spec, &dir.path().join("launch.json")) {
        Err(LaunchError::Spawn(message)) => message,
        Err(other) => panic!("expected a spawn error, got {other}"),
        Ok(launched) => panic!("started pid {}", launched.child_pid),
    }
}

fn assert_numbered(bytes: &[u8], count: u64) {
    let text = std::str::from_utf8(bytes).unwrap();
    let mut expected = 1u64;
    for line in text.lines() {
        assert_eq!(
            line.parse::<u64>().unwrap(),
            expected,
            "lost, repeated or reordered"
        );
        expected += 1;
    }
    assert_eq!(expected - 1, count);
}

#[test]
fn spawn_failures_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let message = spawn_error(&dir, spec(dir.path(), &["no-such-command-procward"]));
    assert!(
        message.contains("cannot run 'no-such-command-procward'"),
        "{message}"
    );
    assert!(message.contains("command not found"), "{message}");

    let mut missing_cwd = spec(dir.path(), &["true"]);
    missing_cwd.cwd = Some(dir.path().join("gone"));
    let message = spawn_error(&dir, missing_cwd);
    assert!(message.contains("working directory"), "{message}");
    assert!(message.contains("does not exist"), "{message}");

    let script = dir.path().join("not-executable.sh");
    fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let message = spawn_error(&dir, spec(dir.path(), &[script.to_str().unwrap()]));
    assert!(message.contains("permission denied"), "{message}");

    let message = spawn_error(&dir, spec(dir.path(), &[]));
    assert!(message.contains("empty command"), "{message}");
    assert!(
        read_status(&dir.path().join("status.json"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn exit_code_and_signal_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let record = Running::start(&dir, spec(dir.path(), &["sh", "-c", "exit 3"])).wait();
    assert_eq!((record.exit_code, record.signal), (Some(3), None));
    assert!(record.ended_at_ms >= before);

    let dir = tempfile::tempdir().unwrap();
    let killed = spec(dir.path(), &["sh", "-c", "kill -TERM $$; sleep 5"]);
    let record = Running::start(&dir, killed).wait();
    assert_eq!((record.exit_code, record.signal), (None, Some(15)));
}

#[test]
fn the_child_gets_exactly_the_given_environment_cwd_and_a_clean_signal_mask() {
    let dir = tempfile::tempdir().unwrap();
    let script = "env; pwd; grep SigBlk /proc/self/status; ps -o pgid= -p $$";
    let mut running = Running::start(&dir, spec(dir.path(), &["sh", "-c", script]));
    let pid = running.launched.child_pid;
    assert_eq!(running.wait().exit_code, Some(0));
    let out = fs::read_to_string(dir.path().join("logs/out.log")).unwrap();
    // sh adds PWD (and may add SHLVL, _) of its own; nothing of ours leaks in.
    for line in out.lines().filter(|l| l.contains('=')) {
        let name = line.split('=').next().unwrap();
        assert!(
            ["PATH", "PROCWARD_TEST", "PWD", "SHLVL", "_", "OLDPWD"].contains(&name),
            "unexpected variable {line}"
        );
    }
    assert!(out.contains("PROCWARD_TEST=yes\n"));
    let canonical = dir.path().canonicalize().unwrap();
    assert!(
        out.contains(&format!("\n{}\n", canonical.display())),
        "{out}"
    );
    assert!(out.contains("SigBlk:\t0000000000000000\n"), "{out}");
    assert_eq!(
        out.lines().last().unwrap().trim(),
        pid.to_string(),
        "own group"
    );
}

#[test]
fn an_inheriting_spec_gives_the_child_the_shims_environment_with_its_additions_on_top() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(dir.path(), &["sh", "-c", "env"]);
    spec.inherit_env = true;
    spec.env = [("PROCWARD_TEST", "added"), ("PATH", "/usr/bin:/bin")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    let mut running = Running::start(&dir, spec);
    assert_eq!(running.wait().exit_code, Some(0));
    let out = fs::read_to_string(dir.path().join("logs/out.log")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"PROCWARD_TEST=added"), "{out}");
    assert!(
        lines.contains(&"PATH=/usr/bin:/bin"),
        "an addition wins: {out}"
    );
    // Everything else of the launcher's (the daemon's) environment is there, unchanged,
    // except what sh sets itself.
    let mut inherited = 0;
    for (key, value) in std::env::vars() {
        if ["PATH", "PROCWARD_TEST", "PWD", "SHLVL", "_", "OLDPWD"].contains(&key.as_str())
            || value.contains('\n')
        {
            continue;
        }
        assert!(
            lines.contains(&format!("{key}={value}").as_str()),
            "{key} missing: {out}"
        );
        inherited += 1;
    }
    assert!(
        inherited > 0,
        "the test's environment has variables of its own"
    );
}

#[test]
fn every_line_of_both_streams_arrives_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let script = "seq 1 200000 & seq 1 50000 >&2; wait";
    let record = Running::start(&dir, spec(dir.path(), &["sh", "-c", script])).wait();
    assert_eq!(record.exit_code, Some(0));
    assert_numbered(&fs::read(dir.path().join("logs/out.log")).unwrap(), 200_000);
    assert_numbered(&fs::read(dir.path().join("logs/err.log")).unwrap(), 50_000);
}

#[test]
fn a_last_line_without_newline_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let script = "printf 'first\\nabc'; printf 'no newline' >&2";
    Running::start(&dir, spec(dir.path(), &["sh", "-c", script])).wait();
    assert_eq!(
        fs::read(dir.path().join("logs/out.log")).unwrap(),
        b"first\nabc\n"
    );
    assert_eq!(
        fs::read(dir.path().join("logs/err.log")).unwrap(),
        b"no newline\n"
    );
}

#[test]
fn rotation_with_small_limits_keeps_whole_lines_and_few_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut small = spec(dir.path(), &["seq", "1", "20000"]);
    small.max_bytes = 4096;
    small.max_files = 3;
    let log = small.stdout_log.clone();
    Running::start(&dir, small).wait();
    assert!(!rotated_path(&log, 3).exists());
    let mut kept = Vec::new();
    for k in (0..3).rev() {
        let file = fs::read(rotated_path(&log, k)).unwrap();
        assert!(file.len() <= 4096 && file.ends_with(b"\n"));
        kept.extend_from_slice(&file);
    }
    let numbers: Vec<u64> = std::str::from_utf8(&kept)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(*numbers.last().unwrap(), 20000);
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "whole, consecutive lines"
    );
}

#[test]
fn a_grandchild_holding_the_pipes_does_not_hold_up_the_exit_record() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let script = "sleep 60 & echo parent done";
    let record = Running::start(&dir, spec(dir.path(), &["sh", "-c", script])).wait();
    assert_eq!(record.exit_code, Some(0));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        fs::read(dir.path().join("logs/out.log")).unwrap(),
        b"parent done\n"
    );
}

/// A stand-in for the daemon: a shell in its own process group that starts the shim, reads
/// its report line, and then idles, as the daemon would.
struct Launcher {
    launcher: Child,
    shim_pid: Pid,
    child_pid: Pid,
}

impl Launcher {
    fn start(dir: &TempDir, spec: &LaunchSpec) -> Self {
        // Orphaned shims are re-parented to this test process, which can then reap them.
        rustix::process::set_child_subreaper(Some(rustix::process::getpid())).unwrap();
        let launch_file = dir.path().join("launch.json");
        fs::write(&launch_file, serde_json::to_vec(spec).unwrap()).unwrap();
        let report = dir.path().join("report.json");
        let script = r#""$0" shim "$1" | { IFS= read -r line; echo "$line" > "$2.tmp"; mv "$2.tmp" "$2"; sleep 1000; }"#;
        let launcher = Command::new("sh")
            .args(["-c", script])
            .arg(shim_exe())
            .arg(&launch_file)
            .arg(&report)
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !report.exists() {
            assert!(Instant::now() < deadline, "no report from the shim");
            sleep(Duration::from_millis(10));
        }
        let report: serde_json::Value =
            serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
        let child_pid = report["child_pid"].as_i64().unwrap();
        let stat = fs::read_to_string(format!("/proc/{child_pid}/stat")).unwrap();
        let ppid: i32 = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        Self {
            launcher,
            shim_pid: Pid::from_raw(ppid),
            child_pid: Pid::from_raw(child_pid as i32),
        }
    }

    fn signal_launcher_group(&mut self, signal: Signal) {
        killpg(Pid::from_raw(self.launcher.id() as i32), signal).unwrap();
        self.launcher.wait().unwrap();
    }
}

impl Drop for Launcher {
    fn drop(&mut self) {
        let _ = killpg(Pid::from_raw(self.launcher.id() as i32), Signal::SIGKILL);
        let _ = self.launcher.wait();
        let _ = killpg(self.child_pid, Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(self.shim_pid, None);
    }
}

fn lines_in(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

fn survives_the_launchers_death(signal: Signal) {
    let dir = tempfile::tempdir().unwrap();
    let counter = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.01; done";
    let spec = spec(dir.path(), &["sh", "-c", counter]);
    let mut launcher = Launcher::start(&dir, &spec);
    let before = lines_in(&spec.stdout_log);
    launcher.signal_launcher_group(signal);

    // The shim and the child live on, and output keeps reaching the log.
    sleep(Duration::from_millis(300));
    assert!(
        kill(launcher.shim_pid, None).is_ok(),
        "the shim died with its launcher"
    );
    assert!(
        kill(launcher.child_pid, None).is_ok(),
        "the child died with the launcher"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines_in(&spec.stdout_log) < before + 10 {
        assert!(Instant::now() < deadline, "the log stopped growing");
        sleep(Duration::from_millis(20));
    }

    // Stopping the child still gets its exit recorded and every line kept.
    killpg(launcher.child_pid, Signal::SIGTERM).unwrap();
    let record = wait_status(&spec.status_file, Duration::from_secs(30));
    assert_eq!(record.signal, Some(Signal::SIGTERM as i32));
    let status = nix::sys::wait::waitpid(launcher.shim_pid, None).unwrap();
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(launcher.shim_pid, 0)
    );
    let out = fs::read(&spec.stdout_log).unwrap();
    let count = out.iter().filter(|c| **c == b'\n').count() as u64;
    assert_numbered(&out, count);
}

#[test]
fn the_shim_survives_sigterm_to_its_launchers_process_group() {
    survives_the_launchers_death(Signal::SIGTERM);
}

#[test]
fn the_child_keeps_running_and_logging_after_the_launcher_is_sigkilled() {
    survives_the_launchers_death(Signal::SIGKILL);
}
