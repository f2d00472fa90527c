//! The managed process as its shim holds it, however it was spawned.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};

use rustix::process::{Pid, WaitOptions, waitpid};

/// The shim's child: started by `std::process::Command` (the fallback), or straight
/// into its cgroup by [`crate::sys::spawn_into`].
pub(super) enum Running {
    /// Spawned by std.
    Std(Child),
    /// Spawned by `clone3`; reaped with `waitpid`.
    Direct(u32),
}

impl Running {
    /// Its pid.
    pub(super) fn id(&self) -> u32 {
        match self {
            Running::Std(child) => child.id(),
            Running::Direct(pid) => *pid,
        }
    }

    /// Reaps it if it has exited.
    pub(super) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match self {
            Running::Std(child) => child.try_wait(),
            Running::Direct(pid) => {
                let pid = Pid::from_raw(*pid as i32);
                let status = waitpid(pid, WaitOptions::NOHANG)?;
                Ok(status.map(|(_, status)| ExitStatus::from_raw(status.as_raw())))
            }
        }
    }
}
