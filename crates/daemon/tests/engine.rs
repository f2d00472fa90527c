//! The engine driven in-process, as every transport drives it: ad-hoc starts, the process
//! table, kills under the one policy, logs as streams, and bad input refused with nothing
//! changed. No daemon, no socket: one engine in a temp home per test.

mod common;

use std::time::Duration;

use common::{Fixture, eventually};
use procward_core::supervisor::spec::ProcessSpec;
use procward_core::supervisor::state::{RestartPolicy, State};
use procward_daemon::engine::EngineError;
use procward_daemon::engine::adhoc::AdHocStart;
use procward_daemon::engine::audit::{Caller, Interface, Peer};
use procward_daemon::engine::kills::KillOrder;
use procward_daemon::engine::logs::{Lines, LogStream, LogsQuery};
use procward_daemon::engine::system::ListQuery;

fn adhoc(command: &str, args: &[&str]) -> AdHocStart {
    AdHocStart {
        command: command.into(),
        args: args.iter().map(|a| (*a).into()).collect(),
        ..AdHocStart::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adhoc_process_is_listed_by_name_and_a_kill_stops_it_for_good() {
    let fixture = Fixture::new();
    let engine = &fixture.engine;
    let started = engine
        .start_adhoc(adhoc("sleep", &["30"]))
        .await
        .expect("starts");
    assert_eq!(started.view.spec.name, "sleep-1", "derived PROGRAM-N name");
    let process = started.process.expect("running");
    let pid = process.pid;

    let listing = engine
        .processes(ListQuery {
            name: Some("sleep".into()),
            ..ListQuery::default()
        })
        .await
        .expect("lists");
    let found = eventually(Duration::from_secs(5), || async {
        let listing = engine.processes(ListQuery::default()).await.expect("lists");
        listing
            .processes
            .iter()
            .any(|(p, name)| p.pid == pid && name.as_deref() == Some("sleep-1"))
    })
    .await;
    assert!(found, "the sample shows pid {pid} as sleep-1 ({listing:?})");
    let (one, name) = engine.process(pid).await.expect("one process");
    assert_eq!((one.pid, name.as_deref()), (pid, Some("sleep-1")));

    // A stale identity is refused and changes nothing.
    let stale = engine
        .kill(
            &caller(),
            KillOrder {
                pid: i64::from(pid),
                expected_start_ticks: Some(process.start_ticks + 1),
                ..KillOrder::default()
            },
        )
        .await
        .expect_err("a different start time is another process");
    assert!(matches!(stale, EngineError::Core(_)), "{stale}");
    let view = engine.supervisor().status("sleep-1").await.unwrap();
    assert_eq!(
        view.state,
        State::Running,
        "still running after a refused kill"
    );

    let report = engine
        .kill(
            &caller(),
            KillOrder {
                pid: i64::from(pid),
                expected_start_ticks: Some(process.start_ticks),
                ..KillOrder::default()
            },
        )
        .await
        .expect("kills");
    assert!(report.success, "{report:?}");
    assert!(
        report.message.contains("stopped managed process 'sleep-1'"),
        "through the supervisor: {}",
        report.message
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let view = engine.supervisor().status("sleep-1").await.unwrap();
    assert_eq!(view.state, State::Stopped);
    assert_eq!(view.pid, None, "not restarted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_listener_killed_by_port_is_not_resurrected() {
    let fixture = Fixture::new();
    let engine = &fixture.engine;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let script = format!(
        "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('127.0.0.1',{port}))\ns.listen()\ntime.sleep(60)"
    );
    let mut spec = ProcessSpec::new("web", vec!["python3".into(), "-c".into(), script]);
    spec.restart = RestartPolicy::Always;
    engine
        .supervisor()
        .start(spec, false)
        .await
        .expect("starts");
    let listening = eventually(Duration::from_secs(10), || async {
        engine
            .ports("tcp", u32::from(port))
            .await
            .is_ok_and(|p| !p.is_empty())
    })
    .await;
    assert!(listening, "port {port} is listened on");

    let report = engine
        .kill_port(&caller(), u32::from(port), "tcp", false, Some(2.0))
        .await
        .expect("kills by port");
    assert!(report.success, "{report:?}");
    assert!(report.message.contains("'web'"), "{}", report.message);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let view = engine.supervisor().status("web").await.unwrap();
    assert_eq!(
        view.state,
        State::Stopped,
        "its restart policy did not bring it back"
    );
    assert!(
        engine
            .ports("tcp", u32::from(port))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_stream_the_tail_of_each_stream_and_are_found_by_pid_after_exit() {
    let fixture = Fixture::new();
    let engine = &fixture.engine;
    let started = engine
        .start_adhoc(AdHocStart {
            name: Some("speaker".into()),
            ..adhoc(
                "sh",
                &["-c", "echo one; echo two; echo oops >&2; sleep 0.2"],
            )
        })
        .await
        .expect("starts");
    let pid = started.view.pid.expect("a pid");
    let exited = eventually(Duration::from_secs(10), || async {
        engine
            .supervisor()
            .status("speaker")
            .await
            .is_ok_and(|v| v.pid.is_none())
    })
    .await;
    assert!(exited);

    let mut lines = engine
        .logs(LogsQuery {
            name: "speaker".into(),
            stdout: false,
            stderr: false,
            lines: Lines::All,
            follow: false,
            since_ms: None,
        })
        .await
        .expect("logs");
    let mut seen = Vec::new();
    while let Some(line) = lines.recv().await {
        seen.push((line.stream, String::from_utf8(line.line).unwrap()));
    }
    assert_eq!(
        seen,
        [
            (LogStream::Stdout, "one".to_owned()),
            (LogStream::Stdout, "two".to_owned()),
            (LogStream::Stderr, "oops".to_owned()),
        ]
    );

    let (name, tail) = engine.logs_of_pid(pid, 2).await.expect("by pid");
    assert_eq!(name, "speaker");
    assert_eq!(
        tail,
        [
            (LogStream::Stdout, "two".to_owned()),
            (LogStream::Stderr, "oops".to_owned())
        ],
        "the last two lines over both streams"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_the_field_named_and_changes_nothing() {
    let fixture = Fixture::new();
    let engine = &fixture.engine;
    let why = |e: EngineError| e.to_string();

    let refused = [
        why(engine
            .kill(
                &caller(),
                KillOrder {
                    pid: 0,
                    ..KillOrder::default()
                },
            )
            .await
            .unwrap_err()),
        why(engine
            .kill(
                &caller(),
                KillOrder {
                    pid: -1,
                    ..KillOrder::default()
                },
            )
            .await
            .unwrap_err()),
        why(engine
            .kill(
                &caller(),
                KillOrder {
                    pid: i64::from(i32::MAX),
                    signal: Some(String::new()),
                    ..KillOrder::default()
                },
            )
            .await
            .unwrap_err()),
        why(engine
            .kill(
                &caller(),
                KillOrder {
                    pid: i64::from(i32::MAX),
                    timeout_seconds: Some(f64::NAN),
                    ..KillOrder::default()
                },
            )
            .await
            .unwrap_err()),
        why(engine
            .kill_port(&caller(), 0, "", false, None)
            .await
            .unwrap_err()),
        why(engine
            .kill_port(&caller(), 80, "sctp", false, None)
            .await
            .unwrap_err()),
        why(engine.ports("", 70_000).await.unwrap_err()),
        why(engine.process(0).await.unwrap_err()),
        why(engine.monitor(0.01).err().expect("too fast")),
        why(engine.logs_of_pid(1, 0).await.unwrap_err()),
        why(engine.logs_of_pid(1, 100_001).await.unwrap_err()),
        why(engine
            .processes(ListQuery {
                sort: Some("colour".into()),
                ..ListQuery::default()
            })
            .await
            .unwrap_err()),
        why(engine
            .start_adhoc(AdHocStart {
                name: Some(String::new()),
                ..adhoc("sleep", &["1"])
            })
            .await
            .unwrap_err()),
        why(engine
            .start_adhoc(adhoc("no-such-program-procward", &[]))
            .await
            .unwrap_err()),
        why(engine
            .start_adhoc(AdHocStart {
                working_dir: Some("relative/dir".into()),
                ..adhoc("sleep", &["1"])
            })
            .await
            .unwrap_err()),
        why(engine
            .logs(LogsQuery {
                name: "nobody".into(),
                stdout: true,
                stderr: false,
                lines: Lines::Last(5),
                follow: false,
                since_ms: None,
            })
            .await
            .unwrap_err()),
    ];
    let expected = [
        "PID 0 addresses the caller's whole process group",
        "PID -1",
        "not empty",
        "timeout_seconds",
        "port must be 1-65535",
        "protocol must be",
        "port must be 1-65535",
        "pid must be between 1 and",
        "interval_seconds",
        "max_lines must be between 1 and 100000",
        "max_lines must be between 1 and 100000",
        "colour",
        "name: is empty",
        "not found on PATH",
        "working_dir must be an absolute path",
        "no managed process named 'nobody'",
    ];
    for (why, fragment) in refused.iter().zip(expected) {
        assert!(
            why.contains(fragment),
            "'{why}' should mention '{fragment}'"
        );
    }
    assert!(
        engine.supervisor().list().await.unwrap().is_empty(),
        "no refused request registered anything"
    );
    assert!(
        std::fs::read_dir(fixture.home.root().join("logs"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0,
        "and no log folder was left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_refuses_a_taken_name_or_set_and_resolves_dependencies_against_the_registered() {
    let fixture = Fixture::new();
    let supervisor = fixture.engine.supervisor();
    let sleeper = |name: &str| ProcessSpec::new(name, vec!["sleep".into(), "60".into()]);
    let mut web = sleeper("web");
    web.instances = 2;
    supervisor.start(web, false).await.expect("a set of two");
    supervisor.start(sleeper("db"), false).await.expect("db");
    // Without dependencies no spec is read, but names still are: a set's and a process's.
    for taken in ["web", "db"] {
        let e = supervisor.start(sleeper(taken), false).await.unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
    }
    // With one, the registered are read: a set and a process resolve, a stranger does not.
    let mut api = sleeper("api");
    api.depends_on = vec!["web".into(), "db".into()];
    supervisor
        .start(api, false)
        .await
        .expect("api after web and db");
    let mut lost = sleeper("lost");
    lost.depends_on = vec!["nobody".into()];
    let e = supervisor.start(lost, false).await.unwrap_err();
    assert!(e.to_string().contains("unknown process 'nobody'"), "{e}");
    let names: Vec<String> = supervisor
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.spec.name)
        .collect();
    assert_eq!(names, ["api", "db", "web:0", "web:1"]);
}

/// A test's caller, as the audit log names it.
fn caller() -> Caller {
    Caller::new(Interface::Grpc, Peer::Daemon).claiming(Some("engine-test"))
}
