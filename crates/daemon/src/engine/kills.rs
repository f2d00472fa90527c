//! Kills as every door asks for them: one pid (with the identity the caller saw) or every
//! holder of a port, decided by the one [`super::kill_policy`] and reported the same way
//! everywhere. A request that is wrong (a protected pid, a changed identity, an unknown
//! pid) is an error and changes nothing; a kill that was allowed and ran but did not work
//! (permission denied, a process that survived SIGKILL) is a [`KillReport`] that says so.

use std::time::Duration;

use procward_core::signal::validate_pid;
use procward_core::{Error, ErrorKind, Escalation, KillOutcome, KillRequest};

use super::Engine;
use super::actions::engine_outcome;
use super::audit::{Caller, Outcome, Target};
use super::checks::{family, port_number, seconds, signal_field};
use super::error::EngineError;
use super::kill_policy::{KillError, Verdict};

/// Default grace period before SIGKILL.
pub const DEFAULT_KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// A kill of one pid, as a caller asks for it.
#[derive(Debug, Clone, Default)]
pub struct KillOrder {
    /// The pid (anything else than 1..=i32::MAX is refused: no groups, no "all").
    pub pid: i64,
    /// A signal name or number; `None` is SIGTERM, an empty string is refused.
    pub signal: Option<String>,
    /// The start time the caller saw (Unix seconds): refuses a reused pid.
    pub expected_start_time: Option<u64>,
    /// The start time the caller saw in clock ticks since boot: the exact check.
    pub expected_start_ticks: Option<u64>,
    /// SIGKILL at once (and stop a managed process whatever the signal).
    pub force: bool,
    /// Seconds before SIGKILL follows (default 5; at most 3600).
    pub timeout_seconds: Option<f64>,
}

/// Why a kill that ran did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillFailure {
    /// `permission_denied`, `survived` or `failed`.
    pub code: &'static str,
    /// What happened, for people.
    pub message: String,
}

/// What a kill did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillReport {
    /// Whether the target is gone (or was signalled with a non-terminating signal).
    pub success: bool,
    /// What was done, for people.
    pub message: String,
    /// Set when the kill ran and failed.
    pub failure: Option<KillFailure>,
}

/// The grace period a kill asks for.
fn escalation(force: bool, timeout: Option<f64>) -> Result<Escalation, EngineError> {
    if force {
        return Ok(Escalation::KillAfter(Duration::ZERO));
    }
    let timeout = match timeout {
        Some(value) => seconds("timeout_seconds", value, 0.0)?,
        None => DEFAULT_KILL_TIMEOUT,
    };
    Ok(Escalation::KillAfter(timeout))
}

/// A signal's outcome as a report; failures that mean the request was wrong are errors.
fn outcome_report(result: procward_core::Result<KillOutcome>) -> Result<KillReport, EngineError> {
    match result {
        Ok(outcome) => Ok(KillReport {
            success: outcome.exited || outcome.ended_by.is_none(),
            message: outcome.to_string(),
            failure: None,
        }),
        Err(e) => {
            let code = match e.kind() {
                ErrorKind::PermissionDenied | ErrorKind::Elevation => "permission_denied",
                ErrorKind::Failed if matches!(e, Error::StillAlive { .. }) => "survived",
                ErrorKind::Failed => "failed",
                _ => return Err(e.into()),
            };
            Ok(KillReport {
                success: false,
                message: String::new(),
                failure: Some(KillFailure {
                    code,
                    message: e.to_string(),
                }),
            })
        }
    }
}

/// What the kill policy decided, as a report.
fn report(verdict: Result<Verdict, KillError>) -> Result<KillReport, EngineError> {
    match verdict {
        Ok(Verdict::Signalled(outcome)) => outcome_report(Ok(outcome)),
        Ok(stopped) => Ok(KillReport {
            success: true,
            message: stopped.message(),
            failure: None,
        }),
        Err(KillError::Core(e)) => outcome_report(Err(e)),
        Err(other) => Err(other.into()),
    }
}

impl Engine {
    /// Kills one pid under the kill policy: a managed process (or its shim) is stopped
    /// through the supervisor, so it is not restarted; anything else is signalled, pinned
    /// to its exact identity. Recorded in the audit log for `caller` (action `kill`, with
    /// the identity found and the one expected), refused requests included.
    pub async fn kill(&self, caller: &Caller, order: KillOrder) -> Result<KillReport, EngineError> {
        let mut target = Target {
            pid: u32::try_from(order.pid).ok(),
            expected_start_ticks: order.expected_start_ticks,
            ..Target::default()
        };
        if let Some(pid) = target.pid.filter(|&p| p > 0) {
            target.start_ticks = procward_core::sys::process::identify(pid)
                .ok()
                .map(|who| who.start_ticks);
        }
        let result = self.kill_unaudited(order).await;
        self.audit_report(caller, "kill", target, &result);
        result
    }

    async fn kill_unaudited(&self, order: KillOrder) -> Result<KillReport, EngineError> {
        let pid = validate_pid(order.pid)?;
        let signal = signal_field(order.signal.as_deref())?;
        let escalation = escalation(order.force, order.timeout_seconds)?;
        let request = KillRequest {
            pid,
            expected_start_time: order.expected_start_time,
            expected_start_ticks: order.expected_start_ticks,
            signal,
            escalation,
        };
        report(self.policy.kill(request, order.force).await)
    }

    fn audit_report(
        &self,
        caller: &Caller,
        action: &str,
        target: Target,
        result: &Result<KillReport, EngineError>,
    ) {
        let (outcome, message) = match result {
            Ok(r) if r.success => (Outcome::Ok, r.message.clone()),
            Ok(r) => (
                Outcome::Failed,
                r.failure
                    .as_ref()
                    .map(|f| f.message.clone())
                    .unwrap_or_default(),
            ),
            Err(e) => (engine_outcome(e), e.to_string()),
        };
        self.audit.record(caller, action, target, outcome, message);
    }

    /// Kills every holder of `port` (`protocol`: tcp, udp, tcp6, udp6 or empty for all)
    /// with SIGTERM, then SIGKILL after the grace period: one report for the port, the
    /// first failure if any, else every outcome in one message. Recorded in the audit
    /// log for `caller` (action `kill-port`).
    pub async fn kill_port(
        &self,
        caller: &Caller,
        port: u32,
        protocol: &str,
        force: bool,
        timeout_seconds: Option<f64>,
    ) -> Result<KillReport, EngineError> {
        let target = Target {
            port: Some(port),
            ..Target::default()
        };
        let result = self
            .kill_port_unaudited(port, protocol, force, timeout_seconds)
            .await;
        self.audit_report(caller, "kill-port", target, &result);
        result
    }

    async fn kill_port_unaudited(
        &self,
        port: u32,
        protocol: &str,
        force: bool,
        timeout_seconds: Option<f64>,
    ) -> Result<KillReport, EngineError> {
        let port = port_number(port)?;
        let family = family(protocol)?;
        let escalation = escalation(force, timeout_seconds)?;
        let results = self.policy.kill_port(port, family, escalation).await?;
        let mut messages = Vec::new();
        for (_, verdict) in results {
            let answer = report(verdict)?;
            if !answer.success {
                return Ok(answer);
            }
            messages.push(answer.message);
        }
        Ok(KillReport {
            success: true,
            message: messages.join("; "),
            failure: None,
        })
    }
}
