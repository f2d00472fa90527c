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
//! `unsafe` here, as in the spawner: `fork` itself, sound because the spawner has one
//! thread.
#![allow(unsafe_code)]

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::unistd::{ForkResult, fork};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType, recvmsg, sendmsg, socketpair,
};

use super::spawner::{self, Launch};

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
                spawner::leave_spawner(keep_out);
                // Nor the spawner's end of this spare's socket: the spare would never see
                // the spawner go.
                drop(hand);
                std::process::exit(wait_and_run(theirs, buf))
            }
            ForkResult::Parent { child } => {
                drop(theirs);
                let identity = spawner::identity(child.as_raw() as u32)?;
                Some(Self { hand, identity })
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
    Launch::of(&buf[..length.min(buf.len())]).run()
}
