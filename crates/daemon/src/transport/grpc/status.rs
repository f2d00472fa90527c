//! Engine errors as gRPC statuses, and kill reports as `ActionResult`s. The words are the
//! engine's; only the code is chosen here.

use procward_core::ErrorKind;
use procward_proto::v1;
use tonic::Status;

use crate::engine::error::{EngineError, SupervisorError};
use crate::engine::kills::KillReport;

/// The status for a core error that stopped a request before it acted.
pub fn core_status(e: &procward_core::Error) -> Status {
    let message = e.to_string();
    match (e.kind(), e) {
        (ErrorKind::InvalidInput, _) | (_, procward_core::Error::ProtectedPid { .. }) => {
            Status::invalid_argument(message)
        }
        (ErrorKind::Refused, _) => Status::failed_precondition(message),
        (ErrorKind::NotFound, _) => Status::not_found(message),
        (ErrorKind::PermissionDenied | ErrorKind::Elevation, _) => {
            Status::permission_denied(message)
        }
        (ErrorKind::Failed, _) => Status::internal(message),
    }
}

/// The status a supervisor error travels as.
pub fn supervisor_status(e: &SupervisorError) -> Status {
    let message = e.to_string();
    match e {
        SupervisorError::UnknownName(_) => Status::not_found(message),
        SupervisorError::Duplicate(_) => Status::already_exists(message),
        SupervisorError::Invalid(_) => Status::invalid_argument(message),
        SupervisorError::State(_) | SupervisorError::Spawn { .. } => {
            Status::failed_precondition(message)
        }
        SupervisorError::Limit(_) => Status::resource_exhausted(message),
        SupervisorError::Internal(_) => Status::internal(message),
        SupervisorError::ShuttingDown => Status::unavailable(message),
    }
}

/// The status an engine error travels as.
pub fn engine_status(e: EngineError) -> Status {
    match e {
        EngineError::Invalid(m) => Status::invalid_argument(m),
        EngineError::NotFound(m) => Status::not_found(m),
        EngineError::Refused(m) => Status::failed_precondition(m),
        EngineError::Unavailable(m) => Status::unavailable(m),
        EngineError::Internal(m) => Status::internal(m),
        EngineError::Supervisor(e) => supervisor_status(&e),
        EngineError::Core(e) => core_status(&e),
    }
}

/// A kill report as the proto's `ActionResult`.
pub fn action_result(report: KillReport) -> v1::ActionResult {
    v1::ActionResult {
        success: report.success,
        error: report.failure.map(|f| v1::Error {
            message: f.message,
            code: f.code.into(),
        }),
        message: report.message,
    }
}

/// A stream of engine log lines as `LogLine` messages (the `Logs` streams of the
/// Supervisor and Queue services).
pub fn log_lines(
    lines: tokio::sync::mpsc::Receiver<crate::engine::logs::LogLine>,
) -> impl futures_util::Stream<Item = Result<v1::LogLine, Status>> + Send + 'static {
    use crate::engine::logs::LogStream;
    use futures_util::StreamExt as _;
    tokio_stream::wrappers::ReceiverStream::new(lines).map(|line| {
        Ok(v1::LogLine {
            stream: match line.stream {
                LogStream::Stdout => v1::LogStream::Stdout,
                LogStream::Stderr => v1::LogStream::Stderr,
            }
            .into(),
            line: line.line,
            process: line.process,
        })
    })
}
