//! What runs on the machine: processes, system-wide figures and listening ports.
//!
//! Everything here reads `/proc` (through the `procfs` crate), asks `sysinfo` or, for
//! ports, the kernel's sock_diag netlink interface, and never changes anything (but the
//! priority of the daemon's own housekeeping thread, [`background`]).

pub mod background;
mod held;
mod identity;
pub mod listening;
pub mod metrics;
pub mod ports;
pub mod process;
pub mod query;
mod sock_diag;
pub mod spawn_into;
mod stat_line;
pub mod system;
pub mod tree;
pub mod usage;
pub(crate) mod users;

pub use metrics::{Handles, Metrics, TreeMetrics, read_handles};
pub use ports::{PortInfo, PortProcess, Protocol, get_ports, port_holders};
pub use process::{
    ProcessInfo, ProcessSampler, ProcessStatus, get_process_info, is_owned_by_current_user,
    list_processes,
};
pub use query::{ProcessQuery, SortKey};
pub use system::{DiskInfo, Load, SystemInfo, SystemSampler, system_info};
pub use tree::{ProcessNode, descendants};
pub use usage::{Usage, UsageSampler};

/// Unix milliseconds of `at` (0 before 1970): the one conversion behind every
/// millisecond timestamp procward records, compares or sends.
pub fn unix_ms(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// This boot's identifier (`/proc/sys/kernel/random/boot_id`, a new random UUID at every
/// boot), read once; `None` where `/proc` does not offer it. A record of a process that
/// carries another boot's id describes a process that cannot exist any more, whatever
/// holds its PID now: PIDs and clock ticks since boot start over at every boot, so only
/// this tells a run of the previous boot from one of this boot.
pub fn boot_id() -> Option<&'static str> {
    static BOOT_ID: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BOOT_ID
        .get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .ok()
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty())
        })
        .as_deref()
}

/// The first executable regular file called `program` in the directories of `path` (a
/// `PATH`-style list): the one lookup behind the shim's spawn and the elevated helper.
pub(crate) fn find_on_path(program: &str, path: &std::ffi::OsStr) -> Option<std::path::PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate.is_file()
                && rustix::fs::access(candidate, rustix::fs::Access::EXEC_OK).is_ok()
        })
}

/// Reads a small `/proc` file whole into `buf` (one `read` for what the kernel generates
/// at once); returns the length, `buf.len()` when it may not all have fit.
pub(crate) fn read_small(
    file: impl std::os::fd::AsFd,
    buf: &mut [u8],
) -> rustix::io::Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(&file, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// Reads a one-line `/proc` file (`/proc/PID/stat`) into `buf` up to its newline, from the
/// start of the file when `from_start` (a `pread` at 0: the kernel writes the line afresh,
/// so an open file can be read again). The kernel hands over the whole line in one call,
/// so this is one system call where [`read_small`] makes a second to see the end. Returns
/// the length, `buf.len()` when the line may not all have fit.
pub(crate) fn read_line(
    file: impl std::os::fd::AsFd,
    buf: &mut [u8],
    from_start: bool,
) -> rustix::io::Result<usize> {
    let mut len = 0;
    while len < buf.len() && !buf[..len].ends_with(b"\n") {
        let read = if from_start {
            rustix::io::pread(&file, &mut buf[len..], len as u64)
        } else {
            rustix::io::read(&file, &mut buf[len..])
        };
        match read {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}
