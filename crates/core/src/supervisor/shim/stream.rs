//! One captured output stream of the shim's child: its pipe (until EOF) and its log.
//!
//! A log may be opened only when the first output comes ([`super::LaunchSpec::lazy_logs`]):
//! most short jobs print nothing on stderr, and a `true` prints nothing at all, so a job
//! of the queue then creates no file and no folder (the folder is made with the first
//! file), and leaves none to delete.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use crate::logs::stamp::LineStamper;
use crate::logs::writer::RotatingWriter;

/// A stream's log file.
pub(super) enum Log {
    /// Open (created at start, or at the first output).
    Open(RotatingWriter),
    /// Not created yet: opened with these limits at the first output.
    Later {
        path: PathBuf,
        max_bytes: u64,
        max_files: u32,
    },
}

impl Log {
    /// The log opened now, or (`lazy`) at the first output.
    pub fn new(path: PathBuf, max_bytes: u64, max_files: u32, lazy: bool) -> io::Result<Self> {
        if lazy {
            return Ok(Self::Later {
                path,
                max_bytes,
                max_files,
            });
        }
        RotatingWriter::open(&path, max_bytes, max_files).map(Self::Open)
    }

    /// The open writer, opening it first if it is still to come.
    fn writer(&mut self) -> io::Result<&mut RotatingWriter> {
        if let Self::Later {
            path,
            max_bytes,
            max_files,
        } = self
        {
            *self = Self::Open(RotatingWriter::open(path, *max_bytes, *max_files)?);
        }
        match self {
            Self::Open(writer) => Ok(writer),
            Self::Later { .. } => unreachable!("opened above"),
        }
    }

    fn path(&self) -> &std::path::Path {
        match self {
            Self::Open(writer) => writer.path(),
            Self::Later { path, .. } => path,
        }
    }
}

/// One captured stream: the pipe (until EOF) and its log.
pub(super) struct Stream {
    pipe: Option<File>,
    log: Log,
    failed: bool,
    /// Set when lines are timestamped (`logs.timestamps`).
    stamper: Option<LineStamper>,
}

impl Stream {
    pub fn new(pipe: impl Into<OwnedFd>, log: Log, timestamps: bool) -> Self {
        Self {
            pipe: Some(File::from(pipe.into())),
            log,
            failed: false,
            stamper: timestamps.then(LineStamper::default),
        }
    }

    /// The pipe, until it is at EOF.
    pub fn pipe(&self) -> Option<BorrowedFd<'_>> {
        self.pipe.as_ref().map(AsFd::as_fd)
    }

    /// The log's writer, once it exists.
    pub fn writer(&self) -> Option<&RotatingWriter> {
        match &self.log {
            Log::Open(writer) => Some(writer),
            Log::Later { .. } => None,
        }
    }

    /// The log's writer, once it exists, for the end of the run.
    pub fn into_writer(self) -> Option<RotatingWriter> {
        match self.log {
            Log::Open(writer) => Some(writer),
            Log::Later { .. } => None,
        }
    }

    /// Whether the log owes a marker line (output was dropped).
    pub fn owes_marker(&self) -> bool {
        self.writer().is_some_and(|w| w.failing().is_some())
    }

    /// Tries to write the owed marker line.
    pub fn retry_marker(&mut self) {
        if let Log::Open(writer) = &mut self.log {
            writer.retry_marker();
        }
    }

    /// One read from a ready pipe into the log; `true` if data came. `buf` is read into
    /// its spare capacity, so it is never zeroed: a silent child's shim touches none of
    /// it.
    pub fn pump(&mut self, buf: &mut Vec<u8>) -> bool {
        let Some(pipe) = &mut self.pipe else {
            return false;
        };
        buf.clear();
        match rustix::io::read(&*pipe, rustix::buffer::spare_capacity(buf)) {
            Ok(0) => self.pipe = None,
            Ok(n) => {
                // A failing disk must not block the child: say so once, keep draining.
                let chunk = match &mut self.stamper {
                    Some(stamper) => stamper.stamp(&buf[..n], std::time::SystemTime::now()),
                    None => &buf[..n],
                };
                if let Err(e) = self.log.writer().and_then(|log| log.write(chunk))
                    && !std::mem::replace(&mut self.failed, true)
                {
                    let path = self.log.path().display();
                    let _ = writeln!(io::stderr(), "procward shim: cannot write {path}: {e}");
                }
                return true;
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => self.pipe = None,
        }
        false
    }
}
