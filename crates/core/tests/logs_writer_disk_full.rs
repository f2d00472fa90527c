//! RotatingWriter on a real full disk (a small tmpfs, root only): whole lines only, the
//! gap marked once with its exact size, rotation still working afterwards.

#[path = "../../cli/tests/common/tmpfs.rs"]
mod tmpfs;

use std::fs;
use std::path::Path;

use procward_core::logs::writer::{RotatingWriter, rotated_path};
use tmpfs::{Tmpfs, check_numbered_with_markers};

/// Writes lines `from..to` (`line 00000001`) in chunks of `chunk` bytes (ending mid-line, as pipes do).
fn write_lines(writer: &mut RotatingWriter, from: u64, to: u64, chunk: usize) {
    let data: String = (from..to).map(|i| format!("line {i:08}\n")).collect();
    for piece in data.as_bytes().chunks(chunk) {
        let _ = writer.write(piece);
    }
}

/// Every line of the log, oldest file first.
fn log_lines(path: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for k in (0..10).rev() {
        if let Ok(bytes) = fs::read(rotated_path(path, k)) {
            assert!(
                bytes.is_empty() || bytes.ends_with(b"\n"),
                "file {k} ends mid-line"
            );
            let text = String::from_utf8(bytes).expect("whole UTF-8 lines");
            lines.extend(text.lines().map(str::to_owned));
        }
    }
    lines
}

#[test]
fn a_full_disk_drops_whole_lines_marks_the_gap_and_rotation_goes_on() {
    if !tmpfs::root_or_skip("a_full_disk_drops_whole_lines") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&base.path().join("disk"), "256k");
    let path = disk.dir().join("out.log");
    let mut writer = RotatingWriter::open(&path, 32 * 1024, 4).unwrap();
    // 14,000 bytes: the last page is not filled to a line boundary, so the first write
    // refused stops mid-line.
    write_lines(&mut writer, 1, 1001, 1000);
    let filler = disk.fill("filler");
    // 21 bytes a chunk: every chunk ends mid-line, so dropped starts must be skipped whole.
    write_lines(&mut writer, 1001, 5001, 21);
    assert_eq!(writer.failing(), Some("no space left on device"));
    let during = writer.dropped_bytes();
    assert!(during > 0, "nothing was dropped on a full disk");
    let lines = log_lines(&path);
    assert!(
        !lines.iter().any(|l| l.starts_with("[procward")),
        "a marker while the disk is still full"
    );
    check_numbered_with_markers(&lines);

    assert!(!writer.retry_marker(), "the disk is still full");
    fs::remove_file(filler).unwrap();
    // A quiet stream gets its marker without waiting for more output.
    assert!(writer.retry_marker());
    assert_eq!(writer.failing(), None);
    let last = log_lines(&path).pop().unwrap();
    assert!(last.starts_with("[procward: "), "{last}");
    write_lines(&mut writer, 5001, 10001, 333);
    assert_eq!(writer.failing(), None);
    let dropped = writer.dropped_bytes();
    writer.finish().unwrap();

    let lines = log_lines(&path);
    let (markers, gaps) = check_numbered_with_markers(&lines);
    assert!(markers >= 1, "no marker line");
    assert_eq!(gaps, dropped, "the markers count every dropped byte");
    assert!(dropped >= during);
    assert_eq!(lines.last().map(String::as_str), Some("line 00010000"));
    assert!(
        rotated_path(&path, 2).exists(),
        "rotation went on after the outage"
    );
}

#[test]
fn a_long_line_begun_before_the_disk_filled_is_cut_off_whole() {
    if !tmpfs::root_or_skip("a_long_line_begun_before_the_disk_filled") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&base.path().join("disk"), "4m");
    let path = disk.dir().join("out.log");
    let mut writer = RotatingWriter::open(&path, 64 << 20, 2).unwrap();
    writer.write(b"line 00000001\n").unwrap();
    // Over the 1 MiB buffering bound: this line is spilled to the file before its end.
    writer.write(&vec![b'x'; 1_200_000]).unwrap();
    let filler = disk.fill("filler");
    let _ = writer.write(&vec![b'x'; 600_000]);
    let _ = writer.write(b"xxx\nline 00000003\n");
    assert!(fs::read(&path).unwrap().ends_with(b"\n"));
    fs::remove_file(filler).unwrap();
    writer.write(b"line 00000004\n").unwrap();
    writer.finish().unwrap();
    let lines = log_lines(&path);
    // Cutting the long line off freed its space, so line 3 already found room.
    let marker = "[procward: 1800004 bytes dropped: no space left on device]";
    assert_eq!(
        lines,
        ["line 00000001", marker, "line 00000003", "line 00000004"]
    );
}
