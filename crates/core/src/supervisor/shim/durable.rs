//! The shim's files written to survive a crash or a power loss: the exit record, staged
//! beside its final name, flushed and renamed into place (in space reserved at start, so
//! a full disk cannot lose it), and the launch file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Crash-safe replacement of a file, first half: a temporary file beside `path`, written
/// and fsynced. With [`commit`], a reader sees the old content or the new, never a torn
/// file, even after a power loss.
pub(super) fn stage(path: &Path, bytes: &[u8], mode: u32) -> io::Result<PathBuf> {
    let (tmp, mut file) = create_staging(path, mode)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(tmp)
}

/// The temporary file beside `path` for a crash-safe replacement, created empty.
fn create_staging(path: &Path, mode: u32) -> io::Result<(PathBuf, File)> {
    fs::create_dir_all(folder_of(path))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = folder_of(path).join(format!(".{name}.{}.tmp", std::process::id()));
    // A stale temporary file (same pid, earlier boot) might have looser permissions.
    let _ = fs::remove_file(&tmp);
    let mut options = OpenOptions::new();
    let file = options.write(true).create_new(true).mode(mode).open(&tmp)?;
    Ok((tmp, file))
}

/// A staging file created at its final size before it is needed, so that the [`stage`] at
/// the end needs no new disk block: a shim must record the exit even on a full disk.
pub(super) struct Reserved {
    tmp: PathBuf,
    file: File,
}

/// What a [`Reserved`] file holds: more than any [`ExitRecord`] as JSON.
const RESERVED_SIZE: usize = 256;

impl Reserved {
    /// Reserves the staging file of `path` (filled with spaces).
    pub(super) fn new(path: &Path, mode: u32) -> io::Result<Self> {
        let (tmp, mut file) = create_staging(path, mode)?;
        if let Err(e) = file.write_all(&[b' '; RESERVED_SIZE]) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(Self { tmp, file })
    }

    /// [`stage`] into the reserved bytes: `bytes` padded with spaces (JSON readers skip
    /// them), written over the reservation and flushed (`fdatasync`).
    pub(super) fn stage(self, bytes: &[u8]) -> io::Result<PathBuf> {
        if bytes.len() > RESERVED_SIZE {
            return Err(io::Error::other("record larger than its reservation"));
        }
        let mut padded = bytes.to_vec();
        padded.resize(RESERVED_SIZE, b' ');
        self.file.write_all_at(&padded, 0)?;
        // Same size as reserved, blocks already allocated: only the data needs flushing.
        self.file.sync_data()?;
        Ok(self.tmp)
    }
}

/// Second half of a crash-safe replacement ([`stage`]): the rename, then an fsync of the
/// folder so the rename itself survives a power loss.
pub(super) fn commit(tmp: &Path, path: &Path) -> io::Result<()> {
    if let Err(e) = fs::rename(tmp, path) {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    File::open(folder_of(path))?.sync_all()
}

/// Writes `bytes` to `path` (mode 0600, replacing it), without fsync.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::create_dir_all(folder_of(path))?;
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

/// The folder holding `path` (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}
