//! A size-rotated log file that is only ever written whole lines at a time.
//!
//! Why our own writer rather than a generic rotating file: a log line must never be split
//! across two files (readers and `grep` see whole lines, `tail` and `follow` stay simple),
//! output arrives in arbitrary pipe-sized chunks that end mid-line, and a burst of millions
//! of lines must cost about one `write` syscall per chunk read from the pipe. So the writer
//! keeps the incomplete trailing line of each chunk in memory, writes the complete lines
//! with one vectored write, and rotates only between lines.
//!
//! Files: `path` is the live file; rotation renames `path` to `path.1`, `path.1` to
//! `path.2` and so on, keeping at most `max_files - 1` rotated files (the oldest is
//! deleted). [`rotated_path`] names them for readers ([`super::tail`], [`super::follow`]).
//!
//! When a write fails (disk full, quota, I/O error) the writer cuts the file back to its
//! last whole line, drops whole lines until writes succeed again, and then writes one
//! marker line, `[procward: N bytes dropped: no space left on device]`, before the next
//! output (see [`loss`]). It never blocks and never stores part of a line.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use memchr::{memchr, memrchr};

mod loss;
/// An I/O error as the words of its OS message (`no space left on device`): what the
/// marker line and disk-full reports say.
pub use loss::reason as io_error_text;
use loss::{Loss, last_newline_within};

/// A partial line longer than this is written out before its end arrives, so a process
/// that never prints a newline cannot make the writer buffer without bound.
const MAX_PENDING: u64 = 1 << 20;

/// The name of the `k`-th rotated file of `path` (`k = 0` is `path` itself): `app.log.3`.
///
/// Shared by the writer and the readers so both agree on the naming scheme.
pub fn rotated_path(path: &Path, k: u32) -> PathBuf {
    if k == 0 {
        return path.to_path_buf();
    }
    let mut name = OsString::from(path.as_os_str());
    name.push(format!(".{k}"));
    PathBuf::from(name)
}

/// Appends whole lines to a log file and rotates it by size, never splitting a line.
///
/// Feed it raw chunks with [`RotatingWriter::write`]; call [`RotatingWriter::finish`] when
/// the stream ends so a last line without a newline is not lost. Bytes are written as they
/// come (invalid UTF-8 included): logs record what the process printed, not a decoding of
/// it.
#[derive(Debug)]
pub struct RotatingWriter {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
    max_files: u32,
    /// The incomplete trailing line of the chunks seen so far.
    pending: Vec<u8>,
    /// A partial line over [`MAX_PENDING`] was already written to the file: the rest of
    /// that line goes straight to the same file until its newline arrives.
    mid_line: bool,
    /// Where that spilled line starts in the live file (what a failed write cuts back to).
    line_start: u64,
    /// Output bytes in the files (markers and the newline `open` adds are not output): with
    /// `pending`, what tells how much of a failed `write` was dropped.
    written: u64,
    /// What write errors cost, and the outage in progress.
    loss: Loss,
    /// Something was written to (or cut from) the file since `open`: whether
    /// [`RotatingWriter::finish`] owes it an fsync.
    touched: bool,
}

impl RotatingWriter {
    /// Opens `path` for appending (creating it and its parent folders; mode 0640, so logs
    /// are not world-readable; close-on-exec, as every std open is, so children never
    /// inherit it).
    ///
    /// `max_bytes` is the size at which the file is rotated; `max_files` counts the live
    /// file plus the rotated ones kept (0 is taken as 1: no rotated files are kept). If the
    /// existing file ends with a partial line (its writer died mid-line), a newline is
    /// added first so new output never glues onto it.
    pub fn open(path: &Path, max_bytes: u64, max_files: u32) -> io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        let file = open_log(path)?;
        let mut writer = Self {
            path: path.to_path_buf(),
            size: file.metadata()?.len(),
            file,
            max_bytes,
            max_files: max_files.max(1),
            pending: Vec::new(),
            mid_line: false,
            line_start: 0,
            written: 0,
            loss: Loss::default(),
            touched: false,
        };
        if writer.size > 0 {
            let mut last = [0u8; 1];
            writer.file.read_exact_at(&mut last, writer.size - 1)?;
            if last[0] != b'\n' {
                writer.append(&[b"\n"])?;
            }
        }
        Ok(writer)
    }

    /// The live file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the live file (what has been written, not what is pending).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes of output dropped by write errors since the writer was opened.
    pub fn dropped_bytes(&self) -> u64 {
        self.loss.total
    }

    /// Why writes are failing, while dropped output still waits for its marker line (the
    /// marker is written by the first write that succeeds): `no space left on device`.
    pub fn failing(&self) -> Option<&str> {
        self.loss.reason.as_deref()
    }

    /// Writes the marker line owed for dropped output, if the disk takes it now: for a
    /// quiet stream, whose next write may be far off. Returns whether nothing is owed any
    /// more.
    pub fn retry_marker(&mut self) -> bool {
        if self.loss.unmarked > 0 && !self.mid_line {
            let _ = self.append(&[]);
        }
        self.loss.unmarked == 0
    }

    /// Takes a chunk of output as it was read: writes the complete lines it finishes and
    /// keeps an incomplete trailing line for the next call.
    ///
    /// On an I/O error (disk full) the lines of this call that were not written are
    /// dropped whole (a line begun in the file is cut off again) and the writer stays
    /// usable, so a capture loop can keep draining the pipe instead of blocking the
    /// process. The first write that succeeds afterwards is preceded by a marker line that
    /// counts the dropped bytes.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut bytes = bytes;
        if self.loss.skipping {
            let end = memchr(b'\n', bytes).map_or(bytes.len(), |i| {
                self.loss.skipping = false;
                i + 1
            });
            self.loss.drop_bytes(end as u64, None);
            bytes = &bytes[end..];
        }
        let before = self.written + self.pending.len() as u64;
        let result = self.write_lines(bytes);
        let kept = self.written + self.pending.len() as u64;
        let lost = (before + bytes.len() as u64).saturating_sub(kept);
        if result.is_err()
            && !self.mid_line
            && self.pending.is_empty()
            && bytes.last().is_some_and(|b| *b != b'\n')
        {
            // The tail of this chunk (the start of a line) was dropped: drop its rest too.
            self.loss.skipping = true;
        }
        self.loss.drop_bytes(lost, result.as_ref().err());
        result
    }

    /// [`RotatingWriter::write`] without the loss accounting.
    fn write_lines(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut bytes = bytes;
        if self.mid_line {
            match memchr(b'\n', bytes) {
                None => return self.append(&[bytes]),
                Some(i) => {
                    self.append(&[&bytes[..=i]])?;
                    self.mid_line = false;
                    bytes = &bytes[i + 1..];
                }
            }
        }
        let Some(last) = memrchr(b'\n', bytes) else {
            self.pending.extend_from_slice(bytes);
            return self.spill_long_partial();
        };
        let (complete, rest) = bytes.split_at(last + 1);
        let mut head = std::mem::take(&mut self.pending);
        let total = (head.len() + complete.len()) as u64;
        let written = if self.size.saturating_add(total) <= self.max_bytes {
            self.append(&[&head, complete])
        } else {
            head.extend_from_slice(complete);
            self.write_rotating(&head)
        };
        head.clear();
        head.extend_from_slice(rest);
        self.pending = head;
        written?;
        self.spill_long_partial()
    }

    /// Ends the stream: writes a pending partial line followed by a newline (the last
    /// words of a process must not be lost), the marker of a drop not yet marked (if the
    /// disk has room again), and fsyncs the file if anything was written to it: a stream
    /// that stayed silent (most short jobs' stderr) costs no disk flush.
    pub fn finish(mut self) -> io::Result<()> {
        let ended = self.terminate_line();
        self.retry_marker();
        ended?;
        if self.touched {
            self.file.sync_all()?;
        }
        Ok(())
    }

    /// Whether [`RotatingWriter::finish`] will fsync: something was written since `open`,
    /// or a partial line is still to be written.
    pub fn needs_sync(&self) -> bool {
        self.touched || self.mid_line || !self.pending.is_empty() || self.loss.unmarked > 0
    }

    /// Writes the pending partial line (or ends a spilled long line) with a newline.
    fn terminate_line(&mut self) -> io::Result<()> {
        if self.mid_line || !self.pending.is_empty() {
            self.write(b"\n")?;
        }
        Ok(())
    }

    /// Slow path, taken when `data` (complete lines) does not fit in the live file: writes
    /// the lines that fit, rotates, and goes on.
    fn write_rotating(&mut self, data: &[u8]) -> io::Result<()> {
        self.resync();
        let mut data = data;
        while !data.is_empty() {
            let room = self.max_bytes.saturating_sub(self.size);
            if data.len() as u64 <= room {
                return self.append(&[data]);
            }
            // `room < data.len()`, so it fits in usize.
            if let Some(i) = memrchr(b'\n', &data[..room as usize]) {
                self.append(&[&data[..=i]])?;
                data = &data[i + 1..];
                self.rotate()?;
            } else if self.size > 0 {
                self.rotate()?;
            } else {
                // One line longer than max_bytes: it gets a file of its own, whole. The
                // next line finds no room and rotates.
                let end = memchr(b'\n', data).map_or(data.len(), |i| i + 1);
                self.append(&[&data[..end]])?;
                data = &data[end..];
            }
        }
        Ok(())
    }

    /// Writes out a partial line that grew past the buffering bound, starting a fresh file
    /// first when it cannot fit in the live one.
    fn spill_long_partial(&mut self) -> io::Result<()> {
        let limit = self.max_bytes.min(MAX_PENDING);
        if self.pending.len() as u64 <= limit {
            return Ok(());
        }
        self.resync();
        let room = self.max_bytes.saturating_sub(self.size);
        if self.size > 0 && self.pending.len() as u64 > room {
            self.rotate()?;
        }
        let pending = std::mem::take(&mut self.pending);
        // `mid_line` is set after the append, so a marker owed goes in front of the line.
        self.append(&[&pending])?;
        self.line_start = self.size - pending.len() as u64;
        self.mid_line = true;
        Ok(())
    }

    /// Writes all of `parts` at the end of the live file, preceded by the marker line of
    /// an earlier drop when one is owed.
    fn append(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        if self.loss.unmarked > 0 && !self.mid_line {
            let marker = self.loss.marker();
            self.append_raw(&[&marker])?;
            self.written -= marker.len() as u64;
            self.loss.marked();
        }
        self.append_raw(parts)
    }

    /// Writes all of `parts` at the end of the live file, with as few syscalls as the
    /// kernel allows (one in the common case). On failure, what was written of an
    /// unfinished line is cut off again, so the file still ends with a whole line.
    fn append_raw(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let start = self.size;
        let mut slices: Vec<IoSlice<'_>> = parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| IoSlice::new(p))
            .collect();
        let mut slices = &mut slices[..];
        self.touched |= !slices.is_empty();
        while !slices.is_empty() {
            let error = match self.file.write_vectored(slices) {
                Ok(0) => io::ErrorKind::WriteZero.into(),
                Ok(n) => {
                    self.size += n as u64;
                    self.written += n as u64;
                    IoSlice::advance_slices(&mut slices, n);
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => e,
            };
            self.cut_back(start, parts);
            return Err(error);
        }
        Ok(())
    }

    /// After a failed write that began at `start`: truncates the file to its last whole
    /// line (the start of a spilled long line, or the last newline written), so a partial
    /// line never stays in it.
    fn cut_back(&mut self, start: u64, parts: &[&[u8]]) {
        let cut = self.resync();
        let start = start.saturating_sub(cut);
        let boundary = if self.mid_line {
            self.line_start
        } else {
            let done = (self.size - start) as usize;
            start + last_newline_within(parts, done).map_or(0, |i| i as u64 + 1)
        };
        self.mid_line = false;
        if boundary >= self.size {
            return;
        }
        match self.file.set_len(boundary) {
            Ok(()) => {
                self.written = self.written.saturating_sub(self.size - boundary);
                self.size = boundary;
            }
            // Shrinking needs no space, so this is a failing disk: the part stays, and the
            // marker will start on a line of its own.
            Err(_) => self.loss.torn = true,
        }
    }

    /// Re-reads the live file's length when it shrank under the writer (`procward flush`
    /// truncates it while the process runs; appends still land at the true end), so the
    /// offsets kept here move down with it. Only where they matter: before a rotation and
    /// before a cut-back, never per write. Returns by how much they moved.
    fn resync(&mut self) -> u64 {
        let Ok(actual) = self.file.metadata().map(|m| m.len()) else {
            return 0;
        };
        if actual >= self.size {
            return 0;
        }
        let cut = self.size - actual;
        self.size = actual;
        self.line_start = self.line_start.saturating_sub(cut);
        cut
    }

    /// `path` becomes `path.1`, `path.1` becomes `path.2`, ...; files past the kept count
    /// are deleted; a new empty `path` is opened.
    fn rotate(&mut self) -> io::Result<()> {
        let keep = self.max_files - 1;
        if keep == 0 {
            remove_if_exists(&self.path)?;
        } else {
            // Leftovers from a larger max_files setting, then the oldest kept one is
            // replaced by the rename below.
            let mut k = keep + 1;
            while remove_if_exists(&rotated_path(&self.path, k))? {
                k += 1;
            }
            for k in (1..keep).rev() {
                rename_if_exists(
                    &rotated_path(&self.path, k),
                    &rotated_path(&self.path, k + 1),
                )?;
            }
            rename_if_exists(&self.path, &rotated_path(&self.path, 1))?;
        }
        self.file = open_log(&self.path)?;
        self.size = self.file.metadata()?.len();
        Ok(())
    }
}

impl Drop for RotatingWriter {
    /// Best effort for a writer dropped without [`RotatingWriter::finish`]: the pending
    /// partial line is still written (without the fsync).
    fn drop(&mut self) {
        let _ = self.terminate_line();
    }
}

fn open_log(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)
}

/// Removes `path`; `Ok(false)` if it did not exist.
fn remove_if_exists(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
