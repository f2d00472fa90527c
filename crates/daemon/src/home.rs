//! The daemon's state folder ([`Home`], defined in core so every client finds the same
//! socket) and how the daemon writes its private files there.

use std::fs::Permissions;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub use procward_core::home::Home;

/// Writes `bytes` to `path` atomically (a staging file, fsync, rename) with mode 0600, so
/// readers see the old content or the new, never a part, and no one else can read it.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut staging = tempfile::NamedTempFile::new_in(dir)?;
    staging
        .as_file()
        .set_permissions(Permissions::from_mode(0o600))?;
    staging.write_all(bytes)?;
    staging.as_file().sync_all()?;
    staging.persist(path).map_err(|e| e.error)?;
    Ok(())
}
