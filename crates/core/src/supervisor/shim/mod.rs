//! The per-process shim: a small parent that owns one managed process's pipes and exit
//! status, so the daemon can die without the process or its output noticing.
//!
//! Why a shim: if the daemon were the managed process's parent and held its pipes, a
//! `kill -9` of the daemon would close the read ends (the process gets SIGPIPE or blocks,
//! output in flight is lost) and the exit code would go to whoever reaps the orphan.
//! Letting children write to log files directly avoids the first problem but loses
//! rotation at line boundaries, the last partial line and the exit code. Instead every
//! managed process runs under `procward shim <launch.json>` (the same binary, re-executed
//! with a hidden subcommand, calling [`run`]), or under the same code forked by the
//! [`Spawner`] with the launch spec in its request:
//!
//! * the shim calls `setsid()`, so signals aimed at the daemon's process group or session
//!   (a terminal's Ctrl-C, a service manager's group kill) never reach it, and blocks
//!   SIGHUP, SIGINT and SIGPIPE (blocked rather than ignored: the child gets an empty
//!   mask and default dispositions, see [`crate::sys::spawn_into`]);
//! * it spawns the child in a process group of its own (the daemon stops the whole tree
//!   with `killpg`), stdin `/dev/null`, stdout and stderr into pipes it reads, created
//!   inside its cgroup when the unit is cgroup v2 (`clone3(CLONE_INTO_CGROUP)`);
//! * it reports `{"child_pid":N,"child_start_time":T}` (or `{"error":"..."}`) as one JSON
//!   line on its stdout, then points its stdout at `/dev/null` and never talks to the
//!   daemon again: it works the same whether the daemon lives or not (a job's shim keeps
//!   the channel to hand its exit back, see `exit_channel.rs`);
//! * it copies the pipes into [`RotatingWriter`]s, reaps the child when its pidfd says it
//!   exited, drains what is left, and writes an [`ExitRecord`] atomically to the status
//!   file;
//! * when the disk is full it keeps draining the pipes, dropping whole lines, and says so
//!   in a [`LogState`] beside the status file ([`LOG_STATE_FILE`]), which the daemon shows;
//!   the exit record goes into a staging file reserved at start, so a full disk does not
//!   lose the exit code either.
//!
//! The daemon ([`launch`]) watches the child through a pidfd of its own and, after a
//! restart, re-adopts it by pid plus start time; the exit code it can no longer reap
//! itself is read from the status file ([`read_status`]).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, pidfd_open};
use serde::{Deserialize, Serialize};

use crate::logs::writer::RotatingWriter;
use durable::{Reserved, commit, stage, write_private};

mod child;
mod durable;
mod exit_channel;
mod log_state;
mod process;
mod run;
mod spare;
pub mod spawner;
mod stream;
pub use exit_channel::{ChannelEvent, HandedOver, receive};
pub use log_state::{LOG_STATE_FILE, LogState, read_log_state};
pub use process::ShimProcess;
pub use run::run;
pub use spawner::Spawner;

/// How long [`launch`] waits for the shim's report before giving up on it.
const REPORT_TIMEOUT: Duration = Duration::from_secs(30);
/// After the child exits, how long the pipes may stay silent before the shim stops
/// waiting for EOF (a daemonized grandchild can hold them open forever).
const DRAIN_IDLE: Duration = Duration::from_secs(1);
const READ_SIZE: usize = 64 * 1024;

/// Everything the shim needs to start and watch one process, written by the daemon to a
/// 0600 launch file (it holds the environment, which may carry secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchSpec {
    /// Program and arguments; the program is looked up in the `PATH` of `env`.
    pub argv: Vec<String>,
    /// The child's whole environment: nothing of the daemon's or the shim's leaks in;
    /// with [`LaunchSpec::inherit_env`], only what is added to the shim's own.
    pub env: BTreeMap<String, String>,
    /// Working directory; `None` keeps the shim's.
    pub cwd: Option<PathBuf>,
    /// Where stdout is captured (rotated as `stdout_log.1`, ...).
    pub stdout_log: PathBuf,
    /// Where stderr is captured.
    pub stderr_log: PathBuf,
    /// Rotation size of each log file, in bytes.
    pub max_bytes: u64,
    /// Log files kept per stream, the live one included.
    pub max_files: u32,
    /// Prefix each line with the time it was read (see [`crate::logs::stamp`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timestamps: bool,
    /// Where the shim writes the [`ExitRecord`] once the child has exited.
    pub status_file: PathBuf,
    /// The cgroup unit the child runs in, from before it execs: created inside it (cgroup
    /// v2), or the shim joins it just before spawning and leaves it right after (v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<crate::cgroup::Unit>,
    /// Hand the exit record to the daemon on the report channel (a socket) and write the
    /// status file only if the daemon does not acknowledge it (see [`HandedOver`]). The
    /// job queue asks for it: it saves the record in its own store anyway, and a job's
    /// exit then costs no file, no fsync and no read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hand_over_exit: bool,
    /// Keep no [`LOG_STATE_FILE`] (for a caller that never reads it: the job queue).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_log_state: bool,
    /// Create each log file (and its folder) at its stream's first output rather than at
    /// start: a silent stream leaves no file. For readers that take a missing log as an
    /// empty one (the job queue's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lazy_logs: bool,
    /// `env` holds only additions to the shim's own environment, which is the daemon's
    /// passed down unchanged (the spawner and an executed shim both inherit it). The
    /// daemon then copies, serialises and drops no environment per start, and the shim
    /// parses none: the spec shrinks to the command and its own variables.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inherit_env: bool,
}

/// How a managed process ended, as recorded by its shim (which stayed its parent even if
/// the daemon did not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// Exit code, when it exited normally.
    pub exit_code: Option<i32>,
    /// Signal number, when a signal killed it.
    pub signal: Option<i32>,
    /// When the shim reaped it, in Unix milliseconds.
    pub ended_at_ms: u64,
}

/// A process started under a shim.
#[derive(Debug)]
pub struct Launched {
    /// The shim itself: the daemon's child (to be reaped when it exits) or the spawner's.
    pub shim: ShimProcess,
    /// The managed process (the shim's child, leader of its own process group).
    pub child_pid: u32,
    /// Its start time in Unix seconds: with the pid, what identifies it after a daemon
    /// restart (a recycled pid has a different start time).
    pub child_start_time: u64,
    /// Its start time in clock ticks since boot, read by the shim before it could reap
    /// the child (the exact identity); `None` from a shim that did not say.
    pub child_start_ticks: Option<u64>,
}

/// Why [`launch`] did not start the process.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The command could not be run (not found, missing working directory, permission
    /// denied, ...): the message says which and is meant for the user.
    #[error("{0}")]
    Spawn(String),
    /// The launch file could not be written or the shim could not be started.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The shim died or misbehaved before reporting (it has been killed and reaped).
    #[error("the process shim failed: {0}")]
    Shim(String),
}

/// The shim's single line to the daemon.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Report {
    Started {
        child_pid: u32,
        child_start_time: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child_start_ticks: Option<u64>,
    },
    Failed {
        error: String,
    },
}

/// Daemon side: writes `launch` to `launch_file` (mode 0600), starts `exe shim
/// <launch_file>` and returns once the shim has reported the child started or failed.
///
/// Never blocks forever: a shim that exits without reporting is an error, and one that
/// stays silent for 30 s is killed.
pub fn launch(exe: &Path, launch: &LaunchSpec, file: &Path) -> Result<Launched, LaunchError> {
    await_report(spawn(exe, launch, file)?)
}

/// The first half of [`launch`]: writes `file` and executes the shim, without waiting for
/// its report. A caller that must hold a lock across the fork (so a reaper cannot take
/// the shim's exit status) holds it for this part only.
pub fn spawn(exe: &Path, launch: &LaunchSpec, file: &Path) -> Result<ShimProcess, LaunchError> {
    write_launch_file(launch, file)?;
    let mut shim = Command::new(exe);
    shim.arg("shim")
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    shim.spawn()
        .map(ShimProcess::child)
        .map_err(|source| LaunchError::Io {
            context: format!("cannot run {}", exe.display()),
            source,
        })
}

/// [`spawn`] through a running [`Spawner`]: the shim is forked rather than executed, and
/// its launch spec goes in the request (`file` is written only for a spec too large for
/// one, or when the spawner fails: the caller then executes the shim with `file`). An
/// error means the spawner is unusable.
pub fn spawn_forked(
    spawner: &Spawner,
    launch: &LaunchSpec,
    file: &Path,
) -> Result<ShimProcess, LaunchError> {
    let json = serde_json::to_vec(launch).map_err(|e| LaunchError::Io {
        context: "cannot encode the launch spec".into(),
        source: io::Error::other(e),
    })?;
    if json.len() <= spawner::INLINE_MAX {
        return spawner.spawn(spawner::Launch::Inline(&json));
    }
    let file = std::path::absolute(file).map_err(|source| LaunchError::Io {
        context: format!("cannot resolve {}", file.display()),
        source,
    })?;
    write_launch_file(launch, &file)?;
    spawner.spawn(spawner::Launch::File(&file))
}

/// Writes `launch` to `file` (mode 0600) for the shim.
fn write_launch_file(launch: &LaunchSpec, file: &Path) -> Result<(), LaunchError> {
    let json = serde_json::to_vec(launch).map_err(io::Error::other);
    // Read once by the shim right after this and never again: no fsync is owed, which
    // keeps two disk flushes off every start.
    json.and_then(|json| write_private(file, &json))
        .map_err(|source| LaunchError::Io {
            context: format!("cannot write {}", file.display()),
            source,
        })
}

/// The second half of [`launch`]: waits (at most 30 s) for the shim
/// `spawn` started to report its child's pid, or why it could not start it.
pub fn await_report(shim: ShimProcess) -> Result<Launched, LaunchError> {
    await_report_keeping(shim, false).map(|(launched, _)| launched)
}

/// [`await_report`] for a shim that hands its exit over ([`LaunchSpec::hand_over_exit`]):
/// also returns the report channel, to be watched for the exit ([`receive`]); `None`
/// when the shim reports on a pipe (executed directly, it writes the status file).
pub fn await_report_with_channel(
    shim: ShimProcess,
) -> Result<(Launched, Option<OwnedFd>), LaunchError> {
    await_report_keeping(shim, true)
}

fn await_report_keeping(
    mut shim: ShimProcess,
    keep: bool,
) -> Result<(Launched, Option<OwnedFd>), LaunchError> {
    let mut channel = shim.take_report();
    let line = channel
        .as_mut()
        .map(|out| read_line_within(out, REPORT_TIMEOUT));
    let report = match line {
        Some(Ok(line)) => serde_json::from_slice(&line).map_err(|e| e.to_string()),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("no pipe".to_string()),
    };
    match report {
        Ok(Report::Started {
            child_pid,
            child_start_time,
            child_start_ticks,
        }) => {
            let channel = channel
                .filter(|_| keep)
                .map(OwnedFd::from)
                .filter(exit_channel::is_socket);
            let launched = Launched {
                shim,
                child_pid,
                child_start_time,
                child_start_ticks,
            };
            Ok((launched, channel))
        }
        Ok(Report::Failed { error }) => {
            let _ = shim.wait();
            Err(LaunchError::Spawn(error))
        }
        Err(message) => {
            shim.kill();
            let _ = shim.wait();
            Err(LaunchError::Shim(message))
        }
    }
}

/// The exit record a shim left in `status_file`; `None` while the child has not exited
/// (or its shim died before recording it).
pub fn read_status(status_file: &Path) -> io::Result<Option<ExitRecord>> {
    match fs::read(status_file) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(io::Error::other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads one line from `out`, giving up at EOF or after `timeout`.
fn read_line_within(mut out: impl Read + AsFd, timeout: Duration) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let (mut line, mut buf) = (Vec::new(), [0u8; 4096]);
    let fail = |kind, message: &str| Err(io::Error::new(kind, message.to_string()));
    loop {
        if !readable_by(&out, deadline)? {
            return fail(io::ErrorKind::TimedOut, "silent for 30 s");
        }
        let n = out.read(&mut buf)?;
        if n == 0 {
            return fail(io::ErrorKind::UnexpectedEof, "exited without reporting");
        }
        line.extend_from_slice(&buf[..n]);
        if let Some(end) = memchr::memchr(b'\n', &line) {
            line.truncate(end);
            return Ok(line);
        } else if line.len() > READ_SIZE {
            return fail(io::ErrorKind::InvalidData, "report too long");
        }
    }
}

/// Waits until `fd` is readable (data or EOF): `false` once `deadline` has passed first.
/// A signal interrupting the wait is no reason to give up.
fn readable_by(fd: &impl AsFd, deadline: Instant) -> io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        match poll(&mut [PollFd::new(fd, PollFlags::IN)], Some(&timespec(left))) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => return Ok(true),
            Err(e) => return Err(e.into()),
        }
    }
}

/// `d` for `poll`; the durations used here (at most seconds) always fit.
fn timespec(d: Duration) -> Timespec {
    Timespec::try_from(d).unwrap_or(Timespec {
        tv_sec: 1,
        tv_nsec: 0,
    })
}
