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

/// An error as one line for a person (at `main`, in the TUI): its causes `: `-separated,
/// without repeating a cause that the message before it already ends with (errors such as
/// the daemon's `cannot listen on ADDR: Address already in use` print their source
/// themselves). A daemon's answer counts by its message alone, and what broke a call on
/// the way (the daemon gone mid-call: `transport error: connection reset by peer`) is kept.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = match cause.downcast_ref::<tonic::Status>() {
            Some(status) => status.message().to_owned(),
            None => cause.to_string(),
        };
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot listen on 127.0.0.1:1: {source}")]
    struct Listen {
        source: std::io::Error,
    }

    #[test]
    fn describe_names_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "Address already in use");
        let error = anyhow::Error::new(Listen { source: io }).context("the daemon could not start");
        assert_eq!(
            describe(&error),
            "the daemon could not start: cannot listen on 127.0.0.1:1: Address already in use"
        );
        let plain = anyhow::anyhow!("no such job").context("queue show 7");
        assert_eq!(describe(&plain), "queue show 7: no such job");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("transport error")]
    struct Transport {
        source: std::io::Error,
    }

    #[test]
    fn describe_gives_a_status_by_its_message_and_keeps_what_broke_the_call() {
        let answer = anyhow::Error::new(tonic::Status::not_found("no such job: 7"));
        assert_eq!(describe(&answer), "no such job: 7");
        let reset = std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        );
        let broken = tonic::Status::from_error(Box::new(Transport { source: reset }));
        assert_eq!(
            describe(&anyhow::Error::new(broken)),
            "transport error: connection reset by peer"
        );
    }
}
