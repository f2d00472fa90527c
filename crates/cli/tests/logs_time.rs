//! Timestamped logs end to end, with the real binary and daemon: the shim stamps each line
//! without the program's help, `logs` interleaves stdout and stderr by time, `--since`
//! keeps what was written since, and `flush` empties the logs of a running process whose
//! next lines start the emptied files.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::{json, wait_for};
use predicates::prelude::*;
use predicates::str::contains;

/// Both streams' last lines, as `procward logs NAME` prints them.
fn both(d: &Daemon, name: &str) -> Vec<String> {
    let out = d
        .cmd()
        .args(["logs", name, "--lines", "50"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `2026-12-06T08:48:23.123Z ` and the rest of the line.
fn split_stamp(line: &str) -> (&str, &str) {
    assert!(line.len() > 25, "no stamp: {line:?}");
    let (stamp, rest) = line.split_at(25);
    assert!(
        stamp.ends_with("Z ") && stamp.as_bytes()[10] == b'T',
        "not a stamp: {line:?}"
    );
    (stamp, rest)
}

#[test]
fn lines_are_stamped_and_the_streams_interleave_by_time() {
    let d = Daemon::new();
    let script = "echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three; sleep 1000";
    d.cmd()
        .args(["start", "clock", "--timestamps", "--", "sh", "-c", script])
        .assert()
        .success();
    assert_eq!(d.status("clock")["spec"]["logs"]["timestamps"], true);
    assert!(wait_for(Duration::from_secs(5), || both(&d, "clock").len() == 3));
    let lines = both(&d, "clock");
    let texts: Vec<&str> = lines.iter().map(|l| split_stamp(l).1).collect();
    assert_eq!(texts, ["one", "two", "three"], "{lines:?}");
    let stamps: Vec<&str> = lines.iter().map(|l| split_stamp(l).0).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    // Only stderr: the one stderr line, stamped.
    let err = d
        .cmd()
        .args(["logs", "clock", "--stderr"])
        .output()
        .unwrap();
    let err = String::from_utf8(err.stdout).unwrap();
    assert_eq!(
        err.lines().map(|l| split_stamp(l).1).collect::<Vec<_>>(),
        ["two"]
    );
}

#[test]
fn since_keeps_what_was_written_since() {
    let d = Daemon::new();
    let script = "echo early; sleep 1.5; echo late; sleep 1000";
    d.cmd()
        .args(["start", "twice", "--timestamps", "--", "sh", "-c", script])
        .assert()
        .success();
    assert!(wait_for(Duration::from_secs(5), || both(&d, "twice").len() == 2));
    let out = d
        .cmd()
        .args(["logs", "twice", "--since", "1s"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let texts: Vec<&str> = text.lines().map(|l| split_stamp(l).1).collect();
    assert_eq!(texts, ["late"], "{text}");
    // A time far back keeps both; a time in the future keeps none.
    let all = d
        .cmd()
        .args(["logs", "twice", "--since", "2000-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(all.stdout).unwrap().lines().count(), 2);
    let none = d
        .cmd()
        .args(["logs", "twice", "--since", "2999-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert!(none.status.success() && none.stdout.is_empty(), "{none:?}");
    // Bad input: a clear error, exit 2.
    d.cmd()
        .args(["logs", "twice", "--since", "yesterday-ish"])
        .assert()
        .code(2)
        .stderr(contains("neither a duration"));
}

#[test]
fn since_without_timestamps_is_refused_with_the_way_out() {
    let d = Daemon::new();
    d.cmd()
        .args(["start", "plain", "--", "sh", "-c", "echo hi; sleep 1000"])
        .assert()
        .success();
    d.cmd()
        .args(["logs", "plain", "--since", "5m"])
        .assert()
        .failure()
        .stderr(contains("does not timestamp").and(contains("--timestamps")));
    // Plain logs are unchanged: no stamps.
    assert!(wait_for(Duration::from_secs(5), || d.logs("plain", 5) == ["hi"]));
}

#[test]
fn flush_empties_the_logs_of_a_running_process() {
    let d = Daemon::new();
    // 200-byte lines, rotated every 4 KiB: a few rotated files after a second.
    let script = "i=0; while :; do i=$((i+1)); printf '%0200d\\n' $i; \
                  [ $i -eq 100 ] && sleep 1000; done";
    d.cmd()
        .args([
            "start",
            "chatty",
            "--log-max-bytes",
            "4K",
            "--log-max-files",
            "3",
            "--",
            "sh",
            "-c",
            script,
        ])
        .assert()
        .success();
    let status = d.status("chatty");
    let stdout_log = status["stdout_log"].as_str().unwrap().to_owned();
    let rotated = format!("{stdout_log}.1");
    assert!(wait_for(Duration::from_secs(5), || std::path::Path::new(
        &rotated
    )
    .exists()));
    let pid = status["pid"].as_u64().unwrap();
    let out = d
        .cmd()
        .args(["flush", "chatty", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let answer = json(&out);
    assert_eq!(answer[0]["name"], "chatty");
    assert!(
        answer[0]["bytes_removed"].as_u64().unwrap() > 4096,
        "{answer}"
    );
    assert!(!std::path::Path::new(&rotated).exists());
    assert_eq!(std::fs::metadata(&stdout_log).unwrap().len(), 0);
    // Still the same running process; the audit log has the flush.
    assert_eq!(d.status("chatty")["pid"].as_u64().unwrap(), pid);
    let audit = d.cmd().args(["audit", "--json"]).output().unwrap();
    assert!(String::from_utf8_lossy(&audit.stdout).contains("\"flush\""));
    // Unknown names: exit 1, named.
    d.cmd()
        .args(["flush", "nope"])
        .assert()
        .code(1)
        .stderr(contains("'nope'"));
}

#[test]
fn after_a_flush_new_lines_start_the_emptied_file() {
    let d = Daemon::new();
    // A process that prints one line every 200 ms.
    let ticker = "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done";
    d.cmd()
        .args(["start", "ticker", "--", "sh", "-c", ticker])
        .assert()
        .success();
    assert!(wait_for(Duration::from_secs(5), || d
        .logs("ticker", 100)
        .len()
        >= 3));
    d.cmd()
        .args(["flush", "ticker"])
        .assert()
        .success()
        .stdout(contains("logs emptied"));
    assert!(wait_for(Duration::from_secs(5), || !d
        .logs("ticker", 100)
        .is_empty()));
    let stdout_log = d.status("ticker")["stdout_log"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes = std::fs::read(&stdout_log).unwrap();
    assert!(
        !bytes.contains(&0),
        "no hole of NUL bytes where the old lines were"
    );
    let first = String::from_utf8(bytes).unwrap();
    assert!(first.starts_with("tick "), "{first:?}");
}
