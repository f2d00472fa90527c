//! tail: the last N lines across the live file and its rotated files, newest last.

use std::fs;

use procward_core::logs::tail::{tail, tail_lossy};
use procward_core::logs::writer::{RotatingWriter, rotated_path};

fn text(lines: &[Vec<u8>]) -> Vec<String> {
    lines
        .iter()
        .map(|l| String::from_utf8(l.clone()).unwrap())
        .collect()
}

#[test]
fn reads_across_rotated_files_newest_last() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut writer = RotatingWriter::open(&path, 64, 50).unwrap();
    for i in 1..=200 {
        writer.write(format!("line {i}\n").as_bytes()).unwrap();
    }
    writer.finish().unwrap();
    assert!(
        rotated_path(&path, 10).exists(),
        "the log rotated many times"
    );
    let want: Vec<String> = (151..=200).map(|i| format!("line {i}")).collect();
    assert_eq!(text(&tail(&path, 50).unwrap()), want);
    // Asking for more than exists returns everything kept, oldest first.
    let all = text(&tail(&path, 100_000).unwrap());
    assert_eq!(all.last().unwrap(), "line 200");
    let first: usize = all[0].trim_start_matches("line ").parse().unwrap();
    let want: Vec<String> = (first..=200).map(|i| format!("line {i}")).collect();
    assert_eq!(all, want);
}

#[test]
fn missing_files_and_zero_lines_give_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never-written.log");
    assert!(tail(&path, 10).unwrap().is_empty());
    fs::write(&path, b"a\nb\n").unwrap();
    assert!(tail(&path, 0).unwrap().is_empty());
    assert_eq!(text(&tail(&path, 1).unwrap()), ["b"]);
}

#[test]
fn live_file_missing_mid_rotation_still_shows_the_rotated_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    fs::write(rotated_path(&path, 1), b"x\ny\n").unwrap();
    fs::write(rotated_path(&path, 2), b"w\n").unwrap();
    assert_eq!(text(&tail(&path, 5).unwrap()), ["w", "x", "y"]);
}

#[test]
fn a_partial_last_line_counts_and_invalid_utf8_is_replaced_in_lossy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    fs::write(&path, b"ok\nbad \xff\nprompt> ").unwrap();
    assert_eq!(
        tail(&path, 2).unwrap(),
        [b"bad \xff".to_vec(), b"prompt> ".to_vec()]
    );
    assert_eq!(
        tail_lossy(&path, 3).unwrap(),
        ["ok", "bad \u{fffd}", "prompt> "]
    );
}
