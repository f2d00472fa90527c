//! The shim spawner: one small single-threaded process, started by the daemon at its
//! first launch, that forks every shim instead of the daemon executing the shim binary
//! for each start.
//!
//! Why: every start and every job attempt runs under its own shim. Executing the shim
//! binary costs its loader, its runtime's start and a fresh address space each time, about
//! half a millisecond of CPU on a small VM; a fork of this process (a few hundred KiB
//! resident, one thread) costs a fraction of that and the forked shim starts with the
//! launch file's parser already warm. The daemon cannot fork itself for this: it is
//! multi-threaded (only async-signal-safe code may run in such a child) and large.
//!
//! Protocol, over a `SOCK_SEQPACKET` socket pair (the spawner's end is its stdin):
//! * the daemon sends the launch spec itself (JSON, up to [`INLINE_MAX`] bytes: no launch
//!   file is written) or, for a larger one, the launch file's absolute path, with the
//!   shim's end of a fresh report channel attached (`SCM_RIGHTS`; a `SOCK_SEQPACKET`
//!   socket pair, on which a job's shim may later hand its exit back, see
//!   `exit_channel.rs`);
//! * the spawner hands the request to its spare (a child forked after the previous
//!   answer, waiting for one, see `spare.rs`) or, without one, forks; the child becomes
//!   the shim exactly as `EXE shim LAUNCH_FILE` would (stdin `/dev/null`, stdout the
//!   report channel, [`super::run`]);
//! * the spawner answers `PID START_TIME START_TICKS`, the shim's identity read before
//!   the spawner could reap it (so a recycled PID cannot be taken for the shim), or
//!   `error: WHY`.
//!
//! The spawner reaps its children as they exit (a `signalfd` for `SIGCHLD`) and exits when
//! the daemon's end closes. Shims do not need it after the fork: they outlive it, as they
//! outlive the daemon. When it cannot be started or dies, the daemon executes shims
//! directly again ([`super::spawn`]).
//!
//! `unsafe` here: `fork` itself, and closing in the child the two descriptors it must not
//! keep. Both are sound because the spawner has one thread.
#![allow(unsafe_code)]

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};
use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType, recvmsg, sendmsg, socketpair,
};

use super::spare::Spare;
use super::{LaunchError, ShimProcess};

/// The argument that makes the shim binary a spawner: `EXE shim --spawner`.
pub const SPAWNER_FLAG: &str = "--spawner";
/// How long the daemon waits for the spawner's answer to one request.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest answer carried in one message.
const ANSWER_MAX: usize = 4096;
/// Longest launch spec sent in the request itself; a larger one (a huge environment)
/// goes through a launch file. Well under the socket's default buffer (208 KiB).
pub const INLINE_MAX: usize = 60 * 1024;
/// Room for one request: a launch spec or a path, and a byte more to see one too long.
const REQUEST_MAX: usize = INLINE_MAX + 1;

/// The daemon's side: a running spawner and the daemon's end of its socket.
#[derive(Debug)]
pub struct Spawner {
    socket: OwnedFd,
    /// The spawner process. It exits by itself when `socket` closes (the daemon's reaper
    /// collects it), so it is never waited for here.
    process: Child,
}

impl Spawner {
    /// Starts `exe shim --spawner` with its end of a new socket pair as stdin.
    pub fn start(exe: &Path) -> Result<Self, LaunchError> {
        let io_error = |context: String| move |source| LaunchError::Io { context, source };
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(std::io::Error::from)
        .map_err(io_error("cannot create the spawner's socket".into()))?;
        let process = Command::new(exe)
            .args(["shim", SPAWNER_FLAG])
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .spawn()
            .map_err(io_error(format!("cannot run {}", exe.display())))?;
        Ok(Self {
            socket: ours,
            process,
        })
    }

    /// The spawner's PID.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Has the spawner fork a shim for `launch`, which reports on a new pipe; the error
    /// means the spawner is unusable (the caller falls back to executing the shim).
    pub fn spawn(&self, launch: Launch<'_>) -> Result<ShimProcess, LaunchError> {
        let shim_error = |what: String| LaunchError::Shim(format!("spawner: {what}"));
        let request = match launch {
            Launch::Inline(json) if json.len() <= INLINE_MAX && json.first() == Some(&b'{') => json,
            Launch::File(path) if path.is_absolute() => path.as_os_str().as_bytes(),
            _ => return Err(shim_error("a launch spec it cannot take".into())),
        };
        // A socket rather than a pipe: the shim may hand its exit back on it (see
        // `exit_channel`), one message per write.
        let (report, report_write) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| shim_error(format!("cannot create the report channel: {e}")))?;
        let fds = [report_write.as_fd()];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&fds));
        sendmsg(
            &self.socket,
            &[IoSlice::new(request)],
            &mut control,
            SendFlags::NOSIGNAL,
        )
        .map_err(|e| shim_error(format!("cannot send a request: {e}")))?;
        drop(report_write);
        let answer = self.answer().map_err(shim_error)?;
        let (pid, start_time, start_ticks) = parse_answer(&answer).map_err(shim_error)?;
        Ok(ShimProcess::forked(
            pid,
            start_time,
            start_ticks,
            report.into(),
        ))
    }

    /// The spawner's answer to the request just sent, within [`ANSWER_TIMEOUT`].
    fn answer(&self) -> Result<String, String> {
        let deadline = std::time::Instant::now() + ANSWER_TIMEOUT;
        match super::readable_by(&self.socket, deadline) {
            Ok(true) => {}
            Ok(false) => return Err("no answer in 5 s".into()),
            Err(e) => return Err(format!("cannot wait for the answer: {e}")),
        }
        let mut buf = [0u8; ANSWER_MAX];
        let n = rustix::net::recv(&self.socket, &mut buf, RecvFlags::DONTWAIT)
            .map_err(|e| format!("cannot read the answer: {e}"))?
            .0;
        if n == 0 {
            return Err("exited".into());
        }
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

/// What a shim is launched from.
#[derive(Debug, Clone, Copy)]
pub enum Launch<'a> {
    /// The launch spec's JSON, at most [`INLINE_MAX`] bytes.
    Inline(&'a [u8]),
    /// A launch file, by its absolute path.
    File(&'a Path),
}

impl<'a> Launch<'a> {
    /// A request as the spawner receives it: a spec's JSON object, else a file's path.
    pub(super) fn of(request: &'a [u8]) -> Self {
        match request.first() {
            Some(b'{') => Self::Inline(request),
            _ => Self::File(Path::new(std::ffi::OsStr::from_bytes(request))),
        }
    }

    /// Becomes the shim in a forked child (its stdout already the report channel);
    /// returns the exit code.
    pub(super) fn run(self) -> i32 {
        match self {
            Self::Inline(json) => super::run::run_inline(json),
            Self::File(path) => super::run(path),
        }
    }
}

/// `PID START_TIME START_TICKS`, or the spawner's `error: WHY`.
fn parse_answer(answer: &str) -> Result<(u32, u64, u64), String> {
    if let Some(why) = answer.strip_prefix("error: ") {
        return Err(why.to_string());
    }
    let mut fields = answer.split(' ');
    let mut next = || fields.next().and_then(|f| f.parse::<u64>().ok());
    match (next(), next(), next()) {
        (Some(pid), Some(time), Some(ticks)) if pid > 0 && pid <= i32::MAX as u64 => {
            Ok((pid as u32, time, ticks))
        }
        _ => Err(format!("bad answer {answer:?}")),
    }
}

/// The spawner's main (`EXE shim --spawner`, stdin its end of the daemon's socket):
/// serves fork requests until the daemon's end closes. Returns its exit code.
pub fn serve() -> i32 {
    // Signals aimed at the daemon's terminal or group must not end it, as for a shim.
    let _ = rustix::process::setsid();
    let blocked = SigSet::from_iter([
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGPIPE,
        Signal::SIGCHLD,
    ]);
    if sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None).is_err() {
        return 1;
    }
    let exits = SigSet::from_iter([Signal::SIGCHLD]);
    let flags = SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK;
    let Ok(children) = SignalFd::with_flags(&exits, flags) else {
        return 1;
    };
    // Read once here rather than in every shim (see `remember_ignored_signals`); the
    // dispositions do not change from here on, in the spawner or in a shim.
    crate::sys::spawn_into::remember_ignored_signals();
    // Likewise the boot time and tick rate that turn start ticks into times (read once
    // per process, on first use).
    let _ = crate::sys::process::start_of(std::process::id());
    // The socket moves off fd 0 to a close-on-exec descriptor; fd 0 becomes /dev/null.
    let Ok(socket) = rustix::io::fcntl_dupfd_cloexec(std::io::stdin(), 3) else {
        return 1;
    };
    if let Ok(null) = std::fs::File::open("/dev/null") {
        let _ = rustix::stdio::dup2_stdin(&null);
    }
    let mut request = vec![0u8; REQUEST_MAX];
    let mut spare = Spare::fork([socket.as_fd(), children.as_fd()], &mut request);
    loop {
        let mut fds = [
            PollFd::new(&socket, PollFlags::IN),
            PollFd::new(&children, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => return 1,
        }
        let (request_ready, exited) = (!fds[0].revents().is_empty(), !fds[1].revents().is_empty());
        if exited {
            while let Ok(Some(_)) = children.read_signal() {}
            reap();
        }
        if request_ready && !serve_one(&socket, &children, &mut request, &mut spare) {
            return 0;
        }
    }
}

/// Reaps every child that has exited.
fn reap() {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Takes one request and answers it, then forks the next spare when `spare` was used;
/// `false` once the daemon's end is closed.
fn serve_one(
    socket: &OwnedFd,
    children: &SignalFd,
    buf: &mut [u8],
    spare: &mut Option<Spare>,
) -> bool {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [IoSliceMut::new(buf)];
    let received = recvmsg(socket, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC);
    let length = match received {
        Ok(msg) if msg.bytes == 0 => return false,
        Ok(msg) => msg.bytes,
        Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => return true,
        Err(_) => return false,
    };
    let mut report = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            // Only the first descriptor is ours to use; extra ones are closed on drop.
            report = report.or(fds.into_iter().next());
        }
    }
    let request = &buf[..length];
    let answer = match report {
        None => "error: no report pipe came with the request".to_string(),
        // Never cut short: a request fills at most INLINE_MAX of the buffer's bytes.
        Some(_) if length > INLINE_MAX => "error: request too long".to_string(),
        Some(report) => launch(request, report, spare.take(), socket, children),
    };
    let _ = rustix::net::send(socket, answer.as_bytes(), SendFlags::NOSIGNAL);
    // After the answer, off the start's path; the report descriptor is closed by now,
    // so the new spare cannot hold that report channel open.
    if spare.is_none() {
        *spare = Spare::fork([socket.as_fd(), children.as_fd()], buf);
    }
    true
}

/// The shim for `request`: the spare when it takes it, else one forked now. Consumes
/// `report`: the spawner must not keep any shim's report channel.
fn launch(
    request: &[u8],
    report: OwnedFd,
    spare: Option<Spare>,
    socket: &OwnedFd,
    children: &SignalFd,
) -> String {
    if let Some(answer) = spare.and_then(|spare| spare.take(request, &report)) {
        return answer;
    }
    fork_shim(Launch::of(request), report, socket, children)
}

/// Forks the shim for `launch`, reporting on `report`; the answer for the daemon.
fn fork_shim(launch: Launch<'_>, report: OwnedFd, socket: &OwnedFd, children: &SignalFd) -> String {
    // SAFETY: this process has a single thread (the spawner starts none), so the child
    // may run any code, allocation included, as after a fork of any one-threaded program.
    match unsafe { fork() } {
        Err(e) => format!("error: cannot fork: {e}"),
        Ok(ForkResult::Child) => {
            leave_spawner([socket.as_fd(), children.as_fd()]);
            let _ = rustix::stdio::dup2_stdout(&report);
            drop(report);
            std::process::exit(launch.run())
        }
        Ok(ForkResult::Parent { child }) => {
            drop(report);
            let pid = child.as_raw() as u32;
            identity(pid).unwrap_or_else(|| {
                format!("error: cannot read the start time of the shim (pid {pid})")
            })
        }
    }
}

/// In a child just forked by the spawner: closes the spawner's descriptors in `spawner`
/// (its socket to the daemon, its signalfd) and unblocks every signal. A shim must not
/// hold them: the daemon would not see the spawner exit.
pub(super) fn leave_spawner(spawner: [BorrowedFd<'_>; 2]) {
    // SAFETY: in the child, these descriptors are its own copies and nothing in it uses
    // them again (their owners in the copied stack are never dropped: the child leaves
    // through `process::exit`).
    unsafe {
        for fd in spawner {
            libc::close(fd.as_raw_fd());
        }
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// The answer naming the spawner's child `pid`: `PID START_TIME START_TICKS`, read before
/// the spawner could reap it (so the PID is still this child's); `None` if unreadable.
pub(super) fn identity(pid: u32) -> Option<String> {
    let (time, ticks) = crate::sys::process::start_of(pid)?;
    Some(format!("{pid} {time} {ticks}"))
}

#[cfg(test)]
mod tests {
    use super::parse_answer;

    #[test]
    fn answers_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse_answer("42 1700000000 12345"),
            Ok((42, 1_700_000_000, 12345))
        );
        assert_eq!(
            parse_answer("error: cannot fork: EAGAIN"),
            Err("cannot fork: EAGAIN".into())
        );
        for bad in ["", "0 1 2", "42 1", "-1 2 3", "4294967295 1 2", "x y z"] {
            assert!(parse_answer(bad).is_err(), "{bad:?}");
        }
    }
}
