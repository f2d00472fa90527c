//! Elevated kills: run procward's own `kill` as root through pkexec or `sudo -n`.
//!
//! The elevated side is procward itself, not `kill(1)`, so the same protections hold as
//! root: the PID is validated again, and the start time seen by the unprivileged caller
//! (in clock ticks since boot, the exact identity, and in Unix seconds) is passed along so
//! a PID recycled in between is refused.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::kill::{Escalation, KillOutcome, KillRecord, KillRequest, kill};
use super::target::validate_pid;
use crate::error::{Error, ErrorKind, Result};
use crate::sys::process::{Identity, identify};

/// How to gain root for an elevated kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElevationMethod {
    /// pkexec when it is installed, otherwise `sudo -n`.
    #[default]
    Auto,
    /// polkit's pkexec (asks through the desktop's authentication agent).
    Pkexec,
    /// `sudo -n` (never prompts: needs a NOPASSWD rule or a cached credential).
    Sudo,
}

impl FromStr for ElevationMethod {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "pkexec" => Ok(Self::Pkexec),
            "sudo" => Ok(Self::Sudo),
            other => Err(Error::InvalidArgument(format!(
                "unknown elevation method '{other}': use auto, pkexec or sudo"
            ))),
        }
    }
}

/// The seed contract: SIGTERM (then SIGKILL after 5 s) as root, through pkexec or sudo.
pub fn kill_process_elevated(pid: u32) -> Result<KillOutcome> {
    kill_elevated(
        &KillRequest::new(pid),
        ElevationMethod::Auto,
        &helper_path()?,
    )
}

/// Runs `helper kill ...` (a procward binary) as root to carry out `request`.
///
/// pkexec's exit 126 (authentication dismissed) and 127 (not authorised, no agent, or not
/// found) and sudo's password refusal each become an [`Error::Elevation`] saying so.
pub fn kill_elevated(
    request: &KillRequest,
    method: ElevationMethod,
    helper: &Path,
) -> Result<KillOutcome> {
    validate_pid(i64::from(request.pid))?;
    let seen = identify(request.pid)?;
    seen.check(request.expected_start_time, request.expected_start_ticks)?;
    if rustix::process::geteuid().is_root() {
        return kill(request);
    }
    let (elevator, prefix) = elevator(method)?;
    let mut command = Command::new(&elevator);
    command
        .args(prefix)
        .arg(helper)
        .args(helper_args(request, &seen))
        .stdin(Stdio::null());
    let output = command
        .output()
        .map_err(|e| Error::Elevation(format!("cannot run {}: {e}", elevator.display())))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if let Some(record) = parse_report(&stdout) {
        return record_result(record);
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let name = elevator
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    Err(Error::Elevation(explain_failure(
        &name,
        output.status.code(),
        &stderr,
    )))
}

/// The helper's `kill` arguments, pinned to the process the caller saw: its start time in
/// seconds (for helpers that predate ticks) and in clock ticks (the exact check).
fn helper_args(request: &KillRequest, seen: &Identity) -> Vec<String> {
    let mut args = vec![
        "kill".to_owned(),
        "--json".to_owned(),
        "--signal".to_owned(),
        request.signal.name().to_owned(),
        "--start-time".to_owned(),
        seen.start_time.to_string(),
        "--start-ticks".to_owned(),
        seen.start_ticks.to_string(),
    ];
    match request.escalation {
        Escalation::None => args.push("--no-wait".to_owned()),
        Escalation::KillAfter(after) => {
            args.extend(["--timeout".to_owned(), format!("{}", after.as_secs_f64())]);
        }
    }
    args.extend(["--".to_owned(), request.pid.to_string()]);
    args
}

fn parse_report(stdout: &str) -> Option<KillRecord> {
    serde_json::from_str::<Vec<KillRecord>>(stdout.trim())
        .ok()?
        .into_iter()
        .next()
}

fn record_result(record: KillRecord) -> Result<KillOutcome> {
    if let Some(outcome) = record.outcome {
        return Ok(outcome);
    }
    let message = record
        .error
        .unwrap_or_else(|| "the elevated kill failed".into());
    Err(match record.kind {
        Some(ErrorKind::NotFound) => Error::NoSuchProcess { pid: record.pid },
        _ => Error::Elevation(format!("the elevated kill failed: {message}")),
    })
}

fn explain_failure(elevator: &str, code: Option<i32>, stderr: &str) -> String {
    let detail = if stderr.is_empty() {
        String::new()
    } else {
        format!(" ({stderr})")
    };
    match (elevator, code) {
        ("pkexec", Some(126)) => {
            format!(
                "authentication was dismissed in pkexec (exit 126); nothing was signalled{detail}"
            )
        }
        ("pkexec", Some(127)) => format!(
            "pkexec could not authorise the kill (exit 127: no polkit authentication agent, \
             not authorised, or helper not found); nothing was signalled{detail}"
        ),
        ("sudo", _) if stderr.contains("password") => format!(
            "sudo -n needs a password and cannot ask; add a NOPASSWD sudoers rule for procward \
             or use pkexec; nothing was signalled{detail}"
        ),
        (name, code) => format!(
            "{name} failed (exit {}); nothing was signalled{detail}",
            code.map_or_else(|| "by signal".into(), |c| c.to_string())
        ),
    }
}

/// The elevating program and its leading arguments.
fn elevator(method: ElevationMethod) -> Result<(PathBuf, &'static [&'static str])> {
    let pkexec = find_in_path("pkexec");
    let sudo = find_in_path("sudo");
    match method {
        ElevationMethod::Pkexec => pkexec.map(|p| (p, &[][..])).ok_or_else(|| {
            Error::Elevation(
                "pkexec not found (exit 127): install polkit's pkexec, or use sudo".into(),
            )
        }),
        ElevationMethod::Sudo => sudo
            .map(|p| (p, &["-n", "--"][..]))
            .ok_or_else(|| Error::Elevation("sudo not found: install sudo, or use pkexec".into())),
        ElevationMethod::Auto => pkexec
            .map(|p| (p, &[][..]))
            .or_else(|| sudo.map(|p| (p, &["-n", "--"][..])))
            .ok_or_else(|| {
                Error::Elevation(
                    "neither pkexec nor sudo is installed; install one to kill other users' \
                     processes"
                        .into(),
                )
            }),
    }
}

/// The procward binary to run as root: `$PROCWARD_HELPER`, this program when it is the
/// `procward` CLI, the `procward` installed beside this program (the daemon `procwardd`
/// and the desktop app have no `kill` command of their own), or `procward` on `PATH`.
pub fn helper_path() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("PROCWARD_HELPER") {
        return Ok(PathBuf::from(path));
    }
    if let Ok(exe) = std::env::current_exe() {
        if exe.file_name().is_some_and(|n| n == "procward") {
            return Ok(exe);
        }
        if let Some(beside) = exe.parent().map(|dir| dir.join("procward"))
            && beside.is_file()
        {
            return Ok(beside);
        }
    }
    find_in_path("procward").ok_or_else(|| {
        Error::Elevation(
            "cannot find the procward binary to run elevated; set PROCWARD_HELPER".into(),
        )
    })
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    crate::sys::find_on_path(program, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkexec_exit_codes_have_their_own_messages() {
        assert!(explain_failure("pkexec", Some(126), "").contains("dismissed"));
        assert!(explain_failure("pkexec", Some(127), "").contains("exit 127"));
        assert!(
            explain_failure("sudo", Some(1), "sudo: a password is required").contains("NOPASSWD")
        );
    }

    #[test]
    fn helper_arguments_pin_the_start_time() {
        let seen = Identity {
            pid: 4242,
            ppid: 1,
            pgid: 4242,
            name: "sleep".into(),
            uid: 1000,
            start_time: 1_700_000_000,
            start_ticks: 123_456,
        };
        let args = helper_args(&KillRequest::new(4242), &seen);
        assert_eq!(args.first().map(String::as_str), Some("kill"));
        assert!(args.windows(2).any(|w| w == ["--start-time", "1700000000"]));
        assert!(args.windows(2).any(|w| w == ["--start-ticks", "123456"]));
        assert_eq!(args.last().map(String::as_str), Some("4242"));
    }

    #[test]
    fn methods_parse() {
        assert_eq!(
            "SUDO".parse::<ElevationMethod>().unwrap(),
            ElevationMethod::Sudo
        );
        assert!("doas".parse::<ElevationMethod>().is_err());
    }
}
