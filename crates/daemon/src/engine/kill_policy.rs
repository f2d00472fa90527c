//! The one kill policy of the daemon: every door that kills by pid or by port (gRPC
//! `KillProcess` and `KillPort`, and through them MCP `kill_process`, the dashboard's
//! `process:kill`/`port:kill` and the CLI's `kill` when a daemon runs) decides here.
//!
//! For each pid, the process holding it right now is read once (its exact identity:
//! start time in clock ticks since boot) and checked against what the caller saw. Then:
//!
//! * the main process of a managed process, or procward's shim for it: a terminating
//!   signal stops it **through the supervisor** (whole group, no restart by its restart
//!   policy), so a kill is never undone by a restart nor leaves an orphaned shim;
//! * a non-terminating signal (HUP, USR1, ...) still goes to a managed process itself, but
//!   never to a shim (refused: the shim is infrastructure);
//! * any other process: the core kill, through a pidfd, pinned to the identity read here.

use std::collections::BTreeMap;

use procward_core::signal::validate_pid;
use procward_core::supervisor::view::ManagedView;
use procward_core::sys::process::{Identity, identify};
use procward_core::{Error, Escalation, KillOutcome, KillRequest, Signal, port_holders};

use crate::engine::error::SupervisorError;
use crate::engine::supervisor::Supervisor;

/// What a pid is to procward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The main process of the managed process of this name.
    Managed(String),
    /// procward's shim (`procward shim`) for the managed process of this name.
    Shim(String),
    /// Not procward's.
    Other,
}

/// What a kill did to one target.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// A managed process was stopped through the supervisor (named by its main pid or its
    /// shim's).
    Stopped {
        /// The managed process.
        name: String,
        /// Its state after the stop.
        view: Box<ManagedView>,
    },
    /// A signal went to the process itself.
    Signalled(KillOutcome),
}

impl Verdict {
    /// One line for people.
    pub fn message(&self) -> String {
        match self {
            Verdict::Stopped { name, view } => format!(
                "stopped managed process '{name}' and its process group through the \
                 supervisor; it will not be restarted ({})",
                view.reason
            ),
            Verdict::Signalled(outcome) => outcome.to_string(),
        }
    }
}

/// Why a kill did not happen (or failed).
#[derive(Debug, thiserror::Error)]
pub enum KillError {
    /// Refused, unknown or failed at the OS level (the core library's error).
    #[error(transparent)]
    Core(#[from] Error),
    /// The supervisor could not stop the managed process.
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
}

/// The policy, over one supervisor; cheap to clone.
#[derive(Debug, Clone)]
pub struct KillPolicy {
    supervisor: Supervisor,
}

impl KillPolicy {
    /// The policy for the processes `supervisor` manages.
    pub fn new(supervisor: Supervisor) -> Self {
        Self { supervisor }
    }

    /// Kills one pid as `request` says (identity expectations included), routing a managed
    /// process or its shim to the supervisor when the signal ends it (or `force` is set).
    pub async fn kill(&self, request: KillRequest, force: bool) -> Result<Verdict, KillError> {
        validate_pid(i64::from(request.pid))?;
        let views = self.supervisor.list().await?;
        let who = identify(request.pid)?;
        who.check(request.expected_start_time, request.expected_start_ticks)?;
        let ending = ends(request.signal, force);
        match role(&views, &who) {
            Role::Managed(name) | Role::Shim(name) if ending => self.stop(name).await,
            Role::Shim(name) => Err(Error::ProtectedPid {
                pid: i64::from(who.pid),
                reason: format!(
                    "it is procward's shim for '{name}' (infrastructure, not the process); \
                     use `procward stop {name}` or `procward signal {name} {}`",
                    request.signal.name().trim_start_matches("SIG"),
                ),
            }
            .into()),
            Role::Managed(_) | Role::Other => {
                let pinned = pin(request, &who);
                let outcome = blocking(move || procward_core::kill(&pinned)).await?;
                Ok(Verdict::Signalled(outcome))
            }
        }
    }

    /// Kills every holder of `port` (`family`: tcp, udp, tcp6, udp6 or "" for all) with
    /// SIGTERM then SIGKILL after `escalation`. All or nothing: a protected holder refuses
    /// the whole port. Managed holders (or their shims) are stopped through the supervisor,
    /// each once; the others are signalled, pinned to the identity seen at lookup.
    pub async fn kill_port(
        &self,
        port: u16,
        family: String,
        escalation: Escalation,
    ) -> Result<Vec<(u32, Result<Verdict, KillError>)>, KillError> {
        let (_, pids) = blocking(move || port_holders(port, &family)).await?;
        for &pid in &pids {
            validate_pid(i64::from(pid))?;
        }
        let views = self.supervisor.list().await?;
        let mut stops = BTreeMap::new();
        let mut kills = Vec::new();
        let mut results = Vec::new();
        for pid in pids {
            let Ok(who) = identify(pid) else {
                results.push((pid, Err(Error::NoSuchProcess { pid }.into())));
                continue;
            };
            match role(&views, &who) {
                Role::Managed(name) | Role::Shim(name) => {
                    stops.entry(name).or_insert(pid);
                }
                Role::Other => kills.push(pin(
                    KillRequest {
                        escalation,
                        ..KillRequest::new(pid)
                    },
                    &who,
                )),
            }
        }
        let stopped_some = !stops.is_empty();
        for (name, pid) in stops {
            results.push((pid, self.stop(name).await));
        }
        let killed = blocking(move || Ok(procward_core::signal::kill_all(&kills, false))).await?;
        for (pid, result) in killed {
            // A holder that went with a stopped managed process (its worker, say) is gone,
            // which is what was asked: not an error.
            let gone = matches!(
                result,
                Err(Error::NoSuchProcess { .. } | Error::ProcessChanged { .. })
            );
            if !(gone && stopped_some) {
                results.push((pid, result.map(Verdict::Signalled).map_err(KillError::from)));
            }
        }
        Ok(results)
    }

    async fn stop(&self, name: String) -> Result<Verdict, KillError> {
        let view = self.supervisor.stop(&name).await?;
        Ok(Verdict::Stopped {
            name,
            view: Box::new(view),
        })
    }
}

/// Which managed process, if any, `who` is the main process or the shim of. Exact: by
/// clock ticks when the run recorded them; for older records by seconds (main process) or
/// by being the running main process's parent (shim).
pub fn role(views: &[ManagedView], who: &Identity) -> Role {
    role_among(views.iter().map(Run::from), who)
}

/// What the policy compares of one managed process's current run.
#[derive(Debug, Clone, Copy)]
struct Run<'a> {
    name: &'a str,
    pid: Option<u32>,
    start_time: Option<u64>,
    start_ticks: Option<u64>,
    shim_pid: Option<u32>,
    shim_start_ticks: Option<u64>,
}

impl<'a> From<&'a ManagedView> for Run<'a> {
    fn from(view: &'a ManagedView) -> Self {
        Self {
            name: &view.spec.name,
            pid: view.pid,
            start_time: view.start_time,
            start_ticks: view.start_ticks,
            shim_pid: view.shim_pid,
            shim_start_ticks: view.shim_start_ticks,
        }
    }
}

fn role_among<'a>(runs: impl IntoIterator<Item = Run<'a>>, who: &Identity) -> Role {
    for run in runs {
        if run.pid == Some(who.pid) {
            let same = match run.start_ticks {
                Some(ticks) => ticks == who.start_ticks,
                None => run.start_time == Some(who.start_time),
            };
            if same {
                return Role::Managed(run.name.to_owned());
            }
        }
        if run.shim_pid == Some(who.pid) {
            let same = match run.shim_start_ticks {
                Some(ticks) => ticks == who.start_ticks,
                None => run
                    .pid
                    .and_then(|child| identify(child).ok())
                    .is_some_and(|child| child.ppid == who.pid),
            };
            if same {
                return Role::Shim(run.name.to_owned());
            }
        }
    }
    Role::Other
}

/// `request`, pinned to the instance `who` (the caller's own expectations already passed).
fn pin(request: KillRequest, who: &Identity) -> KillRequest {
    KillRequest {
        expected_start_ticks: Some(who.start_ticks),
        ..request
    }
}

/// Runs blocking `/proc` and signal work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, KillError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::io("kill task", std::io::Error::other(e)))?
        .map_err(KillError::from)
}

/// Whether `signal` (as asked, with `force`) ends the process, so the policy stops a
/// managed one instead of delivering it.
fn ends(signal: Signal, force: bool) -> bool {
    force || signal.is_termination()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, pid: u32, ticks: Option<u64>, shim: u32, shim_ticks: u64) -> Run<'_> {
        Run {
            name,
            pid: Some(pid),
            start_time: Some(1_700_000_000),
            start_ticks: ticks,
            shim_pid: Some(shim),
            shim_start_ticks: Some(shim_ticks),
        }
    }

    fn who(pid: u32, start_ticks: u64, start_time: u64) -> Identity {
        Identity {
            pid,
            ppid: 1,
            pgid: pid,
            name: "x".into(),
            uid: 0,
            start_time,
            start_ticks,
        }
    }

    #[test]
    fn roles_are_decided_by_exact_identity() {
        let runs = [run("web", 100, Some(5_000), 99, 4_990)];
        let role = |who: Identity| role_among(runs, &who);
        assert_eq!(
            role(who(100, 5_000, 1_700_000_000)),
            Role::Managed("web".into())
        );
        assert_eq!(
            role(who(99, 4_990, 1_700_000_000)),
            Role::Shim("web".into())
        );
        // Same pid, same second, another tick: a newcomer, not procward's.
        assert_eq!(role(who(100, 5_001, 1_700_000_000)), Role::Other);
        assert_eq!(role(who(99, 4_991, 1_700_000_000)), Role::Other);
        assert_eq!(role(who(7, 5_000, 1_700_000_000)), Role::Other);
        // A run recorded without ticks falls back to seconds.
        let old = [run("old", 100, None, 99, 4_990)];
        assert_eq!(
            role_among(old, &who(100, 1, 1_700_000_000)),
            Role::Managed("old".into())
        );
        assert_eq!(role_among(old, &who(100, 1, 1_700_000_001)), Role::Other);
    }

    #[test]
    fn only_ending_signals_stop() {
        assert!(ends(Signal::TERM, false));
        assert!(ends("HUP".parse().unwrap(), true));
        assert!(!ends("USR1".parse().unwrap(), false));
    }
}
