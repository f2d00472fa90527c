//! What a supervisor request can fail with, in words a user can act on.

use procward_core::ErrorKind;

/// A failed supervisor request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SupervisorError {
    /// No managed process has this name.
    #[error("no managed process named '{0}' (see `procward list`)")]
    UnknownName(String),
    /// A process with this name already exists.
    #[error(
        "a managed process named '{0}' already exists (stop and delete it first, or restart it)"
    )]
    Duplicate(String),
    /// The spec or argument is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The process could not be started.
    #[error(
        "cannot start '{name}': {message}; it is registered as failed (`procward delete {name}` removes it)"
    )]
    Spawn {
        /// The process.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The request does not fit the process's current state.
    #[error("{0}")]
    State(String),
    /// The daemon itself failed (disk full, permissions).
    #[error("daemon error: {0}")]
    Internal(String),
    /// The daemon is shutting down.
    #[error("the daemon is shutting down")]
    ShuttingDown,
}

impl SupervisorError {
    /// The class of failure, shared with the core library's errors.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnknownName(_) => ErrorKind::NotFound,
            Self::Duplicate(_) | Self::State(_) => ErrorKind::Refused,
            Self::Invalid(_) => ErrorKind::InvalidInput,
            Self::Spawn { .. } | Self::Internal(_) | Self::ShuttingDown => ErrorKind::Failed,
        }
    }

    /// The gRPC status this error travels as.
    pub fn to_status(&self) -> tonic::Status {
        let message = self.to_string();
        match self {
            Self::UnknownName(_) => tonic::Status::not_found(message),
            Self::Duplicate(_) => tonic::Status::already_exists(message),
            Self::Invalid(_) => tonic::Status::invalid_argument(message),
            Self::State(_) | Self::Spawn { .. } => tonic::Status::failed_precondition(message),
            Self::Internal(_) => tonic::Status::internal(message),
            Self::ShuttingDown => tonic::Status::unavailable(message),
        }
    }
}

/// Result of a supervisor request.
pub type Result<T, E = SupervisorError> = std::result::Result<T, E>;
