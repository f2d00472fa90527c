//! Sessions with real processes: pipes and terminals, replay, input, resize, exit.

use std::time::Duration;

use super::*;

impl Session {
    fn spawn_for_test(spec: SessionSpec) -> Result<Arc<Self>, SessionError> {
        Self::spawn(spec, &OwnedChildren::default())
    }
}

fn spec(command: &str, args: &[&str], interactive: bool) -> SessionSpec {
    SessionSpec {
        command: command.into(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        cwd: None,
        env: BTreeMap::new(),
        interactive,
        cols: 80,
        rows: 24,
    }
}

/// Adds a chunk to the output of its stream.
fn append(out: &mut Vec<u8>, err: &mut Vec<u8>, chunk: &Chunk) {
    let target = if chunk.stream == "stdout" { out } else { err };
    target.extend_from_slice(&chunk.bytes);
}

/// Output (per stream) and the final status, from a joined receiver.
async fn drain(mut joined: Joined) -> (Vec<u8>, Vec<u8>, SessionStatus) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut last = None;
    for chunk in joined.replay {
        last = Some(chunk.seq);
        append(&mut out, &mut err, &chunk);
    }
    if joined.status.state != "running" {
        return (out, err, joined.status);
    }
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), joined.live.recv())
            .await
            .expect("an event within 10 s")
            .expect("channel open");
        match &*event {
            SessionEvent::Output(chunk) => {
                assert!(last.is_none_or(|l| chunk.seq == l + 1), "in order, no gap");
                last = Some(chunk.seq);
                append(&mut out, &mut err, chunk);
            }
            SessionEvent::Status(status) if status.state != "running" => {
                return (out, err, status.clone());
            }
            SessionEvent::Status(_) => {}
        }
    }
}

/// Reads live output until it contains `needle`.
async fn wait_for_text(live: &mut broadcast::Receiver<Arc<SessionEvent>>, needle: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(needle) {
        let event = tokio::time::timeout(Duration::from_secs(10), live.recv())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} within 10 s; saw {seen:?}"))
            .unwrap();
        if let SessionEvent::Output(chunk) = &*event {
            seen.push_str(&String::from_utf8_lossy(&chunk.bytes));
        }
    }
    seen
}

#[tokio::test]
async fn pipes_keep_streams_apart_and_report_the_exit() {
    let session = Session::spawn_for_test(spec(
        "sh",
        &["-c", "echo out; echo err >&2; printf '\\377\\376'; exit 3"],
        false,
    ))
    .unwrap();
    let (out, err, status) = drain(session.join()).await;
    assert_eq!(out, b"out\n\xff\xfe");
    assert_eq!(err, b"err\n");
    assert_eq!(
        status,
        SessionStatus {
            state: "failed",
            exit_code: Some(3),
            signal: None
        }
    );
    assert!(matches!(
        session.write(b"late").await,
        Err(SessionError::Ended)
    ));
}

#[tokio::test]
async fn a_late_joiner_replays_everything_in_order() {
    let session = Session::spawn_for_test(spec("seq", &["1", "20000"], false)).unwrap();
    let first = tokio::spawn(drain(session.join()));
    let (out, _, status) = first.await.unwrap();
    assert_eq!(status.state, "completed");
    let expected: String = (1..=20000).map(|n| format!("{n}\n")).collect();
    assert_eq!(String::from_utf8(out).unwrap(), expected);
    // After the exit: the replay still holds it all (108 KB < 256 KB), in batches.
    let joined = session.join();
    assert!(!joined.missed);
    assert!(
        joined.replay.len() < 20000,
        "batched, not one message per line"
    );
    let (again, _, _) = drain(joined).await;
    assert_eq!(String::from_utf8(again).unwrap(), expected);
}

#[tokio::test]
async fn a_terminal_takes_input_and_resizes() {
    let session = Session::spawn_for_test(spec("sh", &[], true)).unwrap();
    let mut watcher = session.join().live;
    let mut second = session.join().live;
    session.write(b"stty size\n").await.unwrap();
    wait_for_text(&mut watcher, "24 80").await;
    wait_for_text(&mut second, "24 80").await;
    for (cols, rows) in [(0, 24), (100_000u32 as u16, 24), (80, 0)] {
        assert!(matches!(
            session.resize(cols, rows).await,
            Err(SessionError::Invalid(_))
        ));
    }
    session.resize(100, 30).await.unwrap();
    session.write(b"stty size\n").await.unwrap();
    wait_for_text(&mut watcher, "30 100").await;
    session.write(b"exit 0\n").await.unwrap();
    let (_, _, status) = drain(Joined {
        replay: Vec::new(),
        missed: false,
        status: session.status(),
        live: watcher,
    })
    .await;
    assert_eq!(status.state, "completed");
}

#[tokio::test]
async fn terminate_ends_the_whole_group() {
    let session =
        Session::spawn_for_test(spec("sh", &["-c", "sleep 60 & sleep 60; wait"], false)).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    session.terminate();
    let (_, _, status) = drain(session.join()).await;
    assert_eq!(status.signal, Some(libc_sigterm()));
    // The signal reached every member at once, but on a loaded machine the background
    // `sleep` may still be exiting when its shell's exit is reported.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut left = procward_core::signal::group::members(session.pid);
    while !left.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = procward_core::signal::group::members(session.pid);
    }
    assert!(left.is_empty(), "members of the group are left: {left:?}");
}

fn libc_sigterm() -> i32 {
    nix::sys::signal::Signal::SIGTERM as i32
}

#[tokio::test]
async fn bad_requests_are_refused() {
    assert!(matches!(
        Session::spawn_for_test(spec(" ", &[], false)),
        Err(SessionError::Invalid(_))
    ));
    assert!(matches!(
        Session::spawn_for_test(spec("no-such-program-procward", &[], false)),
        Err(SessionError::Spawn { .. })
    ));
    let mut wide = spec("sh", &[], true);
    wide.cols = 0;
    assert!(matches!(
        Session::spawn_for_test(wide),
        Err(SessionError::Invalid(_))
    ));
    let session = Session::spawn_for_test(spec("true", &[], false)).unwrap();
    assert!(matches!(
        session.resize(80, 24).await,
        Err(SessionError::Invalid(_))
    ));
}

#[tokio::test]
async fn the_exit_code_survives_a_shell_with_children() {
    let session = Session::spawn_for_test(spec(
        "sh",
        &["-c", "seq 1 5000 >/dev/null; true | cat; exit 7"],
        false,
    ))
    .unwrap();
    let (_, _, status) = drain(session.join()).await;
    assert_eq!(status.exit_code, Some(7), "{status:?}");
}
