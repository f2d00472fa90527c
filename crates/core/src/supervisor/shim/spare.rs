//! The spawner's spare shim: a child forked ahead of the request it will serve, so a
//! start does not wait for the spawner's `fork`.
//!
//! Why: a start waits for the shim to be forked, then for it to start the command and
//! report. The fork (copying the spawner's page tables, then the child's first
//! copy-on-write faults) was about a tenth of the daemon's side of a `procward start` on
//! a 2-CPU VM. A spare is forked right after the previous request was answered, while
//! the daemon and the client are busy with the reply; the next request is handed to it
//! whole (the same bytes and report descriptor the spawner received), and the spawner
//! answers with the spare's identity, read when it was forked.
//!
//! A spare waits on its own `SOCK_SEQPACKET` socket pair. It exits when that socket
//! closes without a request: the spawner retired it or is gone (killed, or the daemon
//! closed it), so a spare never outlives its spawner. When the hand-over fails (the
//! spare was killed meanwhile: its end is closed), the spawner forks a shim as before.
//!
//! `unsafe` here, as in the spawner: `fork` itself, and closing in the child the
//! descriptors it must not keep. Both are sound because the spawner has one thread.
#![allow(unsafe_code)]

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};
use nix::unistd::{ForkResult, fork};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType, recvmsg, sendmsg, socketpair,
};

/// A forked shim waiting for its launch spec.
#[derive(Debug)]
pub(super) struct Spare {
    /// The spawner's end of the spare's socket.
    hand: OwnedFd,
    /// `PID START_TIME START_TICKS`: the spawner's answer once the spare takes a request.
    identity: String,
}

impl Spare {
    /// Forks a spare. `keep_out` are the spawner's descriptors the child must not hold
    /// (its socket to the daemon, its signalfd); `buf`, the spawner's request buffer,
    /// becomes the spare's own copy (only the pages a request is written to are copied).
    /// `None` when it cannot be forked or its identity cannot be read: the spawner then
    /// forks on request, as without spares.
    pub(super) fn fork(keep_out: [BorrowedFd<'_>; 2], buf: &mut [u8]) -> Option<Self> {
        let (hand, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .ok()?;
        // SAFETY: the spawner has a single thread, so the child may run any code,
        // allocation included, as after a fork of any one-threaded program.
        match unsafe { fork() }.ok()? {
            ForkResult::Child => {
                // SAFETY: in the child, these are its own copies, and nothing in it uses
                // them again: a shim must not hold the spawner's socket (the daemon would
                // not see the spawner exit), its signalfd, or the spawner's end of this
                // spare's socket (it would never see the spawner go).
                unsafe {
                    for fd in keep_out {
                        libc::close(fd.as_raw_fd());
                    }
                    libc::close(hand.as_raw_fd());
                }
                std::mem::forget(hand);
                let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
                std::process::exit(wait_and_run(theirs, buf))
            }
            ForkResult::Parent { child } => {
                drop(theirs);
                let pid = child.as_raw() as u32;
                // Not reaped before this is read: the PID is still this child's.
                let (time, ticks) = crate::sys::process::start_of(pid)?;
                Some(Self {
                    hand,
                    identity: format!("{pid} {time} {ticks}"),
                })
            }
        }
    }

    /// Hands the request and its report descriptor to the spare; the answer for the
    /// daemon, or the request back when the spare cannot take it (it was killed).
    pub(super) fn take(self, request: &[u8], report: &OwnedFd) -> Option<String> {
        let fds = [report.as_fd()];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&fds));
        let sent = sendmsg(
            &self.hand,
            &[IoSlice::new(request)],
            &mut control,
            SendFlags::NOSIGNAL | SendFlags::DONTWAIT,
        );
        // Dropping `hand` here is safe: what was sent stays queued for the spare.
        matches!(sent, Ok(n) if n == request.len()).then_some(self.identity)
    }
}

/// The spare's life: waits for one request on `socket`, then becomes the shim it asks for
/// (as a shim forked on request would). Returns the process's exit code.
fn wait_and_run(socket: OwnedFd, buf: &mut [u8]) -> i32 {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let length = loop {
        let mut iov = [IoSliceMut::new(buf)];
        match recvmsg(&socket, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC) {
            Ok(msg) => break msg.bytes,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return 0,
        }
    };
    let mut report = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            report = report.or(fds.into_iter().next());
        }
    }
    drop(socket);
    // Retired (no request came before the spawner closed its end).
    let (Some(report), 1..) = (report, length) else {
        return 0;
    };
    let _ = rustix::stdio::dup2_stdout(&report);
    drop(report);
    let request = &buf[..length.min(buf.len())];
    match request.first() {
        Some(b'{') => super::run::run_inline(request),
        _ => super::run(Path::new(std::ffi::OsStr::from_bytes(request))),
    }
}
