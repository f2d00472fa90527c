//! What a long-lived [`super::ProcessSampler`] keeps of each process between readings, so
//! that a refresh every second (`procward top`) asks the kernel for as little as it can.
//! Reading every process afresh costs a path walk, an open, a read and a close of
//! `/proc/PID/stat` and of `/proc/PID/cmdline`, and a `statx` of `/proc/PID`: measured on
//! 590 processes, about 16 ms of kernel time per refresh, 1.6 % of a core at 1 s.
//!
//! - `/proc/PID` (an `O_PATH` descriptor) and `/proc/PID/stat` (opened through it) stay
//!   open: a refresh is one `pread` of the stat line and one `fstat` of the directory for
//!   the owner (about a quarter of the kernel time). Both descriptors pin the process
//!   instance (the kernel's `struct pid`), not the number: once it exits they fail and a
//!   later process given the same PID is opened afresh, so a reading never mixes two.
//! - The command line is the costliest file (the kernel copies it out of the process's
//!   memory) and it rarely changes: it is read once per instance, again at once when its
//!   name changes (an `exec`), and every [`COMMAND_EVERY`] refreshes otherwise (a process
//!   may rewrite its arguments, as `setproctitle` does), spread over the refreshes.
//!
//! Descriptors are capped (two per process, see [`Held::new`]); past the cap, processes are
//! read the plain way, so a machine with more processes than descriptors still lists all.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{CWD, Mode, OFlags, fstat, openat};

use super::stat_line::StatLine;

/// A cached command line is read again at least this often (in refreshes).
pub(super) const COMMAND_EVERY: u64 = 16;

/// `PF_KTHREAD` in `/proc/PID/stat`'s flags: a kernel thread, which never has arguments.
const PF_KTHREAD: u32 = 0x0020_0000;

/// Descriptors the process keeps for everything else (the terminal, sockets, logs).
const RESERVED_FDS: u64 = 256;
/// Most processes held open, whatever the descriptor limit.
const MAX_HELD: usize = 16_384;

/// One process instance's open files.
#[derive(Debug)]
struct Files {
    /// `/proc/PID`, `O_PATH`: its owner is the process's effective uid.
    dir: OwnedFd,
    /// `/proc/PID/stat`, read again from offset 0 each refresh.
    stat: OwnedFd,
}

/// What is kept of one process instance.
#[derive(Debug)]
struct Kept {
    start_ticks: u64,
    /// The `comm` the command line was read under.
    comm: String,
    command: String,
    /// The command line had no arguments: read again on every refresh, unless a kernel
    /// thread (a process caught inside `execve` has its new name but no arguments yet).
    no_args: bool,
    files: Option<Files>,
    /// The refresh it was last seen in.
    seen: u64,
}

/// One process as read now.
#[derive(Debug)]
pub(super) struct Reading {
    pub(super) stat: StatLine,
    /// Effective uid (`None`: unreadable).
    pub(super) uid: Option<u32>,
    pub(super) command: String,
}

/// The processes of the last refresh, with their open files and command lines.
#[derive(Debug)]
pub(super) struct Held {
    kept: HashMap<u32, Kept>,
    /// Processes whose files may be held open.
    max_open: usize,
    /// Processes whose files are open now.
    open: usize,
    refresh: u64,
}

impl Held {
    /// Holds files for as many processes as the soft descriptor limit leaves room for (two
    /// descriptors each, after [`RESERVED_FDS`] for everything else).
    pub(super) fn new() -> Self {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        let room = limit.saturating_sub(RESERVED_FDS) / 2;
        Self::with_max_open(usize::try_from(room).unwrap_or(MAX_HELD).min(MAX_HELD))
    }

    /// Holds files for at most `max_open` processes.
    pub(super) fn with_max_open(max_open: usize) -> Self {
        Self {
            kept: HashMap::new(),
            max_open,
            open: 0,
            refresh: 0,
        }
    }

    /// Starts a refresh: every process is then [`Held::read`], then [`Held::finish`].
    pub(super) fn begin(&mut self) {
        self.refresh += 1;
    }

    /// Forgets (and closes the files of) the processes not read in this refresh.
    pub(super) fn finish(&mut self) {
        let refresh = self.refresh;
        let mut closed = 0;
        self.kept.retain(|_, kept| {
            let keep = kept.seen == refresh;
            if !keep && kept.files.is_some() {
                closed += 1;
            }
            keep
        });
        self.open -= closed;
    }

    /// `pid` now, from its held files when they still name the same instance, else
    /// afresh; `None` when it is gone or unreadable.
    pub(super) fn read(&mut self, pid: u32) -> Option<Reading> {
        let mut current = None;
        if let Some(kept) = self.kept.get(&pid)
            && let Some(files) = &kept.files
        {
            current = read_files(files).filter(|(stat, _)| stat.starttime == kept.start_ticks);
            if current.is_none() {
                // Exited: its files now fail. A new process with this PID is opened below.
                self.forget(pid);
            }
        }
        let mut opened = None;
        if current.is_none() && self.open < self.max_open {
            opened = open_files(pid);
            current = opened.as_ref().and_then(read_files);
            if current.is_none() {
                opened = None;
            }
        }
        let (stat, uid) = match current {
            Some(found) => found,
            None => {
                let stat = super::usage::read_stat(pid)?;
                (stat, uid_of(pid))
            }
        };
        let command = self.command(pid, &stat, opened);
        Some(Reading { stat, uid, command })
    }

    /// The command line of `stat`'s process: kept, or read now when it is a new instance,
    /// renamed, or due. Records the instance as seen, with `opened` files when given.
    fn command(&mut self, pid: u32, stat: &StatLine, opened: Option<Files>) -> String {
        // A zombie has no memory left to read arguments from: `ps` shows `[comm]`.
        let zombie = matches!(stat.state, 'Z' | 'X' | 'x');
        let kernel_thread = stat.flags & PF_KTHREAD != 0;
        let read = |dir: Option<&OwnedFd>| {
            let command = if zombie {
                format!("[{}]", stat.comm)
            } else {
                command_line(pid, dir, &stat.comm)
            };
            // `command_line` shows a process without arguments as `[comm]`.
            let no_args = !kernel_thread && command == format!("[{}]", stat.comm);
            (command, no_args)
        };
        let due = zombie || (self.refresh + u64::from(pid)).is_multiple_of(COMMAND_EVERY);
        let refresh = self.refresh;
        match self.kept.get_mut(&pid) {
            Some(kept) if kept.start_ticks == stat.starttime => {
                if kept.files.is_none()
                    && let Some(files) = opened
                {
                    kept.files = Some(files);
                    self.open += 1;
                }
                if kept.comm != stat.comm || kept.no_args || due {
                    (kept.command, kept.no_args) = read(kept.files.as_ref().map(|f| &f.dir));
                    kept.comm.clone_from(&stat.comm);
                }
                kept.seen = refresh;
                kept.command.clone()
            }
            _ => {
                self.forget(pid);
                let (command, no_args) = read(opened.as_ref().map(|f| &f.dir));
                self.open += usize::from(opened.is_some());
                let kept = Kept {
                    start_ticks: stat.starttime,
                    comm: stat.comm.clone(),
                    command: command.clone(),
                    no_args,
                    files: opened,
                    seen: refresh,
                };
                self.kept.insert(pid, kept);
                command
            }
        }
    }

    fn forget(&mut self, pid: u32) {
        if let Some(kept) = self.kept.remove(&pid) {
            self.open -= usize::from(kept.files.is_some());
        }
    }

    /// Processes whose files are held open now.
    #[cfg(test)]
    pub(super) fn open_count(&self) -> usize {
        self.open
    }
}

/// `/proc/PID` and, through it, its `stat` (so both name the same instance).
fn open_files(pid: u32) -> Option<Files> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let dir = openat(CWD, format!("/proc/{pid}"), flags, Mode::empty()).ok()?;
    let stat = openat(
        &dir,
        "stat",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    Some(Files { dir, stat })
}

/// The stat line from offset 0 (the kernel writes it afresh) and the owner; `None` when
/// the process is gone (or the line is longer than any seen: then it is read by path).
fn read_files(files: &Files) -> Option<(StatLine, Option<u32>)> {
    let mut buf = [0u8; 1024];
    let len = super::read_line(&files.stat, &mut buf, true).ok()?;
    if len == buf.len() {
        return None;
    }
    let stat = StatLine::parse(&buf[..len])?;
    Some((stat, owner(&files.dir)))
}

/// The owner of an open `/proc/PID` (the kernel looks it up live on each `fstat`).
fn owner(dir: impl AsFd) -> Option<u32> {
    fstat(dir).ok().map(|st| st.st_uid)
}

/// The owner of `/proc/PID` (the process's effective uid), with one `statx`.
pub(super) fn uid_of(pid: u32) -> Option<u32> {
    rustix::fs::stat(format!("/proc/{pid}"))
        .ok()
        .map(|st| st.st_uid)
}

/// The command line as `ps` shows it (arguments joined by spaces), or `[comm]` for a
/// kernel thread or a zombie: one open (through `dir`, the open `/proc/PID`, when given),
/// one or two reads and one close.
pub(super) fn command_line(pid: u32, dir: Option<&OwnedFd>, comm: &str) -> String {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    let path = format!("/proc/{pid}/cmdline");
    let file = match dir {
        Some(dir) => openat(dir, "cmdline", flags, Mode::empty()),
        None => openat(CWD, &path, flags, Mode::empty()),
    };
    let mut buf = [0u8; 4096];
    let text = match file {
        Ok(file) => match super::read_small(&file, &mut buf) {
            Ok(len) if len == buf.len() => std::fs::read(&path).ok(),
            Ok(len) => Some(buf[..len].to_vec()),
            Err(_) => None,
        },
        Err(_) => None,
    };
    let args: Vec<String> = text
        .as_deref()
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    if args.is_empty() {
        format!("[{comm}]")
    } else {
        args.join(" ")
    }
}

#[cfg(test)]
mod tests;
