//! What a kill from the desktop did, in the four answers the window and tray show, from
//! either path: the daemon's `KillProcess` (its kill policy) or the core kill.

use procward_core::{Error, ErrorKind, KillOutcome};
use procward_proto::v1;
use serde::{Deserialize, Serialize};

/// The outcome of `kill_process` / `kill_process_elevated`, with the words to show.
/// Serialised as `{"status": "Success", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "message")]
pub enum KillResult {
    /// The process ended (or a managed process was stopped through its supervisor).
    Success(String),
    /// Another user's process: `kill_process_elevated` may do it.
    PermissionDenied(String),
    /// No such process (or no listener any more).
    NotFound(String),
    /// Refused to protect the system or the user: a protected PID, a recycled PID (not
    /// the process the user saw), procward's own shim. Nothing was signalled.
    Refused(String),
    /// It ran but did not succeed: the process survived SIGKILL, pkexec was dismissed
    /// (exit 126) or not authorised (exit 127), or the daemon failed.
    Failed(String),
}

impl KillResult {
    /// Whether the process is gone.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success(_))
    }

    /// The words to show.
    pub fn message(&self) -> &str {
        match self {
            Self::Success(m)
            | Self::PermissionDenied(m)
            | Self::NotFound(m)
            | Self::Refused(m)
            | Self::Failed(m) => m,
        }
    }

    /// A core kill's result.
    pub fn from_core(result: Result<KillOutcome, Error>) -> Self {
        match result {
            Ok(outcome) => Self::Success(outcome.to_string()),
            Err(e) => {
                let message = e.to_string();
                match e.kind() {
                    ErrorKind::InvalidInput | ErrorKind::Refused => Self::Refused(message),
                    ErrorKind::NotFound => Self::NotFound(message),
                    ErrorKind::PermissionDenied => Self::PermissionDenied(message),
                    ErrorKind::Elevation | ErrorKind::Failed => Self::Failed(message),
                }
            }
        }
    }

    /// The daemon's answer to `KillProcess`.
    pub fn from_action(result: v1::ActionResult) -> Self {
        if result.success {
            return Self::Success(result.message);
        }
        let (code, message) = result
            .error
            .map(|e| (e.code, e.message))
            .unwrap_or_else(|| (String::new(), result.message));
        match code.as_str() {
            "permission_denied" => Self::PermissionDenied(message),
            "not_found" => Self::NotFound(message),
            _ => Self::Failed(message),
        }
    }

    /// A call the daemon refused before acting (its gRPC status).
    pub fn from_status(status: &tonic::Status) -> Self {
        let message = status.message().to_owned();
        match status.code() {
            tonic::Code::NotFound => Self::NotFound(message),
            tonic::Code::PermissionDenied => Self::PermissionDenied(message),
            tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => {
                Self::Refused(message)
            }
            _ => Self::Failed(format!("the procward daemon failed: {message}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_by_kind() {
        let protected = procward_core::signal::validate_pid(1).map(|_| unreachable!());
        assert!(matches!(
            KillResult::from_core(protected),
            KillResult::Refused(m) if m.contains("PID 1")
        ));
        let gone = Err(Error::NoSuchProcess { pid: 42 });
        assert!(matches!(
            KillResult::from_core(gone),
            KillResult::NotFound(_)
        ));
        let denied = Err(Error::PermissionDenied {
            pid: 42,
            name: "sshd".into(),
            owner: "root".into(),
        });
        assert!(matches!(
            KillResult::from_core(denied),
            KillResult::PermissionDenied(_)
        ));
        let dismissed = Err(Error::Elevation("dismissed in pkexec (exit 126)".into()));
        assert!(matches!(
            KillResult::from_core(dismissed),
            KillResult::Failed(m) if m.contains("exit 126")
        ));
    }

    #[test]
    fn daemon_answers_map_by_code_and_status() {
        let ok = v1::ActionResult {
            success: true,
            error: None,
            message: "stopped managed process 'web'".into(),
        };
        assert_eq!(
            KillResult::from_action(ok),
            KillResult::Success("stopped managed process 'web'".into())
        );
        let denied = v1::ActionResult {
            success: false,
            error: Some(v1::Error {
                message: "permission denied".into(),
                code: "permission_denied".into(),
            }),
            message: String::new(),
        };
        assert!(matches!(
            KillResult::from_action(denied),
            KillResult::PermissionDenied(_)
        ));
        let recycled = tonic::Status::failed_precondition("recycled");
        assert!(matches!(
            KillResult::from_status(&recycled),
            KillResult::Refused(_)
        ));
        assert!(matches!(
            KillResult::from_status(&tonic::Status::unavailable("gone")),
            KillResult::Failed(m) if m.contains("daemon")
        ));
    }

    #[test]
    fn serialises_with_a_status_tag() {
        let json = serde_json::to_value(KillResult::NotFound("no such process".into())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "NotFound", "message": "no such process"})
        );
    }
}
