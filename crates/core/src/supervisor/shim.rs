//! The per-process shim: a small parent that owns one managed process's pipes and exit
//! status, so the daemon can die without the process or its output noticing.
//!
//! Why a shim: if the daemon were the managed process's parent and held its pipes, a
//! `kill -9` of the daemon would close the read ends (the process gets SIGPIPE or blocks,
//! output in flight is lost) and the exit code would go to whoever reaps the orphan.
//! Letting children write to log files directly avoids the first problem but loses
//! rotation at line boundaries, the last partial line and the exit code. Instead every
//! managed process runs under `procward shim <launch.json>` (the same binary, re-executed
//! with a hidden subcommand, calling [`run`]):
//!
//! * the shim calls `setsid()`, so signals aimed at the daemon's process group or session
//!   (a terminal's Ctrl-C, a service manager's group kill) never reach it, and blocks
//!   SIGHUP, SIGINT and SIGPIPE (blocked rather than ignored: std clears the signal mask
//!   when it spawns, so the child starts with default signal handling);
//! * it spawns the child in a process group of its own (the daemon stops the whole tree
//!   with `killpg`), stdin `/dev/null`, stdout and stderr into pipes it reads;
//! * it reports `{"child_pid":N,"child_start_time":T}` (or `{"error":"..."}`) as one JSON
//!   line on its stdout, then points its stdout at `/dev/null` and never talks to the
//!   daemon again: it works the same whether the daemon lives or not;
//! * it copies the pipes into [`RotatingWriter`]s, reaps the child when its pidfd says it
//!   exited, drains what is left, and writes an [`ExitRecord`] atomically to the status
//!   file.
//!
//! The daemon ([`launch`]) watches the child through a pidfd of its own and, after a
//! restart, re-adopts it by pid plus start time; the exit code it can no longer reap
//! itself is read from the status file ([`read_status`]).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, pidfd_open};
use serde::{Deserialize, Serialize};

use crate::logs::writer::RotatingWriter;

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
    /// The child's whole environment: nothing of the daemon's or the shim's leaks in.
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
    /// Where the shim writes the [`ExitRecord`] once the child has exited.
    pub status_file: PathBuf,
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
    /// The shim itself: the daemon's child, to be reaped when it exits.
    pub shim: Child,
    /// The managed process (the shim's child, leader of its own process group).
    pub child_pid: u32,
    /// Its start time in Unix seconds: with the pid, what identifies it after a daemon
    /// restart (a recycled pid has a different start time).
    pub child_start_time: u64,
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
pub fn launch(
    exe: &Path,
    launch: &LaunchSpec,
    launch_file: &Path,
) -> Result<Launched, LaunchError> {
    let io_error = |context: String| move |source| LaunchError::Io { context, source };
    let json = serde_json::to_vec(launch).map_err(io::Error::other);
    json.and_then(|json| write_atomic(launch_file, &json, 0o600))
        .map_err(io_error(format!("cannot write {}", launch_file.display())))?;
    let mut shim = Command::new(exe)
        .arg("shim")
        .arg(launch_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(io_error(format!("cannot start the shim {}", exe.display())))?;
    let report = shim
        .stdout
        .take()
        .map(|out| read_line_within(out, REPORT_TIMEOUT));
    let report = match report {
        Some(Ok(line)) => serde_json::from_slice::<Report>(&line).map_err(|e| e.to_string()),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("no stdout pipe".to_string()),
    };
    match report {
        Ok(Report::Started {
            child_pid,
            child_start_time,
        }) => Ok(Launched {
            shim,
            child_pid,
            child_start_time,
        }),
        Ok(Report::Failed { error }) => {
            let _ = shim.wait();
            Err(LaunchError::Spawn(error))
        }
        Err(message) => {
            let _ = shim.kill();
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
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The shim's main (`procward shim <launch_file>`): starts the child, captures its output
/// until it exits and records how it ended. Returns the shim's exit code: 0 once the status
/// file is written, 127 if the child could not be started, 1 if the status could not be
/// recorded.
pub fn run(launch_file: &Path) -> i32 {
    // Fails only if we already lead a group, which also keeps group signals away.
    let _ = rustix::process::setsid();
    block_signals();
    let started = fs::read(launch_file)
        .map_err(|e| format!("cannot read launch file {}: {e}", launch_file.display()))
        .and_then(|bytes| {
            serde_json::from_slice::<LaunchSpec>(&bytes)
                .map_err(|e| format!("invalid launch file {}: {e}", launch_file.display()))
        })
        .and_then(|spec| start(&spec).map(|started| (spec, started)));
    let (spec, (mut child, writers)) = match started {
        Ok(started) => started,
        Err(error) => {
            report(&Report::Failed { error });
            return 127;
        }
    };
    let pid = child.id();
    let child_start_time = crate::sys::process::identify(pid).map_or(0, |id| id.start_time);
    report(&Report::Started {
        child_pid: pid,
        child_start_time,
    });
    detach_stdout();

    let status = capture(&mut child, writers);
    let record = ExitRecord {
        exit_code: status.code(),
        signal: status.signal(),
        ended_at_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
    };
    let written = serde_json::to_vec(&record)
        .map_err(io::Error::other)
        .and_then(|json| write_atomic(&spec.status_file, &json, 0o640));
    match written {
        Ok(()) => 0,
        Err(e) => {
            let path = spec.status_file.display();
            let _ = writeln!(io::stderr(), "procward shim: cannot write {path}: {e}");
            1
        }
    }
}

/// One captured stream: the pipe (until EOF) and its log.
struct Stream {
    pipe: Option<File>,
    log: RotatingWriter,
    failed: bool,
}

/// Opens the logs and spawns the child; the error is the user-facing message.
fn start(spec: &LaunchSpec) -> Result<(Child, [Stream; 2]), String> {
    let open = |path: &Path| {
        RotatingWriter::open(path, spec.max_bytes, spec.max_files)
            .map_err(|e| format!("cannot open log file {}: {e}", path.display()))
    };
    let (out_log, err_log) = (open(&spec.stdout_log)?, open(&spec.stderr_log)?);
    let Some((program, args)) = spec.argv.split_first() else {
        return Err("cannot run an empty command".to_string());
    };
    if let Some(cwd) = &spec.cwd
        && !cwd.is_dir()
    {
        let what = if cwd.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(format!(
            "cannot run '{program}': working directory {} {what}",
            cwd.display()
        ));
    }
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(&spec.env)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    let mut child = command
        .spawn()
        .map_err(|e| spawn_message(spec, program, &e))?;
    let pipe = |fd: Option<std::os::fd::OwnedFd>| fd.map(File::from);
    let streams = [
        Stream {
            pipe: pipe(child.stdout.take().map(Into::into)),
            log: out_log,
            failed: false,
        },
        Stream {
            pipe: pipe(child.stderr.take().map(Into::into)),
            log: err_log,
            failed: false,
        },
    ];
    Ok((child, streams))
}

/// Says which of the usual causes made the spawn fail.
fn spawn_message(spec: &LaunchSpec, program: &str, e: &io::Error) -> String {
    let cwd_blocked = spec
        .cwd
        .as_ref()
        .is_some_and(|cwd| rustix::fs::access(cwd, rustix::fs::Access::EXEC_OK).is_err());
    match e.kind() {
        io::ErrorKind::PermissionDenied if cwd_blocked => {
            let cwd = spec.cwd.as_deref().unwrap_or(Path::new("")).display();
            format!("cannot run '{program}': working directory {cwd}: permission denied ({e})")
        }
        io::ErrorKind::PermissionDenied => {
            format!("cannot run '{program}': permission denied ({e})")
        }
        io::ErrorKind::NotFound => format!("cannot run '{program}': command not found ({e})"),
        _ => format!("cannot run '{program}': {e}"),
    }
}

/// Copies both pipes into their logs until the child has exited and the pipes are at EOF
/// (or silent for [`DRAIN_IDLE`] after the exit); returns how the child ended.
fn capture(child: &mut Child, mut streams: [Stream; 2]) -> ExitStatus {
    // Without pidfds (kernels before 5.3) the child is polled every 100 ms instead.
    let pidfd = pidfd_open(Pid::from_child(child), PidfdFlags::empty()).ok();
    let mut status = None;
    let mut idle_until = Instant::now();
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let open = streams.iter().any(|s| s.pipe.is_some());
        if let Some(status) = status
            && (!open || Instant::now() >= idle_until)
        {
            for stream in streams {
                if let Err(e) = stream.log.finish() {
                    let _ = writeln!(io::stderr(), "procward shim: cannot finish log: {e}");
                }
            }
            return status;
        }
        let timeout = match (&status, &pidfd) {
            (Some(_), _) => Some(idle_until.saturating_duration_since(Instant::now())),
            (None, None) => Some(Duration::from_millis(100)),
            (None, Some(_)) => None,
        };
        let timeout = timeout.map(|t| {
            Timespec::try_from(t).unwrap_or(Timespec {
                tv_sec: 1,
                tv_nsec: 0,
            })
        });
        let mut ready = [false; 3];
        {
            let mut fds = Vec::with_capacity(3);
            let mut which = Vec::with_capacity(3);
            for (i, stream) in streams.iter().enumerate() {
                if let Some(pipe) = &stream.pipe {
                    fds.push(PollFd::new(pipe, PollFlags::IN));
                    which.push(i);
                }
            }
            if let (None, Some(pidfd)) = (&status, &pidfd) {
                fds.push(PollFd::new(pidfd, PollFlags::IN));
                which.push(2);
            }
            if poll(&mut fds, timeout.as_ref()).is_err() {
                continue; // EINTR; nothing else is expected from poll on these fds
            }
            for (fd, i) in fds.iter().zip(which) {
                ready[i] = !fd.revents().is_empty();
            }
        }
        for (stream, _) in streams.iter_mut().zip(ready).filter(|(_, r)| *r) {
            let Some(pipe) = &mut stream.pipe else {
                continue;
            };
            match pipe.read(&mut buf) {
                Ok(0) => stream.pipe = None,
                Ok(n) => {
                    idle_until = Instant::now() + DRAIN_IDLE;
                    if let Err(e) = stream.log.write(&buf[..n])
                        && !std::mem::replace(&mut stream.failed, true)
                    {
                        let path = stream.log.path().display();
                        let _ = writeln!(io::stderr(), "procward shim: cannot write {path}: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => stream.pipe = None,
            }
        }
        if status.is_none()
            && (ready[2] || pidfd.is_none())
            && let Ok(Some(exited)) = child.try_wait()
        {
            status = Some(exited);
            idle_until = Instant::now() + DRAIN_IDLE;
        }
    }
}

/// Blocks the signals a shim must survive: terminal hangup and interrupt (it has no
/// terminal after `setsid`, but a parent may forward them) and SIGPIPE (the daemon's end
/// of stdout may be gone).
fn block_signals() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
    let mut set = SigSet::empty();
    for signal in [Signal::SIGHUP, Signal::SIGINT, Signal::SIGPIPE] {
        set.add(signal);
    }
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
}

/// Writes the one report line to the daemon; errors are ignored (the daemon may be gone).
fn report(report: &Report) {
    if let Ok(mut line) = serde_json::to_vec(report) {
        line.push(b'\n');
        let mut out = io::stdout().lock();
        let _ = out.write_all(&line);
        let _ = out.flush();
    }
}

/// Points stdout at `/dev/null`, closing the pipe to the daemon: its end of the pipe gets
/// EOF, and nothing the shim does later can block on or be killed by a dead reader.
fn detach_stdout() {
    if let Ok(null) = File::options().write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdout(&null);
    }
}

/// Reads one line from `out`, giving up at EOF or after `timeout`.
fn read_line_within(
    mut out: impl Read + std::os::fd::AsFd,
    timeout: Duration,
) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no report within 30 s",
            ));
        }
        let left = Timespec::try_from(left).map_err(io::Error::other)?;
        let mut fds = [PollFd::new(&out, PollFlags::IN)];
        match poll(&mut fds, Some(&left)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let n = out.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "it exited without reporting",
            ));
        }
        line.extend_from_slice(&buf[..n]);
        if let Some(end) = memchr::memchr(b'\n', &line) {
            line.truncate(end);
            return Ok(line);
        }
        if line.len() > READ_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "report line too long",
            ));
        }
    }
}

/// Replaces `path` crash-safely: temporary file in the same folder, fsync, rename, fsync
/// of the folder. A reader sees the old content or the new, never a torn file.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })?;
    File::open(dir)?.sync_all()
}
