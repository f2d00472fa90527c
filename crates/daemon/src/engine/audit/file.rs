//! The audit log on disk: `audit.log` holds one JSON object per line, newest last; when
//! it would pass [`MAX_BYTES`] it is renamed to `audit.log.1` (`.1` to `.2`, and so on;
//! [`KEPT`] rotated files are kept, the oldest deleted) before the next line is written.
//!
//! Each line is written with one `write(2)` on a file opened with `O_APPEND`, so the
//! daemon and a CLI without a daemon (`procward kill` acting alone) can both append and
//! their lines never interleave. Rotation is serialized within a process; two processes
//! rotating at the same instant can at worst rotate twice (no line is lost or split).

use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use procward_core::logs::writer::rotated_path;

use super::Entry;

/// Size at which the live file is rotated.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;
/// Rotated files kept besides the live one.
pub const KEPT: u32 = 3;

/// `audit.log` in a home folder.
pub fn audit_path(home: &Path) -> PathBuf {
    home.join("audit.log")
}

/// One audit file and its rotation.
#[derive(Debug)]
pub struct AuditFile {
    path: PathBuf,
    max_bytes: u64,
    kept: u32,
    rotating: Mutex<()>,
}

impl AuditFile {
    /// The file at `path`, rotated at [`MAX_BYTES`], keeping [`KEPT`] old files.
    pub fn new(path: PathBuf) -> Self {
        Self::with_limits(path, MAX_BYTES, KEPT)
    }

    /// The file at `path`, rotated once it reaches `max_bytes`, keeping `kept` old files.
    pub fn with_limits(path: PathBuf, max_bytes: u64, kept: u32) -> Self {
        Self {
            path,
            max_bytes,
            kept,
            rotating: Mutex::new(()),
        }
    }

    /// The live file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entry` as one line, rotating first if the file is full.
    pub fn append(&self, entry: &Entry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        let _guard = self.rotating.lock().unwrap_or_else(|e| e.into_inner());
        let size = fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if size > 0 && size + line.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        let written = file.write(&line)?;
        if written != line.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write: {written} of {} bytes", line.len()),
            ));
        }
        Ok(())
    }

    fn rotate(&self) -> io::Result<()> {
        if self.kept == 0 {
            return fs::remove_file(&self.path);
        }
        let _ = fs::remove_file(rotated_path(&self.path, self.kept));
        for k in (1..self.kept).rev() {
            let from = rotated_path(&self.path, k);
            if from.exists() {
                fs::rename(&from, rotated_path(&self.path, k + 1))?;
            }
        }
        fs::rename(&self.path, rotated_path(&self.path, 1))
    }
}

/// Every entry of `path` and its rotated files (`path.N` … `path.1`, then `path`),
/// oldest first, and how many lines could not be read as entries (skipped). Missing files
/// are no entries.
pub fn read_entries(path: &Path) -> io::Result<(Vec<Entry>, usize)> {
    let mut entries = Vec::new();
    let mut bad = 0;
    let oldest = (1..)
        .take_while(|&k| rotated_path(path, k).exists())
        .last()
        .unwrap_or(0);
    for k in (0..=oldest).rev() {
        let file = match fs::File::open(rotated_path(path, k)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for line in BufReader::new(file).split(b'\n') {
            let line = line?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Entry>(&line) {
                Ok(entry) => entries.push(entry),
                Err(_) => bad += 1,
            }
        }
    }
    Ok((entries, bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::audit::{Caller, Interface, Outcome, Peer, Target};

    fn entry(n: u32) -> Entry {
        let caller = Caller::new(Interface::Grpc, Peer::Uid(1000)).claiming(Some("cli"));
        let target = Target {
            pid: Some(n),
            ..Target::default()
        };
        Entry::now(&caller, "kill", target, Outcome::Ok, format!("line {n}"))
    }

    #[test]
    fn lines_rotate_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = audit_path(dir.path());
        let file = AuditFile::with_limits(path.clone(), 600, 2);
        for n in 0..20 {
            file.append(&entry(n)).unwrap();
        }
        assert!(rotated_path(&path, 1).exists());
        assert!(rotated_path(&path, 2).exists());
        assert!(!rotated_path(&path, 3).exists());
        assert!(fs::metadata(&path).unwrap().len() <= 600);
        let (entries, bad) = read_entries(&path).unwrap();
        assert_eq!(bad, 0);
        let pids: Vec<u32> = entries.iter().filter_map(|e| e.target.pid).collect();
        assert!(pids.len() < 20, "the oldest were rotated away: {pids:?}");
        assert_eq!(*pids.last().unwrap(), 19);
        assert!(pids.windows(2).all(|w| w[1] == w[0] + 1), "{pids:?}");
        let text = fs::read_to_string(&path).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["interface"], "grpc");
        assert_eq!(first["caller"], "uid:1000");
        assert_eq!(first["client"], "cli");
        assert_eq!(first["result"], "ok");
    }

    #[test]
    fn a_failed_write_is_counted_not_raised() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be: every append fails.
        let path = audit_path(dir.path());
        fs::create_dir(&path).unwrap();
        let audit = crate::engine::audit::Audit::open(path);
        audit.record(
            &Caller::daemon(Interface::Limits),
            "limit-stop",
            Target::name("web"),
            Outcome::Ok,
            "over its memory limit",
        );
        assert_eq!(audit.failures(), 1);
    }
}
