//! `kill`'s local kills (the PIDs no daemon handles) in the same audit log the daemon
//! writes, `$PROCWARD_HOME/audit.log`, as interface `cli` with this user's uid: one line
//! per PID, refused ones included. Lines are appended with one `write` each (`O_APPEND`),
//! so they never interleave with the daemon's. Nothing is written when the home folder
//! does not exist (no daemon ever ran: nothing to keep a log in), and a failed write is
//! a warning on stderr, never a failed kill.

use procward_core::sys::process::identify;
use procward_core::{Error, KillOutcome, KillRequest};
use procward_daemon::Home;
use procward_daemon::engine::audit::{Audit, Caller, Interface, Outcome, Peer, Target};

/// The start identities of `requests`' PIDs, read before they are signalled.
pub fn identities(requests: &[KillRequest]) -> Vec<(u32, Option<u64>)> {
    requests
        .iter()
        .map(|r| (r.pid, identify(r.pid).ok().map(|who| who.start_ticks)))
        .collect()
}

/// Records what the local kills of `requests` did.
pub fn record(
    requests: &[KillRequest],
    ticks: &[(u32, Option<u64>)],
    results: &[(u32, Result<KillOutcome, Error>)],
) {
    let Ok(home) = Home::from_env() else { return };
    if !home.root().is_dir() {
        return;
    }
    let audit = Audit::open(procward_daemon::engine::audit::file::audit_path(
        home.root(),
    ));
    let uid = rustix::process::getuid().as_raw();
    let caller = Caller::new(Interface::Cli, Peer::Uid(uid)).claiming(Some("cli"));
    for (pid, result) in results {
        let request = requests.iter().find(|r| r.pid == *pid);
        let target = Target {
            pid: Some(*pid),
            start_ticks: ticks.iter().find(|(p, _)| p == pid).and_then(|(_, t)| *t),
            expected_start_ticks: request.and_then(|r| r.expected_start_ticks),
            ..Target::default()
        };
        let (outcome, message) = match result {
            Ok(done) => (Outcome::Ok, done.to_string()),
            Err(e) => {
                let outcome = match e.kind() {
                    procward_core::ErrorKind::PermissionDenied
                    | procward_core::ErrorKind::Elevation
                    | procward_core::ErrorKind::Failed => Outcome::Failed,
                    _ => Outcome::Refused,
                };
                (outcome, e.to_string())
            }
        };
        audit.record(&caller, "kill", target, outcome, message);
    }
    if audit.failures() > 0 {
        eprintln!(
            "warning: could not write the audit log {}",
            home.root().join("audit.log").display()
        );
    }
}
