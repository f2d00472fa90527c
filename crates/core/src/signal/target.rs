//! Which PIDs may be signalled at all.

use crate::error::{Error, Result};

/// Parses a PID as typed by a user, refusing anything that is not a single real process:
/// non-numbers, negatives (process groups), values above `i32::MAX` (they wrap to negative
/// in `kill(2)`: 4294967295 becomes -1, "every process"), and protected PIDs.
pub fn parse_pid(input: &str) -> Result<u32> {
    let text = input.trim();
    let value: i128 = text.parse().map_err(|_| Error::InvalidPid {
        input: input.to_owned(),
        reason: "not a whole number".into(),
    })?;
    validate_pid(value.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// Refuses PIDs that must never be signalled and returns the PID as `u32` otherwise.
pub fn validate_pid(pid: i64) -> Result<u32> {
    let refuse = |reason: &str| Error::ProtectedPid {
        pid,
        reason: reason.into(),
    };
    match pid {
        ..0 => Err(refuse(
            "negative PIDs address process groups (-1 means every process)",
        )),
        0 => Err(refuse("PID 0 addresses the caller's whole process group")),
        1 => Err(refuse(
            "PID 1 is init; signalling it can take the machine down",
        )),
        p if p > i64::from(i32::MAX) => Err(refuse(
            "values above 2147483647 wrap to negative in kill(2) (4294967295 becomes -1)",
        )),
        p if p as u32 == std::process::id() => Err(refuse("that is procward itself")),
        p if Some(p as u32) == parent_pid() => Err(refuse(
            "that is procward's parent (the shell or program that called it)",
        )),
        p => Ok(p as u32),
    }
}

fn parent_pid() -> Option<u32> {
    rustix::process::getppid().map(|p| p.as_raw_nonzero().get() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_protected_and_malformed() {
        let me = std::process::id().to_string();
        let parent = parent_pid().unwrap().to_string();
        for input in [
            "0",
            "1",
            "-1",
            "-42",
            "4294967295",
            "2147483648",
            &me,
            &parent,
        ] {
            assert!(
                matches!(parse_pid(input), Err(Error::ProtectedPid { .. })),
                "{input}"
            );
        }
        for input in ["", "abc", "12x", "1.5", "0x10", &"9".repeat(50)] {
            assert!(
                matches!(parse_pid(input), Err(Error::InvalidPid { .. })),
                "{input}"
            );
        }
        assert!(matches!(
            parse_pid("99999999999999999999"),
            Err(Error::ProtectedPid { .. })
        ));
    }

    #[test]
    fn accepts_ordinary_pids() {
        assert_eq!(parse_pid(" 4242 ").unwrap(), 4242);
        assert_eq!(validate_pid(i64::from(i32::MAX)).unwrap(), i32::MAX as u32);
    }
}
