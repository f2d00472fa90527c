//! Typed errors shared by every procward interface.

use std::time::Duration;

/// Result alias used throughout the core library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Broad classes of failure, so each interface can map errors the same way (CLI exit code,
/// gRPC status, MCP tool error) without matching every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The request itself is malformed; nothing was done.
    InvalidInput,
    /// The request was refused to protect the system (protected PID, recycled PID);
    /// nothing was done.
    Refused,
    /// The named process (or port listener) does not exist.
    NotFound,
    /// The caller may not act on the target; an elevated retry may succeed.
    PermissionDenied,
    /// Elevation through pkexec or sudo failed or was dismissed.
    Elevation,
    /// The operation ran but did not reach its goal (for example a process survived
    /// SIGKILL), or the operating system failed unexpectedly.
    Failed,
}

/// Everything that can go wrong in the core library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A PID argument that is not a valid process id at all.
    #[error("invalid PID '{input}': {reason}")]
    InvalidPid {
        /// What the caller gave.
        input: String,
        /// Why it cannot be a PID.
        reason: String,
    },
    /// A PID that must never be signalled (0, 1, the caller, its parent, ...).
    #[error("refusing to signal PID {pid}: {reason}")]
    ProtectedPid {
        /// The refused PID.
        pid: i64,
        /// Why it is protected.
        reason: String,
    },
    /// No process has this PID.
    #[error("no such process: PID {pid}")]
    NoSuchProcess {
        /// The PID that was looked up.
        pid: u32,
    },
    /// The PID now belongs to a different process than the caller saw.
    #[error(
        "refusing to signal PID {pid}: its {field} is {actual} but the caller expected \
         {expected}; the PID now belongs to another process (recycled)"
    )]
    ProcessChanged {
        /// The PID in question.
        pid: u32,
        /// Which identity differed, with its unit: `start_ticks (clock ticks since boot)`
        /// or `start_time (Unix seconds)`.
        field: &'static str,
        /// The start time the caller expected, in `field`'s unit.
        expected: u64,
        /// The start time of the process holding the PID now, in `field`'s unit.
        actual: u64,
    },
    /// The caller may not signal this process.
    #[error(
        "permission denied: process {pid} ({name}) belongs to {owner}; \
         retry with elevation (procward kill --elevated) to use pkexec or sudo"
    )]
    PermissionDenied {
        /// The target PID.
        pid: u32,
        /// The target's name.
        name: String,
        /// The target's owner.
        owner: String,
    },
    /// A signal name or number that procward does not know.
    #[error("unknown signal '{0}': use a name such as TERM, KILL, HUP, INT, USR1 or a number 1-31")]
    InvalidSignal(String),
    /// Any other malformed argument.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Nothing listens on the given port.
    #[error("no process listens on port {port}")]
    NoListener {
        /// The port asked about.
        port: u16,
    },
    /// Sockets on the port exist, but their processes are not visible to this user.
    #[error(
        "port {port} is held by a socket of user {owner} whose process procward cannot see \
         (another user's process while not root, or another PID namespace)"
    )]
    HiddenListener {
        /// The port asked about.
        port: u16,
        /// Owner of the socket.
        owner: String,
    },
    /// The process was still alive after SIGKILL and the grace period.
    #[error("process {pid} is still alive {after:?} after SIGKILL (uninterruptible sleep?)")]
    StillAlive {
        /// The target PID.
        pid: u32,
        /// How long procward waited after SIGKILL.
        after: Duration,
    },
    /// The elevated helper could not be run, or was dismissed.
    #[error("elevation failed: {0}")]
    Elevation(String),
    /// An unexpected operating-system failure.
    #[error("{context}: {source}")]
    Io {
        /// What procward was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The class of this error, for mapping to exit codes and protocol status codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidPid { .. } | Error::InvalidSignal(_) | Error::InvalidArgument(_) => {
                ErrorKind::InvalidInput
            }
            Error::ProtectedPid { .. } | Error::ProcessChanged { .. } => ErrorKind::Refused,
            Error::NoSuchProcess { .. } | Error::NoListener { .. } => ErrorKind::NotFound,
            Error::PermissionDenied { .. } | Error::HiddenListener { .. } => {
                ErrorKind::PermissionDenied
            }
            Error::Elevation(_) => ErrorKind::Elevation,
            Error::StillAlive { .. } | Error::Io { .. } => ErrorKind::Failed,
        }
    }

    /// Wraps an I/O error with what procward was doing when it happened.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
