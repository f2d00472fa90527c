//! Handing a run's exit record to the daemon over the shim's report channel, instead of
//! through the status file.
//!
//! Why: a job of the queue is saved in the daemon's own store when it ends. Writing its
//! exit record to a file first (created, `fdatasync`ed, renamed, its folder `fsync`ed) and
//! reading it back cost about a fifth of a short job's whole CPU time, for a record the
//! daemon keeps anyway. The file is only needed when the daemon is not there to take it.
//!
//! Protocol, on the report channel (a `SOCK_SEQPACKET` socket from the [`super::Spawner`],
//! one message per write), when the launch spec asks for it
//! ([`super::LaunchSpec::hand_over_exit`]):
//! * the shim sends its report line as always, then keeps the channel;
//! * once the child has exited and the logs are finished, it sends the [`ExitRecord`] as
//!   one JSON line and waits for one byte back;
//! * the daemon saves the record in its store, then sends that byte ([`HandedOver::acknowledge`]);
//! * without the byte (the daemon is gone, or did not answer within [`ACK_TIMEOUT`]) the
//!   shim writes the status file as usual, so a restarted daemon finds the exit there.
//!
//! A daemon killed after it saved the record but before it answered leaves a status file
//! nobody needs (the run is already over in the store); one killed before it saved finds
//! the file on restart. Nothing is lost either way. The channel is a socket only when
//! the spawner forked the shim; a shim executed directly reports on a pipe, cannot hear
//! an answer and so always writes the file.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::net::{RecvFlags, SendFlags, recv, send};

use super::ExitRecord;

/// How long a shim waits for the daemon's answer before writing the status file anyway
/// (the daemon answers as soon as its store has the record: milliseconds).
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// The daemon's answer.
const ACK: u8 = b'\n';

/// The shim's end: its report channel, kept past the report.
pub(super) struct ExitChannel(OwnedFd);

impl ExitChannel {
    /// A close-on-exec copy of the shim's stdout when it is a socket (the spawner's
    /// report channel), taken before stdout is pointed at `/dev/null`.
    pub fn keep_stdout() -> Option<Self> {
        let stdout = io::stdout();
        is_socket(&stdout)
            .then(|| rustix::io::fcntl_dupfd_cloexec(stdout.as_fd(), 3).ok())
            .flatten()
            .map(Self)
    }

    /// Sends `record` and waits for the daemon's answer: `true` once the daemon has it
    /// saved, `false` if the status file must be written.
    pub fn hand_over(self, record: &ExitRecord) -> bool {
        let Ok(mut line) = serde_json::to_vec(record) else {
            return false;
        };
        line.push(b'\n');
        if send(&self.0, &line, SendFlags::NOSIGNAL) != Ok(line.len()) {
            return false;
        }
        if !matches!(
            super::readable_by(&self.0, Instant::now() + ACK_TIMEOUT),
            Ok(true)
        ) {
            return false;
        }
        let mut answer = [0u8; 1];
        matches!(recv(&self.0, &mut answer, RecvFlags::DONTWAIT), Ok((1, _)) if answer[0] == ACK)
    }
}

/// Whether `fd` is a socket (a report channel that can carry an answer back).
pub(super) fn is_socket(fd: &impl AsFd) -> bool {
    rustix::fs::fstat(fd.as_fd())
        .is_ok_and(|stat| rustix::fs::FileType::from_raw_mode(stat.st_mode).is_socket())
}

/// The daemon's side: a record a shim handed over, to be answered once saved.
#[derive(Debug)]
pub struct HandedOver {
    /// How the run ended.
    pub record: ExitRecord,
    channel: OwnedFd,
}

impl HandedOver {
    /// Tells the shim the record is saved: it exits without writing the status file.
    /// Call it only after the record is in the store.
    pub fn acknowledge(self) {
        let _ = send(
            &self.channel,
            &[ACK],
            SendFlags::NOSIGNAL | SendFlags::DONTWAIT,
        );
    }
}

/// What a readable report channel holds after the report line.
#[derive(Debug)]
pub enum ChannelEvent {
    /// Nothing yet (a spurious wake-up).
    Nothing,
    /// The shim handed its exit over.
    Exit(HandedOver),
    /// The shim is gone or said something else: its status file (if any) has the exit.
    Closed,
}

/// Reads the next message of a shim's report `channel` (after its report line), without
/// blocking; the channel moves into the [`HandedOver`] that answers it.
pub fn receive(channel: OwnedFd) -> (ChannelEvent, Option<OwnedFd>) {
    let mut buf = [0u8; 512];
    match recv(&channel, &mut buf, RecvFlags::DONTWAIT) {
        Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {
            (ChannelEvent::Nothing, Some(channel))
        }
        Ok((n, _)) if n > 0 => match serde_json::from_slice::<ExitRecord>(&buf[..n]) {
            Ok(record) => (ChannelEvent::Exit(HandedOver { record, channel }), None),
            Err(_) => (ChannelEvent::Closed, None),
        },
        _ => (ChannelEvent::Closed, None),
    }
}
