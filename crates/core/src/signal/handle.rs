//! A pidfd-backed handle on one process instance.

use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, pidfd_open, pidfd_send_signal};
use std::os::fd::OwnedFd;

use super::name::Signal;
use crate::error::{Error, Result};
use crate::sys::process::{Identity, identify};
use crate::sys::users;

/// An open pidfd plus who the process was when it was opened.
///
/// The pidfd pins the process instance: if it exits and its PID is reused, signals sent
/// through the handle fail with ESRCH instead of reaching the newcomer.
#[derive(Debug)]
pub(crate) struct ProcessHandle {
    fd: OwnedFd,
    pub(crate) identity: Identity,
}

impl ProcessHandle {
    /// Opens `pid` and checks, after opening, that it is still the process the caller
    /// meant: `expected_start_ticks` (clock ticks since boot, exact) and
    /// `expected_start_time` (Unix seconds, coarse), each when given.
    pub(crate) fn open(
        pid: u32,
        expected_start_time: Option<u64>,
        expected_start_ticks: Option<u64>,
    ) -> Result<Self> {
        let raw = Pid::from_raw(pid as i32).ok_or(Error::NoSuchProcess { pid })?;
        let fd = pidfd_open(raw, PidfdFlags::empty()).map_err(|e| match e {
            Errno::SRCH | Errno::INVAL => Error::NoSuchProcess { pid },
            other => Error::io(format!("pidfd_open({pid})"), other.into()),
        })?;
        // Read the identity after the pidfd exists: if the PID was recycled before the
        // open, the start time below is the newcomer's and the check refuses it.
        let identity = identify(pid)?;
        identity.check(expected_start_time, expected_start_ticks)?;
        Ok(Self { fd, identity })
    }

    /// Sends `signal` to exactly this process instance.
    pub(crate) fn send(&self, signal: Signal) -> Result<()> {
        let pid = self.identity.pid;
        pidfd_send_signal(&self.fd, signal.to_rustix()).map_err(|e| match e {
            Errno::SRCH => Error::NoSuchProcess { pid },
            Errno::PERM => Error::PermissionDenied {
                pid,
                name: self.identity.name.clone(),
                owner: users::lookup(self.identity.uid),
            },
            other => Error::io(format!("pidfd_send_signal({pid}, {signal})"), other.into()),
        })
    }

    /// The pidfd, which turns readable when the process exits (a zombie counts).
    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }
}
