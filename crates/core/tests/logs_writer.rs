//! RotatingWriter: whole lines only, rotation at line boundaries, bounded file count,
//! nothing lost at the end of a stream.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use procward_core::logs::writer::{RotatingWriter, rotated_path};

/// Deterministic pseudo-random numbers (no rand dependency needed for chunk sizes).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % bound
    }
}

/// Every file of the log, oldest first.
fn files_of(path: &Path) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for k in (1..100).rev() {
        if let Ok(bytes) = fs::read(rotated_path(path, k)) {
            files.push(bytes);
        }
    }
    files.push(fs::read(path).unwrap_or_default());
    files
}

fn numbered_lines(count: usize) -> Vec<u8> {
    let mut data = Vec::new();
    for i in 1..=count {
        data.extend_from_slice(format!("line {i} {}\n", "x".repeat(i % 37)).as_bytes());
    }
    data
}

#[test]
fn random_chunks_come_out_as_the_same_lines_without_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/out.log");
    let data = numbered_lines(5000);
    let mut writer = RotatingWriter::open(&path, u64::MAX, 5).unwrap();
    let mut rng = Lcg(7);
    let mut rest = &data[..];
    while !rest.is_empty() {
        let n = (rng.next(300) + 1).min(rest.len());
        writer.write(&rest[..n]).unwrap();
        rest = &rest[n..];
        // Only whole lines ever reach the file.
        let on_disk = fs::read(&path).unwrap();
        assert!(on_disk.is_empty() || on_disk.ends_with(b"\n"));
    }
    writer.finish().unwrap();
    assert_eq!(fs::read(&path).unwrap(), data);
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & !0o640, 0, "mode {mode:o}");
}

#[test]
fn rotation_never_splits_a_line_and_keeps_at_most_max_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let data = numbered_lines(3000);
    let (max_bytes, max_files) = (1000u64, 4u32);
    let mut writer = RotatingWriter::open(&path, max_bytes, max_files).unwrap();
    let mut rng = Lcg(42);
    let mut rest = &data[..];
    while !rest.is_empty() {
        let n = (rng.next(5000) + 1).min(rest.len());
        writer.write(&rest[..n]).unwrap();
        rest = &rest[n..];
    }
    writer.finish().unwrap();
    let files = files_of(&path);
    assert_eq!(files.len(), max_files as usize);
    assert!(!rotated_path(&path, max_files).exists());
    for file in &files {
        assert!(
            file.len() as u64 <= max_bytes,
            "file of {} bytes",
            file.len()
        );
        assert!(file.ends_with(b"\n"));
    }
    // What is kept is exactly the newest tail of the stream, line for line.
    let kept: Vec<u8> = files.concat();
    assert!(data.ends_with(&kept));
    assert!(kept.is_empty() || data[data.len() - kept.len() - 1] == b'\n');
    // Full files: rotation happened only when the next line did not fit.
    let longest_line = data
        .split(|b| *b == b'\n')
        .map(|l| l.len() + 1)
        .max()
        .unwrap();
    for file in &files[..files.len() - 1] {
        assert!(file.len() as u64 + longest_line as u64 > max_bytes);
    }
}

#[test]
fn a_line_longer_than_max_bytes_gets_a_file_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let long = format!("{}\n", "L".repeat(250));
    let mut writer = RotatingWriter::open(&path, 100, 10).unwrap();
    writer.write(b"short 1\nshort 2\n").unwrap();
    // The long line arrives in pieces, and grows past the buffering bound on its way.
    for piece in long.as_bytes().chunks(60) {
        writer.write(piece).unwrap();
    }
    writer.write(b"short 3\n").unwrap();
    writer.finish().unwrap();
    assert_eq!(
        files_of(&path),
        vec![
            b"short 1\nshort 2\n".to_vec(),
            long.as_bytes().to_vec(),
            b"short 3\n".to_vec(),
        ]
    );
}

#[test]
fn finish_keeps_a_last_partial_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut writer = RotatingWriter::open(&path, 1 << 20, 2).unwrap();
    writer.write(b"one\ntw").unwrap();
    writer.write(b"o\nabc").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"one\ntwo\n");
    writer.finish().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"one\ntwo\nabc\n");
}

#[test]
fn invalid_utf8_is_written_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut writer = RotatingWriter::open(&path, 1 << 20, 2).unwrap();
    writer.write(b"\xff\xfe bytes \xc3\n\x00nul\n").unwrap();
    writer.finish().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"\xff\xfe bytes \xc3\n\x00nul\n");
}

#[test]
fn reopening_appends_and_never_glues_onto_a_dead_writers_partial_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    fs::write(&path, b"old 1\nold partial").unwrap();
    let mut writer = RotatingWriter::open(&path, 1 << 20, 2).unwrap();
    assert_eq!(writer.size(), 18);
    writer.write(b"new 1\n").unwrap();
    writer.finish().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"old 1\nold partial\nnew 1\n");
}

#[test]
fn max_files_one_keeps_only_the_live_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut writer = RotatingWriter::open(&path, 10, 1).unwrap();
    writer.write(b"aaaa\nbbbb\ncccc\n").unwrap();
    writer.finish().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"cccc\n");
    assert!(!rotated_path(&path, 1).exists());
}

#[test]
fn lowering_max_files_removes_the_surplus_at_the_next_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut writer = RotatingWriter::open(&path, 5, 6).unwrap();
    writer
        .write(b"1111\n2222\n3333\n4444\n5555\n6666\n")
        .unwrap();
    writer.finish().unwrap();
    assert!(rotated_path(&path, 5).exists());
    let mut writer = RotatingWriter::open(&path, 5, 3).unwrap();
    writer.write(b"7777\n").unwrap();
    writer.finish().unwrap();
    assert_eq!(
        files_of(&path),
        vec![b"5555\n".to_vec(), b"6666\n".to_vec(), b"7777\n".to_vec()]
    );
    assert!(!rotated_path(&path, 3).exists());
}

#[test]
fn a_live_file_emptied_under_the_writer_rotates_at_its_new_size() {
    // What `procward flush` does while the process runs: truncate the live file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut writer = RotatingWriter::open(&path, 100, 3).unwrap();
    writer.write(&b"a".repeat(59)).unwrap();
    writer.write(b"\n").unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    // 60 + 30 bytes would not fit in the old count; in the emptied file they do.
    writer
        .write(&[b"b".repeat(29), b"\n".to_vec()].concat())
        .unwrap();
    writer
        .write(&[b"c".repeat(59), b"\n".to_vec()].concat())
        .unwrap();
    writer
        .write(&[b"d".repeat(19), b"\n".to_vec()].concat())
        .unwrap();
    writer.finish().unwrap();
    let files = files_of(&path);
    let text: Vec<String> = files
        .iter()
        .map(|f| String::from_utf8(f.clone()).unwrap())
        .collect();
    assert_eq!(
        text,
        [
            format!("{}\n{}\n", "b".repeat(29), "c".repeat(59)),
            format!("{}\n", "d".repeat(19)),
        ],
        "no NUL bytes, whole lines, rotated at the emptied file's size"
    );
}

/// A stream that printed nothing owes no fsync at its end; one that printed anything
/// (even a partial line still pending, or the newline `open` adds after a torn last line)
/// does, so `finish` leaves its bytes on disk.
#[test]
fn only_a_written_log_needs_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quiet.log");
    let quiet = RotatingWriter::open(&path, 1 << 20, 3).unwrap();
    assert!(!quiet.needs_sync());
    quiet.finish().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"");

    let mut partial = RotatingWriter::open(&path, 1 << 20, 3).unwrap();
    partial.write(b"no newline yet").unwrap();
    assert!(
        partial.needs_sync(),
        "a pending partial line is written by finish"
    );
    partial.finish().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"no newline yet\n");

    let mut whole = RotatingWriter::open(&path, 1 << 20, 3).unwrap();
    assert!(
        !whole.needs_sync(),
        "the file ends with a newline: nothing to repair"
    );
    whole.write(b"a line\n").unwrap();
    assert!(whole.needs_sync());
    whole.finish().unwrap();

    fs::write(&path, b"torn").unwrap();
    let repaired = RotatingWriter::open(&path, 1 << 20, 3).unwrap();
    assert!(
        repaired.needs_sync(),
        "open added a newline after the torn line"
    );
    repaired.finish().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"torn\n");
}
