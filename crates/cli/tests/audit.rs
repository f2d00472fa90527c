//! The audit log through the CLI and gRPC doors: real processes started by the test are
//! stopped and killed through `procward` (daemon calls and local kills) and gRPC over TCP;
//! `audit.log` names the interface, the caller, the action, the target's identity and the
//! result, refused kills included; `procward audit` reads it back.

mod common;

use std::time::Duration;

use common::grpc::{TcpDaemon, runtime};
use common::{Spawned, is_running, wait_for};
use procward_proto::v1;
use serde_json::Value;

/// Start time in clock ticks since boot (`/proc/PID/stat` field 22).
fn start_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split(' ').nth(19).unwrap().parse().unwrap()
}

fn entries(tcp: &TcpDaemon) -> Vec<Value> {
    let text = std::fs::read_to_string(tcp.daemon.pw.dir().join("home/audit.log")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn uid() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    format!("uid:{}", line.split_whitespace().nth(1).unwrap())
}

#[test]
fn cli_and_grpc_actions_are_recorded_and_read_back() {
    let tcp = TcpDaemon::start();
    let daemon = &tcp.daemon;
    let me = uid();

    // CLI → daemon (gRPC over the Unix socket, claiming `cli`).
    daemon
        .cmd()
        .args(["start", "--name", "web", "--command", "sleep 1000"])
        .assert()
        .success();
    daemon.cmd().args(["stop", "web"]).assert().success();

    // CLI alone: a process that is not managed is killed locally.
    let mut local = Spawned::sleeper();
    let pid = local.pid();
    let ticks = start_ticks(pid);
    daemon
        .cmd()
        .args([
            "kill",
            &pid.to_string(),
            "--start-ticks",
            &(ticks + 1).to_string(),
        ])
        .assert()
        .code(2);
    assert!(is_running(pid), "a refused kill leaves it running");
    daemon
        .cmd()
        .args([
            "kill",
            &pid.to_string(),
            "--start-ticks",
            &ticks.to_string(),
        ])
        .assert()
        .success();
    let _ = local.child.wait();

    // gRPC over TCP.
    let mut remote = Spawned::sleeper();
    let rpid = remote.pid();
    let rticks = start_ticks(rpid);
    let rt = runtime();
    let (refused, report) = rt.block_on(async {
        let mut manager = tcp.manager().await;
        let refused = manager
            .kill_process(v1::KillProcessRequest {
                pid: rpid,
                expected_start_ticks: Some(rticks + 7),
                ..Default::default()
            })
            .await;
        let report = manager
            .kill_process(v1::KillProcessRequest {
                pid: rpid,
                expected_start_ticks: Some(rticks),
                ..Default::default()
            })
            .await
            .expect("kill")
            .into_inner();
        (refused, report)
    });
    assert!(refused.is_err());
    assert!(report.success, "{report:?}");
    let _ = remote.child.wait();

    let log = entries(&tcp);
    assert_eq!(log.len(), 5, "{log:#?}");
    let stop = &log[0];
    assert_eq!(stop["interface"], "grpc");
    assert_eq!(stop["caller"], me.as_str());
    assert_eq!(stop["client"], "cli");
    assert_eq!(stop["action"], "stop");
    assert_eq!(stop["target"]["name"], "web");
    assert_eq!(stop["result"], "ok");
    for (entry, expected, result) in [(&log[1], ticks + 1, "refused"), (&log[2], ticks, "ok")] {
        assert_eq!(entry["interface"], "cli", "{entry}");
        assert_eq!(entry["caller"], me.as_str());
        assert_eq!(entry["action"], "kill");
        assert_eq!(entry["target"]["pid"], pid);
        assert_eq!(entry["target"]["start_ticks"], ticks);
        assert_eq!(entry["target"]["expected_start_ticks"], expected);
        assert_eq!(entry["result"], result, "{entry}");
    }
    for (entry, expected, result) in [(&log[3], rticks + 7, "refused"), (&log[4], rticks, "ok")] {
        assert_eq!(entry["interface"], "grpc", "{entry}");
        let caller = entry["caller"].as_str().unwrap();
        assert!(caller.starts_with("addr:127.0.0.1:"), "{entry}");
        assert!(entry.get("client").is_none(), "{entry}");
        assert_eq!(entry["action"], "kill");
        assert_eq!(entry["target"]["pid"], rpid);
        assert_eq!(entry["target"]["start_ticks"], rticks);
        assert_eq!(entry["target"]["expected_start_ticks"], expected);
        assert_eq!(entry["result"], result, "{entry}");
    }

    // `procward audit` reads it back.
    let out = daemon.cmd().args(["audit", "--json"]).output().unwrap();
    assert!(out.status.success());
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed, log);
    let out = daemon
        .cmd()
        .args(["audit", "--since", "1h"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("INTERFACE") && table.contains("refused"),
        "{table}"
    );
    assert!(
        table.contains(&format!("pid {rpid} (ticks {rticks})")),
        "{table}"
    );
    let out = daemon
        .cmd()
        .args(["audit", "--json", "--since", "2999-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "[]");
    let bad = daemon
        .cmd()
        .args(["audit", "--since", "yesterday-ish"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neither a duration"));
    assert!(wait_for(Duration::from_secs(1), || !is_running(rpid)));
}
