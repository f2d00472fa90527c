//! Exact process identity: `start_ticks` (kernel start time in clock ticks since boot) is
//! shown by `ps --json` and gRPC, and a kill naming the wrong ticks is refused even when
//! the start second matches (the case a seconds-only check lets through). The PID-reuse
//! torture test over every door is tests/torture/.

mod common;

use std::time::Duration;

use common::grpc::{TcpDaemon, runtime};
use common::{Procward, Spawned, json, wait_for};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use procward_proto::v1;
use tonic::Code;

/// `ps --json`'s row for `pid`.
fn ps_row(pw: &Procward, pid: u32) -> serde_json::Value {
    let out = pw.cmd().args(["ps", "--json"]).output().unwrap();
    assert!(out.status.success());
    let rows = json(&out);
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["pid"] == pid)
        .cloned()
        .expect("pid listed")
}

/// Field 22 of /proc/PID/stat, read by the test itself.
fn stat_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = stat.rsplit(')').next().unwrap();
    // Fields after the name start at field 3 (state); starttime is field 22.
    after_comm
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn cli_refuses_other_ticks_in_the_same_second() {
    let pw = Procward::new();
    let target = Spawned::sleeper();
    let row = ps_row(&pw, target.pid());
    let (secs, ticks) = (
        row["start_time"].as_u64().unwrap(),
        row["start_ticks"].as_u64().unwrap(),
    );
    assert_eq!(ticks, stat_ticks(target.pid()), "{row}");
    let pid = target.pid().to_string();
    pw.cmd()
        .args(["kill", &pid, "--start-time", &secs.to_string()])
        .args(["--start-ticks", &(ticks + 1).to_string()])
        .assert()
        .code(2)
        .stderr(contains("start_ticks").and(contains("recycled")));
    assert!(target.alive(), "the wrong instance must not be signalled");
    pw.cmd()
        .args(["kill", &pid, "--start-ticks", &ticks.to_string(), "--json"])
        .assert()
        .success()
        .stdout(contains(format!("\"start_ticks\":{ticks}")));
    assert!(wait_for(Duration::from_secs(5), || !target.alive()));
}

#[test]
fn cli_start_ticks_name_one_process() {
    let pw = Procward::new();
    pw.cmd()
        .args(["kill", "4242", "4243", "--start-ticks", "5"])
        .assert()
        .code(2)
        .stderr(contains("--start-ticks"));
    pw.cmd()
        .args(["kill", "--help"])
        .assert()
        .success()
        .stdout(contains("--start-ticks"));
}

#[test]
fn grpc_shows_ticks_and_refuses_other_ticks_in_the_same_second() {
    let tcp = TcpDaemon::start();
    let target = Spawned::sleeper();
    runtime().block_on(async {
        let mut manager = tcp.manager().await;
        let seen = manager
            .get_process_info(v1::GetProcessInfoRequest { pid: target.pid() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(seen.start_ticks, stat_ticks(target.pid()));
        let status = manager
            .kill_process(v1::KillProcessRequest {
                pid: target.pid(),
                expected_start_time: Some(seen.start_time),
                expected_start_ticks: Some(seen.start_ticks - 1),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(status.message().contains("start_ticks"), "{status:?}");
        assert!(target.alive());
        let answer = manager
            .kill_process(v1::KillProcessRequest {
                pid: target.pid(),
                expected_start_time: Some(seen.start_time),
                expected_start_ticks: Some(seen.start_ticks),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(answer.success, "{answer:?}");
    });
    assert!(wait_for(Duration::from_secs(5), || !target.alive()));
}
