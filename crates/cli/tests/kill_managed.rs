//! One kill policy for every door: a managed process killed by pid or by port (CLI `kill`,
//! `kill --port`, gRPC `KillProcess`, `KillPort`) is stopped through the supervisor and not
//! brought back by its `restart = always` policy; its shim is routed the same way (or
//! refused for a signal that does not end it) and no duplicate child appears; an empty
//! `signal` is INVALID_ARGUMENT. Each test runs its own daemon in its own home.

mod common;

use std::time::Duration;

use common::daemon::{Daemon, group_members};
use common::grpc::{TcpDaemon, runtime};
use common::{children_of, is_running, wait_for};
use procward_proto::v1;
use serde_json::Value;
use tonic::Code;

/// A managed program that listens on a free loopback port and prints it.
const LISTENER: &str = "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\n\
                        s.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(1000)";

/// Longer than the first restart delay (200 ms) with room to spare: a restart policy that
/// fired would have brought the process back by then.
const PAST_BACKOFF: Duration = Duration::from_secs(2);

/// Starts NAME with `restart = always` and a short back-off; returns (pid, shim pid).
fn start_always(daemon: &Daemon, name: &str, argv: &[&str]) -> (u32, u32) {
    let status = daemon.start_restarting(name, &[], argv);
    let pid = status["pid"].as_u64().expect("pid") as u32;
    let shim = status["shim_pid"]
        .as_u64()
        .expect("shim_pid in status --json") as u32;
    assert!(status["start_ticks"].as_u64().is_some(), "{status}");
    (pid, shim)
}

/// A managed listener; returns (pid, shim pid, port).
fn start_listener(daemon: &Daemon, name: &str) -> (u32, u32, String) {
    let (pid, shim) = start_always(daemon, name, &["python3", "-c", LISTENER]);
    let mut port = String::new();
    assert!(
        wait_for(Duration::from_secs(10), || {
            port = daemon.logs(name, 1).pop().unwrap_or_default();
            !port.is_empty()
        }),
        "the listener never printed its port"
    );
    (pid, shim, port)
}

/// After a kill: stopped, not restarted past the back-off, nothing of it left.
fn assert_stays_stopped(daemon: &Daemon, name: &str, pid: u32, shim: u32) {
    daemon.wait_state(name, "stopped", Duration::from_secs(10));
    std::thread::sleep(PAST_BACKOFF);
    let status: Value = daemon.status(name);
    assert_eq!(
        status["state"], "stopped",
        "restarted after the kill: {status}"
    );
    assert!(status["pid"].is_null(), "{status}");
    assert_eq!(status["restarts"], 0, "{status}");
    assert!(!is_running(pid), "pid {pid} still runs");
    assert!(!is_running(shim), "shim {shim} still runs");
    assert!(
        group_members(pid).is_empty(),
        "group {pid} still has members"
    );
}

#[test]
fn cli_kill_of_a_managed_pid_stops_it_for_good() {
    let daemon = Daemon::new();
    let (pid, shim) = start_always(&daemon, "web", &["sleep", "1000"]);
    daemon
        .cmd()
        .args(["kill", &pid.to_string()])
        .assert()
        .success()
        .stdout(predicates::str::contains("stopped managed process 'web'"));
    assert_stays_stopped(&daemon, "web", pid, shim);
}

#[test]
fn cli_kill_by_port_of_a_managed_listener_stops_it_for_good() {
    let daemon = Daemon::new();
    let (pid, shim, port) = start_listener(&daemon, "api");
    let out = daemon
        .cmd()
        .args(["kill", "--port", &port, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = common::json(&out);
    assert_eq!(records[0]["pid"], pid, "{records}");
    assert!(
        records[0]["message"].as_str().unwrap().contains("'api'"),
        "{records}"
    );
    assert_stays_stopped(&daemon, "api", pid, shim);
}

#[test]
fn grpc_kill_process_and_kill_port_stop_managed_processes_for_good() {
    let tcp = TcpDaemon::start();
    let (pid, shim) = start_always(&tcp.daemon, "worker", &["sleep", "1000"]);
    let (lpid, lshim, port) = start_listener(&tcp.daemon, "api");
    runtime().block_on(async {
        let answer = tcp
            .manager()
            .await
            .kill_process(v1::KillProcessRequest {
                pid,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            answer.success && answer.message.contains("'worker'"),
            "{answer:?}"
        );
        let answer = tcp
            .ports()
            .await
            .kill_port(v1::KillPortRequest {
                port: port.parse().unwrap(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            answer.success && answer.message.contains("'api'"),
            "{answer:?}"
        );
    });
    assert_stays_stopped(&tcp.daemon, "worker", pid, shim);
    assert_stays_stopped(&tcp.daemon, "api", lpid, lshim);
}

#[test]
fn grpc_kill_process_on_a_shim_is_routed_or_refused_never_duplicated() {
    let tcp = TcpDaemon::start();
    let (pid, shim) = start_always(&tcp.daemon, "svc", &["sleep", "1000"]);
    assert_eq!(children_of(shim), vec![pid], "the shim runs the process");
    runtime().block_on(async {
        let mut manager = tcp.manager().await;
        // A signal that does not end it is refused for the shim, which is infrastructure.
        let refused = manager
            .kill_process(v1::KillProcessRequest {
                pid: shim,
                signal: Some("HUP".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert!(
            refused.message().contains("shim for 'svc'")
                && refused.message().contains("procward stop svc"),
            "{refused:?}"
        );
        assert!(is_running(shim) && is_running(pid));
        assert_eq!(children_of(shim), vec![pid]);
        // SIGTERM to the shim stops the managed process through the supervisor.
        let answer = manager
            .kill_process(v1::KillProcessRequest {
                pid: shim,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            answer.success && answer.message.contains("'svc'"),
            "{answer:?}"
        );
    });
    assert_stays_stopped(&tcp.daemon, "svc", pid, shim);
}

#[test]
fn grpc_kill_process_refuses_an_empty_signal_and_signals_nothing() {
    let tcp = TcpDaemon::start();
    let target = common::Spawned::sleeper();
    runtime().block_on(async {
        let mut manager = tcp.manager().await;
        for signal in ["", "   "] {
            let status = manager
                .kill_process(v1::KillProcessRequest {
                    pid: target.pid(),
                    signal: Some(signal.into()),
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            assert!(status.message().starts_with("signal "), "{status:?}");
        }
        assert!(target.alive());
        // Absent still means SIGTERM.
        let answer = manager
            .kill_process(v1::KillProcessRequest {
                pid: target.pid(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(answer.success, "{answer:?}");
    });
    assert!(wait_for(Duration::from_secs(5), || !target.alive()));
}
