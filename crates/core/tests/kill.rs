//! The library's kill contract, against real child processes.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::Duration;

use procward_core::{
    Error, ErrorKind, Escalation, KillRequest, Signal, get_process_info, is_owned_by_current_user,
    kill, kill_process, kill_tree,
};

/// A child in its own process group, killed (group and all) and reaped on drop.
struct Guard(Child);

impl Guard {
    fn spawn(script: &str) -> Self {
        let child = Command::new("sh")
            .args(["-c", script])
            .process_group(0)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        Guard(child)
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.pid() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

#[test]
fn kill_process_terms_and_reports() {
    let mut target = Guard::spawn("exec sleep 1000");
    assert!(is_owned_by_current_user(target.pid()).unwrap());
    let outcome = kill_process(target.pid()).unwrap();
    assert_eq!(outcome.name, "sleep");
    assert!(outcome.exited && !outcome.escalated);
    assert_eq!(outcome.ended_by, Some(Signal::TERM));
    let status = target.0.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15)
    );
}

#[test]
fn stubborn_process_escalates_to_kill() {
    let target = Guard::spawn("trap '' TERM; while :; do sleep 0.05; done");
    let request = KillRequest {
        escalation: Escalation::KillAfter(Duration::from_millis(200)),
        ..KillRequest::new(target.pid())
    };
    let outcome = kill(&request).unwrap();
    assert!(outcome.escalated);
    assert_eq!(outcome.ended_by, Some(Signal::KILL));
    assert!(
        outcome.elapsed_ms >= 200 && outcome.elapsed_ms < 2000,
        "{outcome:?}"
    );
}

#[test]
fn wrong_start_time_is_refused_and_nothing_is_sent() {
    let target = Guard::spawn("exec sleep 1000");
    let info = get_process_info(target.pid()).unwrap();
    let request = KillRequest {
        expected_start_time: Some(info.start_time + 1),
        ..KillRequest::new(target.pid())
    };
    let err = kill(&request).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(matches!(err, Error::ProcessChanged { .. }), "{err}");
    assert!(
        get_process_info(target.pid()).is_ok(),
        "target must survive"
    );
    let request = KillRequest {
        expected_start_time: Some(info.start_time),
        ..request
    };
    assert!(kill(&request).unwrap().exited);
}

#[test]
fn tree_kill_reaches_grandchildren() {
    let target = Guard::spawn("sh -c 'sleep 1000 & wait' & sleep 1000 & wait");
    std::thread::sleep(Duration::from_millis(100));
    let results = kill_tree(&KillRequest::new(target.pid())).unwrap();
    assert!(results.len() >= 4, "sh, sh, sleep, sleep: {results:?}");
    assert_eq!(results[0].0, target.pid());
    assert!(
        results
            .iter()
            .all(|(_, r)| r.as_ref().is_ok_and(|o| o.exited)),
        "{results:?}"
    );
}

#[test]
fn protected_and_missing_pids_fail_typed() {
    for pid in [0, 1, std::process::id()] {
        assert_eq!(
            kill_process(pid).unwrap_err().kind(),
            ErrorKind::Refused,
            "{pid}"
        );
    }
    assert_eq!(
        kill_process(u32::MAX).unwrap_err().kind(),
        ErrorKind::Refused
    );
    let err = kill_process(i32::MAX as u32 - 7).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}
