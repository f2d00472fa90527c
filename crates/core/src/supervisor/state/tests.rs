//! Unit tests of the lifecycle table (against the documented one), state names, restart
//! policies, backoff and restart decisions.

use std::time::Duration;

use super::*;
use crate::supervisor::spec::ProcessSpec;
use State::*;

/// The table from the module documentation, written out independently of
/// `can_transition_to`.
const LEGAL: [(State, &[State]); 7] = [
    (Pending, &[Starting, Stopped, Failed]),
    (Starting, &[Pending, Running, Stopping, Stopped, Failed]),
    (
        Running,
        &[Pending, Starting, Paused, Stopping, Stopped, Failed],
    ),
    (Paused, &[Pending, Running, Stopping, Stopped, Failed]),
    (Stopping, &[Stopped, Failed]),
    (Stopped, &[Pending, Starting]),
    (Failed, &[Pending, Starting, Stopped]),
];

#[test]
fn all_49_pairs_follow_the_table() {
    let mut legal = 0;
    for (from, allowed) in LEGAL {
        for to in State::ALL {
            let expected = allowed.contains(&to);
            assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
            match from.transition(to) {
                Ok(next) => assert!(expected && next == to, "{from} -> {to}"),
                Err(e) => {
                    assert!(!expected, "{from} -> {to}");
                    assert_eq!(e, IllegalTransition { from, to });
                    assert_eq!(e.to_string(), format!("cannot go from {from} to {to}"));
                    assert_eq!(e.kind(), ErrorKind::Refused);
                }
            }
            legal += usize::from(expected);
        }
    }
    assert_eq!(legal, 26);
    assert_eq!(
        Stopped.transition(Paused).unwrap_err().to_string(),
        "cannot go from stopped to paused"
    );
}

#[test]
fn documented_table_matches() {
    let doc = include_str!("mod.rs");
    for (from, _) in LEGAL {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("//! | {:<10} |", from.as_str())))
            .unwrap();
        let marks: Vec<bool> = row
            .split('|')
            .skip(2)
            .take(7)
            .map(|c| c.contains('✓'))
            .collect();
        let actual: Vec<bool> = State::ALL
            .iter()
            .map(|&to| from.can_transition_to(to))
            .collect();
        assert_eq!(marks, actual, "row {from}");
    }
}

#[test]
fn names_parse_and_serialize() {
    for state in State::ALL {
        assert_eq!(state.to_string().parse::<State>().unwrap(), state);
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            format!("\"{state}\"")
        );
    }
    assert_eq!(" RUNNING ".parse::<State>().unwrap(), Running);
    let e = "done".parse::<State>().unwrap_err();
    assert!(e.to_string().contains("expected pending, starting"), "{e}");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(Running.is_alive() && Stopping.is_alive() && !Pending.is_alive() && !Failed.is_alive());
}

#[test]
fn restart_policies() {
    for (text, policy) in [
        ("always", RestartPolicy::Always),
        ("On-Failure", RestartPolicy::OnFailure),
        ("on_failure", RestartPolicy::OnFailure),
        ("never", RestartPolicy::Never),
    ] {
        assert_eq!(text.parse::<RestartPolicy>().unwrap(), policy);
    }
    let e = "sometimes"
        .parse::<RestartPolicy>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("use always, on-failure or never"), "{e}");
    assert_eq!(
        serde_json::to_string(&RestartPolicy::OnFailure).unwrap(),
        "\"on-failure\""
    );
    assert_eq!(RestartPolicy::default(), RestartPolicy::Always);
}

#[test]
fn backoff_strings() {
    let secs = |b: u64, m: u64| Backoff {
        base: Duration::from_secs(b),
        max: Duration::from_secs(m),
    };
    assert_eq!("1s:30s".parse::<Backoff>().unwrap(), secs(1, 30));
    assert_eq!("2:60".parse::<Backoff>().unwrap(), secs(2, 60));
    assert_eq!("5s:5s".parse::<Backoff>().unwrap(), secs(5, 5));
    let ms = "500ms:1m".parse::<Backoff>().unwrap();
    assert_eq!(
        (ms.base, ms.max),
        (Duration::from_millis(500), Duration::from_secs(60))
    );
    assert_eq!(ms.to_string(), "500ms:1m");
    for (bad, why) in [
        ("0:10s", "greater than zero"),
        ("10s:1s", "below the base"),
        ("-1s:10s", "negative"),
        ("1s:-10s", "negative"),
        ("1s", "separated by ':'"),
        ("", "separated by ':'"),
        ("a:b", "base"),
        ("1s:30s:1m", "max"),
        (":5s", "empty"),
    ] {
        let e = bad.parse::<Backoff>().unwrap_err().to_string();
        assert!(
            e.contains(why) && e.starts_with("invalid backoff"),
            "{bad:?}: {e}"
        );
    }
}

#[test]
fn backoff_doubles_up_to_the_cap_without_overflow() {
    let b = Backoff {
        base: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };
    let delays: Vec<u64> = (0..8).map(|n| b.delay(n).as_secs()).collect();
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
    for n in [63, 64, 127, 128, 1000, u32::MAX] {
        assert_eq!(b.delay(n), b.max, "{n}");
    }
    let huge = Backoff {
        base: Duration::MAX,
        max: Duration::MAX,
    };
    assert_eq!(huge.delay(u32::MAX), Duration::MAX);
}

#[test]
fn exit_statuses() {
    assert!(ExitStatus::exited(0).success());
    assert!(!ExitStatus::exited(1).success() && !ExitStatus::killed(9).success());
    assert!(!ExitStatus::default().success());
    assert_eq!(ExitStatus::exited(3).to_string(), "exited with code 3");
    assert_eq!(
        ExitStatus::killed(9).to_string(),
        "was killed by signal 9 (SIGKILL)"
    );
    assert_eq!(
        ExitStatus::killed(99).to_string(),
        "was killed by signal 99"
    );
    assert_eq!(
        ExitStatus::default().to_string(),
        "exited with an unknown status"
    );
    let status = std::process::Command::new("sh")
        .args(["-c", "exit 7"])
        .status()
        .unwrap();
    assert_eq!(ExitStatus::from(status), ExitStatus::exited(7));
}

fn spec(policy: RestartPolicy, max: Option<u32>) -> ProcessSpec {
    let mut spec = ProcessSpec::new("p", vec!["true".into()]);
    spec.restart = policy;
    spec.max_restarts = max;
    spec
}

const INSTANT: Duration = Duration::ZERO;

#[test]
fn policies_decide_whether_to_restart() {
    let mut t = RestartTracker::default();
    let never = spec(RestartPolicy::Never, None);
    let stop = t.on_exit(&never, ExitStatus::exited(1), INSTANT);
    assert_eq!(
        stop,
        Decision::Stop {
            reason: "exited with code 1; restart policy is never".into()
        }
    );
    let on_failure = spec(RestartPolicy::OnFailure, None);
    let stop = t.on_exit(&on_failure, ExitStatus::exited(0), INSTANT);
    assert_eq!(
        stop,
        Decision::Stop {
            reason: "exited with code 0; restart policy is on-failure".into()
        }
    );
    assert_eq!(t, RestartTracker::default(), "stops count nothing");
    let mut done_at_3 = on_failure.clone();
    done_at_3.success_exit_codes = vec![3];
    assert!(matches!(
        t.on_exit(&done_at_3, ExitStatus::exited(3), INSTANT),
        Decision::Stop { .. }
    ));
    assert!(matches!(
        t.on_exit(&done_at_3, ExitStatus::exited(4), INSTANT),
        Decision::Restart { .. }
    ));
    t.reset();
    t.restarts = 0;
    assert_eq!(
        t.on_exit(&on_failure, ExitStatus::killed(9), INSTANT),
        Decision::Restart {
            after: Duration::from_secs(1)
        }
    );
    let always = spec(RestartPolicy::Always, None);
    assert_eq!(
        t.on_exit(&always, ExitStatus::exited(0), INSTANT),
        Decision::Restart {
            after: Duration::from_secs(2)
        }
    );
    assert_eq!(
        t,
        RestartTracker {
            restarts: 2,
            consecutive_failures: 2
        }
    );
}

#[test]
fn instant_exits_back_off_up_to_the_cap() {
    let mut t = RestartTracker::default();
    let always = spec(RestartPolicy::Always, None);
    let delays: Vec<u64> = (0..10)
        .map(
            |_| match t.on_exit(&always, ExitStatus::exited(0), INSTANT) {
                Decision::Restart { after } => after.as_secs(),
                other => panic!("{other:?}"),
            },
        )
        .collect();
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
    t.consecutive_failures = u32::MAX;
    t.restarts = u32::MAX;
    assert_eq!(
        t.on_exit(&always, ExitStatus::exited(1), INSTANT),
        Decision::Restart {
            after: Duration::from_secs(60)
        }
    );
    assert_eq!(
        t,
        RestartTracker {
            restarts: u32::MAX,
            consecutive_failures: u32::MAX
        }
    );
}

#[test]
fn stable_runs_reset_and_max_restarts_gives_up() {
    let mut t = RestartTracker::default();
    let five = spec(RestartPolicy::Always, Some(5));
    for _ in 0..5 {
        assert!(matches!(
            t.on_exit(&five, ExitStatus::exited(1), INSTANT),
            Decision::Restart { .. }
        ));
    }
    let up = t.on_exit(&five, ExitStatus::exited(1), INSTANT);
    assert_eq!(
        up,
        Decision::GiveUp {
            reason: "exited with code 1 and reached max_restarts (5)".into()
        }
    );
    assert_eq!(t.restarts, 5);
    let after_stable = t.on_exit(&five, ExitStatus::killed(15), five.stable_after);
    assert_eq!(
        after_stable,
        Decision::Restart {
            after: Duration::from_secs(1)
        }
    );
    assert_eq!(
        t,
        RestartTracker {
            restarts: 6,
            consecutive_failures: 1
        }
    );
    t.consecutive_failures = 5;
    t.reset();
    assert_eq!(
        t,
        RestartTracker {
            restarts: 6,
            consecutive_failures: 0
        }
    );
    let zero = spec(RestartPolicy::Always, Some(0));
    assert!(matches!(
        t.on_exit(&zero, ExitStatus::exited(2), INSTANT),
        Decision::GiveUp { .. }
    ));
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(serde_json::from_str::<RestartTracker>(&json).unwrap(), t);
    assert_eq!(
        serde_json::from_str::<RestartTracker>("{}").unwrap(),
        RestartTracker::default()
    );
}

#[test]
fn failures_without_an_exit_share_the_backoff_and_max_restarts() {
    let mut t = RestartTracker::default();
    let two = spec(RestartPolicy::OnFailure, Some(2));
    // A crash and a failed health check count toward the same limit, in a row.
    assert_eq!(
        t.on_exit(&two, ExitStatus::killed(9), INSTANT),
        Decision::Restart {
            after: Duration::from_secs(1)
        }
    );
    assert_eq!(
        t.on_failure(&two, "unhealthy (tcp refused)", INSTANT),
        Decision::Restart {
            after: Duration::from_secs(2)
        }
    );
    assert_eq!(
        t.on_failure(&two, "unhealthy (tcp refused)", INSTANT),
        Decision::GiveUp {
            reason: "unhealthy (tcp refused) and reached max_restarts (2)".into()
        }
    );
    assert_eq!(t.restarts, 2);
    // Under `never` it only stops, counting nothing.
    let mut n = RestartTracker::default();
    assert_eq!(
        n.on_failure(&spec(RestartPolicy::Never, None), "lost its shim", INSTANT),
        Decision::Stop {
            reason: "lost its shim; restart policy is never".into()
        }
    );
    assert_eq!(n, RestartTracker::default());
}
