//! The engine's audit log: every destructive action, refused ones included, is one line
//! in `$PROCWARD_HOME/audit.log` naming the caller the door passed in.

mod common;

use common::Fixture;
use procward_core::supervisor::spec::ProcessSpec;
use procward_core::sys::process::identify;
use procward_daemon::engine::audit::{Caller, Interface, Outcome, Peer, read_entries};
use procward_daemon::engine::kills::KillOrder;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_and_stops_are_recorded_with_caller_target_and_result() {
    let fixture = Fixture::new();
    let engine = &fixture.engine;
    let caller = Caller::new(Interface::Grpc, Peer::Uid(4242)).claiming(Some("cli"));

    let mut child = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("sleep starts");
    let pid = child.id();
    let ticks = identify(pid).expect("identity").start_ticks;
    let refused = engine
        .kill(
            &caller,
            KillOrder {
                pid: i64::from(pid),
                expected_start_ticks: Some(ticks + 1),
                ..KillOrder::default()
            },
        )
        .await;
    assert!(refused.is_err(), "a wrong identity is refused");
    let report = engine
        .kill(
            &caller,
            KillOrder {
                pid: i64::from(pid),
                expected_start_ticks: Some(ticks),
                timeout_seconds: Some(2.0),
                ..KillOrder::default()
            },
        )
        .await
        .expect("kill");
    assert!(report.success, "{report:?}");
    let _ = child.wait();

    let spec = ProcessSpec::new("audited", vec!["sleep".into(), "60".into()]);
    engine.supervisor().start(spec, false).await.expect("start");
    engine.stop(&caller, "audited").await.expect("stop");
    engine
        .stop(&caller, "nobody")
        .await
        .expect_err("unknown name");

    let (entries, bad) = read_entries(&fixture.home.root().join("audit.log")).expect("read");
    assert_eq!(bad, 0);
    assert_eq!(entries.len(), 4, "{entries:#?}");
    for entry in &entries {
        assert_eq!(entry.interface, Interface::Grpc);
        assert_eq!(entry.caller, "uid:4242");
        assert_eq!(entry.client.as_deref(), Some("cli"));
    }
    let (first, second) = (&entries[0], &entries[1]);
    assert_eq!(
        (first.action.as_str(), first.result),
        ("kill", Outcome::Refused)
    );
    assert_eq!(first.target.pid, Some(pid));
    assert_eq!(first.target.start_ticks, Some(ticks));
    assert_eq!(first.target.expected_start_ticks, Some(ticks + 1));
    assert_eq!(
        (second.action.as_str(), second.result),
        ("kill", Outcome::Ok)
    );
    assert_eq!(second.target.start_ticks, Some(ticks));
    assert_eq!(entries[2].action, "stop");
    assert_eq!(entries[2].target.name.as_deref(), Some("audited"));
    assert_eq!(entries[2].result, Outcome::Ok);
    assert_eq!(entries[3].result, Outcome::Refused);
    assert!(entries[0].unix_ms <= entries[3].unix_ms);
}
