//! Exit codes, so scripts can tell "not there" from "not allowed" from "bad input".

use std::process::ExitCode;

use procward_core::ErrorKind;

/// Everything asked for was done.
pub const OK: u8 = 0;
/// The target does not exist, or the operation ran and failed.
pub const FAILED: u8 = 1;
/// Bad input or a refused target (protected or recycled PID); nothing was done.
pub const REFUSED: u8 = 2;
/// Permission denied; `--elevated` may help.
pub const PERMISSION: u8 = 3;
/// Elevation through pkexec or sudo failed or was dismissed.
pub const ELEVATION: u8 = 4;

/// The exit code for one failure class.
pub fn for_kind(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::Refused => REFUSED,
        ErrorKind::NotFound | ErrorKind::Failed => FAILED,
        ErrorKind::PermissionDenied => PERMISSION,
        ErrorKind::Elevation => ELEVATION,
    }
}

/// The exit code for an error reaching `main`.
pub fn for_error(error: &anyhow::Error) -> ExitCode {
    let code = error.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<procward_core::Error>() {
            Some(for_kind(e.kind()))
        } else {
            cause.downcast_ref::<tonic::Status>().map(for_status)
        }
    });
    let code = code.unwrap_or(FAILED);
    ExitCode::from(code)
}

/// The exit code for a failed daemon call.
pub fn for_status(status: &tonic::Status) -> u8 {
    use tonic::Code;
    match status.code() {
        Code::InvalidArgument
        | Code::AlreadyExists
        | Code::FailedPrecondition
        | Code::OutOfRange => REFUSED,
        Code::PermissionDenied | Code::Unauthenticated => PERMISSION,
        _ => FAILED,
    }
}

/// Which of two outcomes a multi-target command should report: the more serious.
pub fn worst(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        OK => 0,
        FAILED => 1,
        PERMISSION => 2,
        ELEVATION => 3,
        _ => 4,
    };
    if rank(a) >= rank(b) { a } else { b }
}
