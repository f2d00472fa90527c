//! Follower: new complete lines only, from the start or the end, across rotations and
//! truncation, and for a file that does not exist yet.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use procward_core::logs::follow::{FollowStart, Follower};
use procward_core::logs::writer::{RotatingWriter, rotated_path};

fn text(lines: Vec<Vec<u8>>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| String::from_utf8(l).unwrap())
        .collect()
}

#[test]
fn start_and_end_and_partial_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    fs::write(&path, b"old 1\nold 2\n").unwrap();
    let mut from_start = Follower::open(&path, FollowStart::Start).unwrap();
    let mut from_end = Follower::open(&path, FollowStart::End).unwrap();
    assert_eq!(text(from_start.read_new().unwrap()), ["old 1", "old 2"]);
    assert!(from_end.read_new().unwrap().is_empty());

    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(b"new 1\nhal").unwrap();
    assert_eq!(text(from_end.read_new().unwrap()), ["new 1"]);
    file.write_all(b"f\n").unwrap();
    assert_eq!(text(from_end.read_new().unwrap()), ["half"]);
    assert_eq!(text(from_start.read_new().unwrap()), ["new 1", "half"]);
    assert!(from_start.read_new().unwrap().is_empty());
}

#[test]
fn a_file_created_later_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later/out.log");
    let mut follower = Follower::open(&path, FollowStart::End).unwrap();
    assert!(follower.read_new().unwrap().is_empty());
    let mut writer = RotatingWriter::open(&path, 1 << 20, 3).unwrap();
    writer.write(b"first\nsecond\n").unwrap();
    assert_eq!(text(follower.read_new().unwrap()), ["first", "second"]);
    writer.finish().unwrap();
}

#[test]
fn truncation_in_place_restarts_from_the_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    fs::write(&path, b"a long first line\n").unwrap();
    let mut follower = Follower::open(&path, FollowStart::End).unwrap();
    fs::write(&path, b"x\n").unwrap(); // same inode, shorter
    assert_eq!(text(follower.read_new().unwrap()), ["x"]);
}

#[test]
fn several_rotations_between_two_polls_lose_and_repeat_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut writer = RotatingWriter::open(&path, 30, 20).unwrap();
    let mut follower = Follower::open(&path, FollowStart::Start).unwrap();
    writer.write(b"line 0\n").unwrap();
    assert_eq!(text(follower.read_new().unwrap()), ["line 0"]);
    for i in 1..=40 {
        writer.write(format!("line {i}\n").as_bytes()).unwrap();
    }
    assert!(rotated_path(&path, 8).exists());
    let want: Vec<String> = (1..=40).map(|i| format!("line {i}")).collect();
    assert_eq!(text(follower.read_new().unwrap()), want);
    writer.finish().unwrap();
}

#[test]
fn nothing_kept_rotation_deletes_and_recreates_the_live_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut writer = RotatingWriter::open(&path, 12, 1).unwrap();
    let mut follower = Follower::open(&path, FollowStart::Start).unwrap();
    writer.write(b"aaaa\nbbbb\n").unwrap();
    assert_eq!(text(follower.read_new().unwrap()), ["aaaa", "bbbb"]);
    writer.write(b"cccc\n").unwrap();
    assert_eq!(text(follower.read_new().unwrap()), ["cccc"]);
    writer.finish().unwrap();
}

/// A writer thread rotates hundreds of times while the follower polls: every line
/// arrives exactly once, in order.
#[test]
fn follows_a_fast_rotating_writer_without_loss_or_duplicates() {
    const LINES: u64 = 300_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut follower = Follower::open(&path, FollowStart::Start).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let writer_thread = {
        let (path, done) = (path.clone(), done.clone());
        thread::spawn(move || {
            let mut writer = RotatingWriter::open(&path, 16 * 1024, 400).unwrap();
            let mut chunk = Vec::new();
            for i in 1..=LINES {
                chunk.extend_from_slice(format!("{i}\n").as_bytes());
                if chunk.len() >= 3000 {
                    // Split mid-line on purpose, like a pipe read does.
                    let (a, b) = chunk.split_at(chunk.len() / 2 + 1);
                    writer.write(a).unwrap();
                    writer.write(b).unwrap();
                    chunk.clear();
                }
            }
            writer.write(&chunk).unwrap();
            writer.finish().unwrap();
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut next = 1u64;
    loop {
        let finished = done.load(Ordering::SeqCst);
        let lines = follower.read_new().unwrap();
        for line in &lines {
            let n: u64 = std::str::from_utf8(line).unwrap().parse().unwrap();
            assert_eq!(n, next, "line out of order, lost or repeated");
            next += 1;
        }
        if finished && lines.is_empty() {
            break;
        }
        if lines.is_empty() {
            thread::sleep(Duration::from_micros(200));
        }
    }
    writer_thread.join().unwrap();
    assert_eq!(next, LINES + 1);
    assert!(
        rotated_path(&path, 50).exists(),
        "the writer rotated many times"
    );
}
