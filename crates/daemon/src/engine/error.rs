//! What an engine request can fail with, in words a user can act on. Transports map these
//! to their own codes (gRPC statuses in `transport::grpc::status`, `{ok: false, error}`
//! acks on socket.io) without changing the words.

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
    /// A `[limits]` maximum refuses the start right now (the words name the limit and the
    /// current value); nothing was started.
    #[error("{0}")]
    Limit(String),
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
            Self::Duplicate(_) | Self::State(_) | Self::Limit(_) => ErrorKind::Refused,
            Self::Invalid(_) => ErrorKind::InvalidInput,
            Self::Spawn { .. } | Self::Internal(_) | Self::ShuttingDown => ErrorKind::Failed,
        }
    }
}

/// Result of a supervisor request.
pub type Result<T, E = SupervisorError> = std::result::Result<T, E>;

/// A failed engine request: the request was malformed, named nothing, was refused, or
/// the daemon could not answer it now. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A malformed argument, named in the message.
    #[error("{0}")]
    Invalid(String),
    /// The process (pid or name) is not there.
    #[error("{0}")]
    NotFound(String),
    /// Allowed in general, but not in this state (a program that cannot be started).
    #[error("{0}")]
    Refused(String),
    /// No fresh reading can be had right now (the sampler failed).
    #[error("{0}")]
    Unavailable(String),
    /// The daemon itself failed.
    #[error("{0}")]
    Internal(String),
    /// A managed-process request failed.
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    /// The core library refused or failed (a protected pid, a changed identity).
    #[error(transparent)]
    Core(#[from] procward_core::Error),
}

impl From<super::kill_policy::KillError> for EngineError {
    fn from(e: super::kill_policy::KillError) -> Self {
        match e {
            super::kill_policy::KillError::Core(e) => Self::Core(e),
            super::kill_policy::KillError::Supervisor(e) => Self::Supervisor(e),
        }
    }
}

impl From<tokio::task::JoinError> for EngineError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(e.to_string())
    }
}
