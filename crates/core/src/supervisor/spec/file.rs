//! Reading the small text files a user points procward at (procward.toml, the CLI config,
//! env files) without trusting them to be small, or files at all.
//!
//! Why: `procward up /dev/zero` used to read forever, and a FIFO blocks `open` until a
//! writer appears. Every such read goes through [`read_config_file`], which opens without
//! blocking, refuses anything but a regular file, and stops after [`MAX_CONFIG_BYTES`].

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Largest config, procward.toml or env file procward reads: 1 MiB, far more than any
/// hand-written file, small enough that reading it is instant.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads a regular UTF-8 file of at most [`MAX_CONFIG_BYTES`]. Devices, FIFOs, sockets and
/// folders are refused (`InvalidInput`) without reading or blocking on them, and a larger
/// file is refused (`InvalidData`); the error says which and should be shown with the path.
pub fn read_config_file(path: &Path) -> io::Result<String> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a folder"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a special file"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file"),
        ));
    }
    read_limited(file)
}

fn read_limited(file: File) -> io::Result<String> {
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than {} KiB", MAX_CONFIG_BYTES / 1024),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_small_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.toml");
        std::fs::write(&ok, "a = 1\n").unwrap();
        assert_eq!(read_config_file(&ok).unwrap(), "a = 1\n");

        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_CONFIG_BYTES as usize + 1]).unwrap();
        let e = read_config_file(&big).unwrap_err();
        assert!(e.to_string().contains("larger than 1024 KiB"), "{e}");
        let exact = dir.path().join("exact.toml");
        std::fs::write(&exact, vec![b'#'; MAX_CONFIG_BYTES as usize]).unwrap();
        assert!(read_config_file(&exact).is_ok());

        for (path, what) in [
            (Path::new("/dev/zero"), "character device"),
            (dir.path(), "folder"),
        ] {
            let e = read_config_file(path).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            assert!(e.to_string().contains(what), "{e}");
        }
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let e = read_config_file(&fifo).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");

        let binary = dir.path().join("bin");
        std::fs::write(&binary, b"ok\xff").unwrap();
        assert!(
            read_config_file(&binary)
                .unwrap_err()
                .to_string()
                .contains("offset 2")
        );
        assert_eq!(
            read_config_file(&dir.path().join("missing"))
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }
}
