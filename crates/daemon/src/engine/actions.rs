//! Destructive actions on managed processes and jobs as the doors ask for them: each one
//! names its [`Caller`] and is recorded in the audit log ([`super::audit`]) with how it
//! ended. The supervisor's and queue's own methods stay unaudited for the daemon's
//! internal use (the kill policy's stop is recorded as the kill that caused it).

use procward_core::Signal;
use procward_core::queue::Job;
use procward_core::supervisor::view::ManagedView;

use super::Engine;
use super::audit::{Caller, Outcome, Target};
use super::error::{EngineError, SupervisorError};

/// How a supervisor error ends up in the audit log.
pub(crate) fn supervisor_outcome(e: &SupervisorError) -> Outcome {
    match e {
        SupervisorError::Internal(_) | SupervisorError::ShuttingDown => Outcome::Error,
        SupervisorError::Spawn { .. } => Outcome::Failed,
        _ => Outcome::Refused,
    }
}

/// How an engine error ends up in the audit log.
pub(crate) fn engine_outcome(e: &EngineError) -> Outcome {
    use procward_core::ErrorKind;
    match e {
        EngineError::Invalid(_) | EngineError::NotFound(_) | EngineError::Refused(_) => {
            Outcome::Refused
        }
        EngineError::Unavailable(_) | EngineError::Internal(_) => Outcome::Error,
        EngineError::Supervisor(e) => supervisor_outcome(e),
        EngineError::Core(e) => match e.kind() {
            ErrorKind::PermissionDenied | ErrorKind::Elevation | ErrorKind::Failed => {
                Outcome::Failed
            }
            _ => Outcome::Refused,
        },
    }
}

impl Engine {
    fn audited<T>(
        &self,
        caller: &Caller,
        action: &str,
        target: Target,
        result: &Result<T, SupervisorError>,
    ) {
        let (outcome, message) = match result {
            Ok(_) => (Outcome::Ok, format!("{action} done")),
            Err(e) => (supervisor_outcome(e), e.to_string()),
        };
        self.audit.record(caller, action, target, outcome, message);
    }

    /// Stops a managed process for `caller` (recorded as `stop`).
    pub async fn stop(&self, caller: &Caller, name: &str) -> Result<ManagedView, SupervisorError> {
        let result = self.supervisor.stop(name).await;
        self.audited(caller, "stop", Target::name(name), &result);
        result
    }

    /// Restarts a managed process for `caller` (recorded as `restart`).
    pub async fn restart(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<ManagedView, SupervisorError> {
        let result = self.supervisor.restart(name).await;
        self.audited(caller, "restart", Target::name(name), &result);
        result
    }

    /// Reloads a managed process (every replica in turn) for `caller` without downtime
    /// (recorded as `reload`).
    pub async fn reload(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<Vec<ManagedView>, SupervisorError> {
        let result = self.supervisor.reload(name).await;
        self.audited(caller, "reload", Target::name(name), &result);
        result
    }

    /// Sets the number of replicas of a managed process for `caller` (recorded as
    /// `scale`, with the count).
    pub async fn scale(
        &self,
        caller: &Caller,
        name: &str,
        instances: u32,
    ) -> Result<Vec<ManagedView>, SupervisorError> {
        let result = self.supervisor.scale(name, instances).await;
        let (outcome, message) = match &result {
            Ok(_) => (Outcome::Ok, format!("scaled to {instances}")),
            Err(e) => (supervisor_outcome(e), format!("to {instances}: {e}")),
        };
        self.audit
            .record(caller, "scale", Target::name(name), outcome, message);
        result
    }

    /// Stops and forgets a managed process for `caller` (recorded as `delete`).
    pub async fn delete(&self, caller: &Caller, name: &str) -> Result<(), SupervisorError> {
        let result = self.supervisor.delete(name).await;
        self.audited(caller, "delete", Target::name(name), &result);
        result
    }

    /// Sends `signal` to a managed process's group for `caller` (recorded as `signal`,
    /// the signal's name in the message).
    pub async fn signal(
        &self,
        caller: &Caller,
        name: &str,
        signal: Signal,
    ) -> Result<ManagedView, SupervisorError> {
        let result = self.supervisor.signal(name, signal).await;
        let (outcome, message) = match &result {
            Ok(_) => (Outcome::Ok, format!("sent {}", signal.name())),
            Err(e) => (supervisor_outcome(e), format!("{}: {e}", signal.name())),
        };
        self.audit
            .record(caller, "signal", Target::name(name), outcome, message);
        result
    }

    /// Cancels a job for `caller` (recorded as `queue-cancel`).
    pub async fn cancel_job(&self, caller: &Caller, id: u64) -> Result<Job, EngineError> {
        let result = self.queue.cancel(id).await;
        let (outcome, message) = match &result {
            Ok(job) => (Outcome::Ok, format!("job {} is {:?}", job.id, job.state)),
            Err(e) => (engine_outcome(e), e.to_string()),
        };
        self.audit
            .record(caller, "queue-cancel", Target::job(id), outcome, message);
        result
    }
}
