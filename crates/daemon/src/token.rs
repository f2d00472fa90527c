//! The bearer token that TCP clients must present.
//!
//! It is made on first need (first daemon start with a TCP listener, or `procward
//! token`), kept in `$PROCWARD_HOME/token` with mode 0600, and replaced atomically by a
//! rotation. The daemon checks each call against the file as it is now (a `stat` per
//! call, re-read only when the file changed), so a rotation takes effect at once, without
//! a restart, and the old token stops working.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Random bytes in a token (hex-encoded: 64 characters).
const TOKEN_BYTES: usize = 32;

/// Reads the token at `path`, making one when there is none.
pub fn load_or_create(path: &Path) -> io::Result<String> {
    match read(path) {
        Ok(token) => Ok(token),
        Err(e) if e.kind() == io::ErrorKind::NotFound => rotate(path),
        Err(e) => Err(e),
    }
}

/// Replaces the token at `path` with a new random one and returns it.
pub fn rotate(path: &Path) -> io::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(io::Error::other)?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    crate::home::write_private(path, format!("{token}\n").as_bytes())?;
    Ok(token)
}

fn read(path: &Path) -> io::Result<String> {
    let token = fs::read_to_string(path)?.trim().to_owned();
    if token.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is empty (`procward token --rotate` makes a new one)",
                path.display()
            ),
        ));
    }
    Ok(token)
}

/// The identity of a token file's current version.
type Version = (u64, u64, i64, i64);

fn version(path: &Path) -> io::Result<Version> {
    let meta = fs::metadata(path)?;
    Ok((meta.dev(), meta.ino(), meta.mtime(), meta.mtime_nsec()))
}

/// Checks presented tokens against the token file; cheap to clone.
#[derive(Debug, Clone)]
pub struct TokenCheck {
    path: PathBuf,
    cached: Arc<Mutex<Option<(Version, String)>>>,
}

impl TokenCheck {
    /// Checks against the token at `path` (which must exist: see [`load_or_create`]).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            cached: Arc::new(Mutex::new(None)),
        }
    }

    /// Whether `presented` is the current token. Compared in constant time; a missing or
    /// unreadable token file admits no one.
    pub fn admits(&self, presented: &str) -> bool {
        let Ok(current) = version(&self.path) else {
            return false;
        };
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if cached.as_ref().is_none_or(|(v, _)| *v != current) {
            match read(&self.path) {
                Ok(token) => *cached = Some((current, token)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the token file");
                    *cached = None;
                    return false;
                }
            }
        }
        cached.as_ref().is_some_and(|(_, token)| {
            constant_time_eq::constant_time_eq(token.as_bytes(), presented.as_bytes())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_private_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), TOKEN_BYTES * 2);
        assert_eq!(load_or_create(&path).unwrap(), first);
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);

        let check = TokenCheck::new(path.clone());
        assert!(check.admits(&first));
        assert!(!check.admits(""));
        assert!(!check.admits(&first[..10]));

        let second = rotate(&path).unwrap();
        assert_ne!(first, second);
        assert!(check.admits(&second));
        assert!(!check.admits(&first), "the old token must stop working");
        fs::remove_file(&path).unwrap();
        assert!(!check.admits(&second), "no file admits no one");
    }
}
