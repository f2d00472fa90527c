//! A started shim as the daemon holds it: its own child (executed directly, to be reaped
//! by whoever holds it) or forked by the [`super::spawner`] (which reaps it), with the
//! pipe its one report comes on.

use std::fs::File;
use std::io;
use std::process::{Child, ExitStatus};

use crate::signal::Signal;
use crate::signal::handle::ProcessHandle;

/// A shim that has been started and may not have reported yet.
#[derive(Debug)]
pub struct ShimProcess {
    pid: u32,
    /// Its start time (Unix seconds, clock ticks) when read before anyone could reap it.
    identity: Option<(u64, u64)>,
    /// This process's child, to be reaped here; `None` when the spawner forked it.
    child: Option<Child>,
    /// The read end of the report pipe, until the report is read.
    report: Option<File>,
}

impl ShimProcess {
    /// A shim this process executed: its child, reporting on its stdout.
    pub(super) fn child(mut child: Child) -> Self {
        let report = child
            .stdout
            .take()
            .map(|out| File::from(std::os::fd::OwnedFd::from(out)));
        Self {
            pid: child.id(),
            identity: None,
            child: Some(child),
            report,
        }
    }

    /// A shim the spawner forked, as it answered.
    pub(super) fn forked(pid: u32, start_time: u64, start_ticks: u64, report: File) -> Self {
        Self {
            pid,
            identity: Some((start_time, start_ticks)),
            child: None,
            report: Some(report),
        }
    }

    /// The shim's PID.
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// Whether this process is the shim's parent (and so must reap it, see [`Self::wait`]).
    pub fn is_child(&self) -> bool {
        self.child.is_some()
    }

    /// Its start time in Unix seconds and in clock ticks since boot, when read at spawn
    /// (a forked shim); `None` for a child, whose PID stays its own until reaped.
    pub fn identity(&self) -> Option<(u64, u64)> {
        self.identity
    }

    /// Waits for the shim to exit when it is this process's child, with its exit status;
    /// a forked shim is reaped by the spawner, so this returns `None` at once.
    pub fn wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match &mut self.child {
            Some(child) => child.wait().map(Some),
            None => Ok(None),
        }
    }

    /// SIGKILL to the shim: to a child directly, to a forked shim only while it is still
    /// the process the spawner started (PID plus start time).
    pub(super) fn kill(&mut self) {
        match (&mut self.child, self.identity) {
            (Some(child), _) => {
                let _ = child.kill();
            }
            (None, Some((_, ticks))) => {
                if let Ok(handle) = ProcessHandle::open(self.pid, None, Some(ticks)) {
                    let _ = handle.send(Signal::KILL);
                }
            }
            (None, None) => {}
        }
    }

    /// Whether the shim's report (or its end) can be read within `wait`: a caller on an
    /// async runtime waits this long in place and hands its worker's other tasks to
    /// another thread only for a slower shim.
    pub fn report_ready_within(&self, wait: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + wait;
        self.report
            .as_ref()
            .is_some_and(|report| super::readable_by(report, deadline).unwrap_or(true))
    }

    /// The report pipe, taken once.
    pub(super) fn take_report(&mut self) -> Option<File> {
        self.report.take()
    }
}
