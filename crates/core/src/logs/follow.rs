//! Following a log as it grows, across rotations (`logs --follow`).
//!
//! Why polling and inode checks rather than inotify: the core is synchronous and
//! runtime-free, the caller already has a timer (it streams to clients), and a poll that
//! finds nothing new costs one `pread` and one `stat`. Rotation is detected by the live
//! path naming a different file than the one open (or the open file shrinking, for
//! truncating rotators). The old file is then read to its end before moving on, and the
//! next file is found by where the old one was renamed to (`path.k` is followed by
//! `path.(k-1)`), so no line is lost or repeated even if several rotations happened
//! between two polls, as long as the follower is not more than `max_files - 1` rotations
//! behind (older files are deleted by then).

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use memchr::memchr_iter;

use super::writer::rotated_path;

/// Most bytes read by one [`Follower::read_new`] call, so a large backlog is handed out in
/// bounded batches instead of one huge allocation; the next call continues.
const MAX_BATCH: usize = 4 << 20;
const READ_SIZE: usize = 64 * 1024;

/// Where following begins in the file that exists when the follower is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowStart {
    /// From the beginning of the live file (its existing lines are returned first).
    Start,
    /// From its current end: only lines written from now on (`tail -f` after `--lines`).
    End,
}

/// Identity of a file across renames: device and inode.
type FileId = (u64, u64);

fn id_of(meta: &fs::Metadata) -> FileId {
    (meta.dev(), meta.ino())
}

/// Reads the complete lines appended to a log since the last call, across rotations.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    /// The file being read, its identity and the offset read so far.
    current: Option<(File, FileId)>,
    pos: u64,
    /// Bytes of a line whose newline has not been written yet.
    partial: Vec<u8>,
    buf: Vec<u8>,
}

impl Follower {
    /// Starts following `path`. A missing file is not an error: it is picked up from its
    /// start once it is created.
    pub fn open(path: &Path, from: FollowStart) -> io::Result<Self> {
        let mut follower = Self {
            path: path.to_path_buf(),
            current: None,
            pos: 0,
            partial: Vec::new(),
            buf: vec![0; READ_SIZE],
        };
        // The live file may be missing for a moment mid-rotation: then the file just
        // rotated to `path.1` is the live one.
        let opened = follower.open_rotated(0)? || follower.open_rotated(1)?;
        if opened && from == FollowStart::End {
            let (file, _) = follower.current.as_ref().expect("just opened");
            follower.pos = file.metadata()?.len();
        }
        Ok(follower)
    }

    /// The complete lines (without newlines) written since the last call; empty when there
    /// is nothing new. Never blocks. A backlog over a few megabytes is returned over
    /// several calls.
    pub fn read_new(&mut self) -> io::Result<Vec<Vec<u8>>> {
        let mut lines = Vec::new();
        let mut budget = MAX_BATCH;
        loop {
            if self.current.is_none() && !self.open_oldest()? {
                return Ok(lines);
            }
            self.drain(&mut lines, &mut budget)?;
            if budget == 0 {
                return Ok(lines);
            }
            let (file, id) = self.current.as_ref().expect("opened above");
            let id = *id;
            match fs::metadata(&self.path) {
                // Between two renames of a rotation, or the log was deleted: keep reading
                // what is open.
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(lines),
                Err(e) => return Err(e),
                Ok(live) if id_of(&live) == id => {
                    if file.metadata()?.len() < self.pos {
                        // Truncated in place: start over from its beginning.
                        self.pos = 0;
                        self.partial.clear();
                        continue;
                    }
                    return Ok(lines);
                }
                Ok(_) => {
                    // Rotated. Lines written to the old file before the rename may have
                    // landed after the drain above: read it to its true end first.
                    self.drain(&mut lines, &mut budget)?;
                    if budget == 0 {
                        return Ok(lines);
                    }
                    if !self.partial.is_empty() {
                        // The old file will not grow any more: its last line is complete.
                        lines.push(std::mem::take(&mut self.partial));
                    }
                    self.switch_to_successor(id)?;
                }
            }
        }
    }

    /// [`Follower::read_new`] with each line decoded as UTF-8, invalid sequences replaced.
    pub fn read_new_lossy(&mut self) -> io::Result<Vec<String>> {
        Ok(self
            .read_new()?
            .into_iter()
            .map(|line| String::from_utf8_lossy(&line).into_owned())
            .collect())
    }

    /// For a log that did not exist when following began: everything in it is new, so
    /// reading starts at its oldest file (it may have rotated before this poll).
    /// `Ok(false)` if there is no file yet.
    fn open_oldest(&mut self) -> io::Result<bool> {
        match self.locate(None)? {
            (_, Some(oldest)) => self.open_rotated(oldest),
            (_, None) => Ok(false),
        }
    }

    /// Reads the open file from `pos` to its end (or until the budget is spent), splitting
    /// complete lines into `lines`.
    fn drain(&mut self, lines: &mut Vec<Vec<u8>>, budget: &mut usize) -> io::Result<()> {
        let Some((file, _)) = &self.current else {
            return Ok(());
        };
        while *budget > 0 {
            let want = READ_SIZE.min(*budget);
            let n = match file.read_at(&mut self.buf[..want], self.pos) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            self.pos += n as u64;
            *budget -= n;
            let data = &self.buf[..n];
            let mut start = 0;
            for i in memchr_iter(b'\n', data) {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&data[start..i]);
                lines.push(line);
                start = i + 1;
            }
            self.partial.extend_from_slice(&data[start..]);
        }
        Ok(())
    }

    /// Moves from the rotated-away file `old` to the file written after it: the one
    /// renamed into the slot just below where `old` now sits.
    fn switch_to_successor(&mut self, old: FileId) -> io::Result<()> {
        for _ in 0..20 {
            let (found, oldest) = self.locate(Some(old))?;
            let Some(k) = found else {
                if let Some(oldest) = oldest {
                    // `old` was deleted (we fell behind, or nothing is kept): every file
                    // still there is newer, so continue with the oldest of them.
                    if self.open_rotated(oldest)? {
                        return Ok(());
                    }
                }
                std::thread::sleep(Duration::from_millis(1));
                continue;
            };
            // Open the successor, then check `old` has not moved meanwhile: a rotation
            // renames higher slots first, so if `old` is still at `k`, the file opened at
            // `k - 1` was the right one.
            let opened = self.open_rotated(k - 1)?;
            let still_there = fs::metadata(rotated_path(&self.path, k))
                .map(|m| id_of(&m) == old)
                .unwrap_or(false);
            if opened && still_there {
                return Ok(());
            }
            self.current = None;
            std::thread::sleep(Duration::from_millis(1));
        }
        // Could not pin it down (rotations racing the search): fall back to the live file.
        self.current = None;
        self.open_rotated(0).map(drop)
    }

    /// Finds the slot `k >= 1` holding `old`, and the oldest slot there is (the live file
    /// counts as slot 0). During a rotation one slot may be empty for a moment, so the
    /// search stops at the second gap.
    fn locate(&self, old: Option<FileId>) -> io::Result<(Option<u32>, Option<u32>)> {
        let mut oldest = None;
        let mut gaps = 0;
        let mut k = 0;
        while gaps < 2 {
            match fs::metadata(rotated_path(&self.path, k)) {
                Ok(meta) => {
                    gaps = 0;
                    if k > 0 && Some(id_of(&meta)) == old {
                        return Ok((Some(k), oldest));
                    }
                    oldest = Some(k);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => gaps += 1,
                Err(e) => return Err(e),
            }
            k += 1;
        }
        Ok((None, oldest))
    }

    /// Opens slot `k` from its start; `Ok(false)` if it is not there.
    fn open_rotated(&mut self, k: u32) -> io::Result<bool> {
        match File::open(rotated_path(&self.path, k)) {
            Ok(file) => {
                let id = id_of(&file.metadata()?);
                self.current = Some((file, id));
                self.pos = 0;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}
