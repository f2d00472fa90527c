//! The ProcessManagerService contract over the daemon's TCP listener: reads, kills,
//! ad-hoc starts, logs and the monitor stream, each with its bad input. Every test runs
//! its own daemon in its own home.

mod common;

use std::time::Duration;

use common::grpc::{TcpDaemon, runtime};
use common::{Spawned, is_running, wait_for};
use procward_proto::v1;
use tokio_stream::StreamExt;
use tonic::Code;

#[test]
fn reads_the_machine_and_refuses_bad_pids() {
    let tcp = TcpDaemon::start();
    runtime().block_on(async {
        let mut client = tcp.manager().await;
        let info = client
            .get_system_info(v1::GetSystemInfoRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(info.memory_total > 0 && info.memory_used <= info.memory_total);
        assert!((0.0..=100.0).contains(&info.cpu_percent));
        assert!(info.disk_total > 0 && info.uptime_seconds > 0 && info.boot_time > 0);

        let me = std::process::id();
        let all = client
            .list_processes(v1::ListProcessesRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(
            all.processes.iter().any(|p| p.pid == me),
            "the test itself is listed"
        );
        assert_eq!(all.total as usize, all.processes.len());
        let top = client
            .list_processes(v1::ListProcessesRequest {
                sort: Some("mem".into()),
                limit: Some(3),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(top.processes.len(), 3);
        assert!(top.total >= 3);
        assert!(
            top.processes
                .windows(2)
                .all(|w| w[0].memory_rss >= w[1].memory_rss)
        );

        let mine = client
            .get_process_info(v1::GetProcessInfoRequest { pid: me })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(mine.pid, me);
        assert!(mine.memory_rss > 0 && mine.threads >= 1 && !mine.command.is_empty());

        let bad_sort = client
            .list_processes(v1::ListProcessesRequest {
                sort: Some("colour".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(bad_sort.code(), Code::InvalidArgument);
        for pid in [0, u32::MAX, i32::MAX as u32 + 1] {
            let status = client
                .get_process_info(v1::GetProcessInfoRequest { pid })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "info {pid}");
        }
        let gone = client
            .get_process_info(v1::GetProcessInfoRequest {
                pid: i32::MAX as u32,
            })
            .await
            .unwrap_err();
        assert_eq!(gone.code(), Code::NotFound);
        for pid in [0, 1, u32::MAX, tcp.daemon.daemon_pid()] {
            let status = client
                .kill_process(v1::KillProcessRequest {
                    pid,
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "kill {pid}: {status:?}"
            );
        }
        let status = client
            .kill_process(v1::KillProcessRequest {
                pid: i32::MAX as u32,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    });
}

#[test]
fn kills_an_outside_process_and_checks_its_start_time() {
    let tcp = TcpDaemon::start();
    let victim = Spawned::sleeper();
    let pid = victim.pid();
    runtime().block_on(async {
        let mut client = tcp.manager().await;
        let seen = client
            .get_process_info(v1::GetProcessInfoRequest { pid })
            .await
            .unwrap()
            .into_inner();
        let stale = client
            .kill_process(v1::KillProcessRequest {
                pid,
                expected_start_time: Some(seen.start_time - 100),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(stale.code(), Code::FailedPrecondition, "{stale:?}");
        assert!(is_running(pid), "a refused kill signals nothing");
        let bad_timeout = client
            .kill_process(v1::KillProcessRequest {
                pid,
                timeout_seconds: Some(-1.0),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(bad_timeout.code(), Code::InvalidArgument);
        let result = client
            .kill_process(v1::KillProcessRequest {
                pid,
                expected_start_time: Some(seen.start_time),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(result.success, "{result:?}");
        assert!(result.message.contains("SIGTERM"), "{}", result.message);
    });
    assert!(wait_for(Duration::from_secs(5), || !is_running(pid)));
}

#[test]
fn started_processes_are_managed_logged_and_killed_as_a_group() {
    let tcp = TcpDaemon::start();
    let work = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let mut client = tcp.manager().await;
        let mut supervisor = tcp.supervisor().await;
        let before = supervisor
            .list(v1::ListRequest::default())
            .await
            .unwrap()
            .into_inner();

        let bad = [
            v1::StartProcessRequest {
                command: "  ".into(),
                ..Default::default()
            },
            v1::StartProcessRequest {
                command: "no-such-program-procward".into(),
                ..Default::default()
            },
            v1::StartProcessRequest {
                command: "sh".into(),
                working_dir: Some("/no/such/dir".into()),
                ..Default::default()
            },
            v1::StartProcessRequest {
                command: "sh".into(),
                env: [("A=B".to_owned(), "x".to_owned())].into(),
                ..Default::default()
            },
            v1::StartProcessRequest {
                command: "sh".into(),
                name: Some("../escape".into()),
                ..Default::default()
            },
        ];
        for request in bad {
            let status = client.start_process(request.clone()).await.unwrap_err();
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "{request:?}: {status:?}"
            );
        }
        let after = supervisor
            .list(v1::ListRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(before, after, "bad starts register nothing");

        let started = client
            .start_process(v1::StartProcessRequest {
                command: "sh".into(),
                args: vec![
                    "-c".into(),
                    "echo hello $GREETING; pwd; echo oops >&2; sleep 59.987 & wait".into(),
                ],
                env: [("GREETING".to_owned(), "from grpc".to_owned())].into(),
                working_dir: Some(work.path().display().to_string()),
                name: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(started.managed_name, "sh-1");
        assert!(started.pid > 0);
        let pid = started.pid;

        let mut lines = Vec::new();
        for _ in 0..100 {
            lines = client
                .get_logs(v1::GetLogsRequest { pid, max_lines: 10 })
                .await
                .unwrap()
                .into_inner()
                .lines;
            if lines.len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let text: Vec<_> = lines
            .iter()
            .map(|l| (l.stream.as_str(), l.content.as_str()))
            .collect();
        assert!(text.contains(&("stdout", "hello from grpc")), "{text:?}");
        assert!(
            text.contains(&("stdout", &*work.path().display().to_string())),
            "{text:?}"
        );
        assert!(text.contains(&("stderr", "oops")), "{text:?}");
        let one = client
            .get_logs(v1::GetLogsRequest { pid, max_lines: 1 })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(one.lines.len(), 1);
        for max_lines in [0, 10_000_000] {
            let status = client
                .get_logs(v1::GetLogsRequest { pid, max_lines })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
        }
        let status = client
            .get_logs(v1::GetLogsRequest {
                pid: std::process::id(),
                max_lines: 5,
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::NotFound,
            "an unmanaged pid has no logs"
        );

        let listed = client
            .list_processes(v1::ListProcessesRequest {
                name: Some("sleep 59.987".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let sleeper = listed
            .processes
            .iter()
            .find(|p| p.ppid == pid)
            .expect("the group's sleep")
            .pid;
        let result = client
            .kill_process(v1::KillProcessRequest {
                pid,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(result.success, "{result:?}");
        assert!(!is_running(sleeper), "the whole group is gone");
        let status = client
            .get_process_info(v1::GetProcessInfoRequest { pid })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        let view = supervisor
            .status(v1::NameRequest {
                name: "sh-1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            view.state(),
            v1::ProcessState::Stopped,
            "killed through the supervisor: no restart"
        );
        let after_kill = client
            .get_logs(v1::GetLogsRequest { pid, max_lines: 10 })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(after_kill.name, "sh-1", "logs outlive the process");
    });
}

#[test]
fn monitor_streams_at_the_asked_interval_and_refuses_bad_ones() {
    let tcp = TcpDaemon::start();
    runtime().block_on(async {
        let mut client = tcp.manager().await;
        for interval_seconds in [0.0, -1.0, 0.01, f64::NAN, 1e9] {
            let status = client
                .monitor_system(v1::MonitorSystemRequest { interval_seconds })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{interval_seconds}");
        }
        // Many subscribers share one sampler; each gets its own samples in order.
        let mut streams = Vec::new();
        for _ in 0..20 {
            let mut client = tcp.manager().await;
            streams.push(
                client
                    .monitor_system(v1::MonitorSystemRequest {
                        interval_seconds: 0.2,
                    })
                    .await
                    .unwrap()
                    .into_inner(),
            );
        }
        for stream in &mut streams {
            let mut stamps = Vec::new();
            for _ in 0..3 {
                let sample = tokio::time::timeout(Duration::from_secs(10), stream.next())
                    .await
                    .expect("a sample within 10 s")
                    .expect("stream open")
                    .unwrap();
                assert!(sample.memory_total > 0);
                stamps.push(sample.sampled_at_ms);
            }
            assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
        }
        drop(streams);

        // A subscriber that stops reading never holds up one that reads.
        let mut stalled = client
            .monitor_system(v1::MonitorSystemRequest {
                interval_seconds: 0.1,
            })
            .await
            .unwrap()
            .into_inner();
        stalled.next().await.unwrap().unwrap();
        let mut reader = tcp.manager().await;
        let mut reading = reader
            .monitor_system(v1::MonitorSystemRequest {
                interval_seconds: 0.1,
            })
            .await
            .unwrap()
            .into_inner();
        for _ in 0..15 {
            tokio::time::timeout(Duration::from_secs(10), reading.next())
                .await
                .expect("the reading subscriber keeps getting samples")
                .unwrap()
                .unwrap();
        }
        drop((stalled, reading));
        // The daemon still answers after the clients went away.
        client
            .get_system_info(v1::GetSystemInfoRequest {})
            .await
            .unwrap();
    });
}
