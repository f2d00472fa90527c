//! A small tmpfs mounted for one test, to run a real disk full (root only; `mount` works
//! inside the PID and mount namespace of `unshare -pf --mount-proc`).
//!
//! Shared by the CLI's disk-full tests and the core's writer test (included by path).

#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Whether the test runs as root (mount needs it); prints `skipped: ...` when not.
pub fn root_or_skip(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        println!("skipped: {test} needs root to mount a tmpfs");
    }
    root
}

/// A mounted tmpfs, unmounted (retrying while busy, lazily at last) when dropped.
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=`, e.g. `2m`) on `dir`, creating it.
    pub fn mount(dir: &Path, size: &str) -> Self {
        fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount tmpfs on {}", dir.display());
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The mount point.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Fills every free byte with `name` (written until ENOSPC, then once more to take
    /// what a writer freed meanwhile); returns its path.
    pub fn fill(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        for _ in 0..2 {
            fill_until_full(&mut file);
            std::thread::sleep(Duration::from_millis(50));
        }
        path
    }

    /// Whether the file system has no free block left.
    pub fn is_full(&self) -> bool {
        rustix::fs::statvfs(&self.dir).is_ok_and(|s| s.f_bavail == 0)
    }
}

/// Appends to `file` until the disk says no.
pub fn fill_until_full(file: &mut File) {
    let chunk = vec![b'f'; 4096];
    loop {
        match file.write(&chunk) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(28), "filler stopped by {e}");
                return;
            }
        }
    }
}

/// Checks lines `line 00000001` (14 bytes each) and marker lines: numbers go up by one,
/// except right after a marker, whose count is exactly the bytes of the lines missing
/// there; every line is whole. Returns (markers, bytes dropped).
pub fn check_numbered_with_markers(lines: &[String]) -> (u64, u64) {
    let (mut markers, mut dropped, mut last, mut owed) = (0, 0, None::<u64>, None::<u64>);
    for line in lines {
        if let Some(count) = line
            .strip_prefix("[procward: ")
            .and_then(|rest| rest.strip_suffix(" bytes dropped: no space left on device]"))
        {
            assert!(owed.is_none(), "two markers in a row");
            owed = Some(count.parse().expect("marker count"));
            markers += 1;
            continue;
        }
        let number: u64 = line
            .strip_prefix("line ")
            .filter(|n| n.len() == 8)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not a whole line: {line:?}"));
        if let Some(last) = last {
            let missing = (number - last - 1) * 14;
            assert_eq!(
                missing,
                owed.unwrap_or(0),
                "gap before {line} vs its marker"
            );
            dropped += missing;
        }
        (last, owed) = (Some(number), None);
    }
    assert!(owed.is_none(), "a marker after the last line");
    (markers, dropped)
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        for _ in 0..50 {
            let unmounted = Command::new("umount").arg(&self.dir).status();
            if unmounted.is_ok_and(|s| s.success()) {
                let _ = fs::remove_dir(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
