//! Timestamps on log lines (`logs = { timestamps = true }`, `procward start --timestamps`):
//! the shim prefixes each line with the time its first bytes were read, so the program
//! needs no change, and readers can filter by time (`logs --since`) and interleave stdout
//! with stderr.
//!
//! The prefix is RFC 3339 in UTC with milliseconds and one space, 25 bytes:
//! `2026-12-06T08:48:23.123Z hello`. A line written before timestamps were turned on has
//! no prefix; [`parse_stamp`] tells the two apart.

use std::time::SystemTime;

use chrono::{DateTime, NaiveDateTime, Utc};

/// Length of the prefix, space included.
pub const STAMP_LEN: usize = 25;

/// The prefix for `at`: `2026-12-06T08:48:23.123Z ` (UTC, milliseconds, a space).
pub fn format_stamp(at: SystemTime) -> String {
    let at: DateTime<Utc> = at.into();
    format!("{} ", at.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
}

/// The time of a stamped line (Unix milliseconds) and the line without its prefix;
/// `None` for a line without one.
pub fn parse_stamp(line: &[u8]) -> Option<(u64, &[u8])> {
    let prefix = line.get(..STAMP_LEN)?;
    if prefix[STAMP_LEN - 1] != b' ' || prefix[STAMP_LEN - 2] != b'Z' || prefix[10] != b'T' {
        return None;
    }
    let text = std::str::from_utf8(&prefix[..STAMP_LEN - 2]).ok()?;
    let at = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3f").ok()?;
    let ms = u64::try_from(at.and_utc().timestamp_millis()).ok()?;
    Some((ms, &line[STAMP_LEN..]))
}

/// Prefixes each line of a stream with the time its first bytes were read. Chunks come as
/// the pipe gives them, so a line may start in one chunk and end in a later one: the
/// stamper remembers whether the last chunk ended a line.
#[derive(Debug)]
pub struct LineStamper {
    at_line_start: bool,
    out: Vec<u8>,
}

impl Default for LineStamper {
    fn default() -> Self {
        Self {
            at_line_start: true,
            out: Vec::new(),
        }
    }
}

impl LineStamper {
    /// `chunk` with the prefix for `now` before every line that starts in it; the slice
    /// lives until the next call.
    pub fn stamp(&mut self, chunk: &[u8], now: SystemTime) -> &[u8] {
        self.out.clear();
        if chunk.is_empty() {
            return &self.out;
        }
        let prefix = format_stamp(now);
        self.out.reserve(chunk.len() + prefix.len() * 4);
        for piece in chunk.split_inclusive(|&b| b == b'\n') {
            if self.at_line_start {
                self.out.extend_from_slice(prefix.as_bytes());
            }
            self.out.extend_from_slice(piece);
            self.at_line_start = piece.last() == Some(&b'\n');
        }
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::sys::unix_ms;

    #[test]
    fn lines_split_across_chunks_get_one_prefix_at_their_start() {
        let t0 = UNIX_EPOCH + Duration::from_millis(1_765_010_903_123);
        let t1 = t0 + Duration::from_secs(2);
        let mut stamper = LineStamper::default();
        let first = stamper.stamp(b"one\ntw", t0).to_vec();
        let second = stamper.stamp(b"o\nthree\n", t1).to_vec();
        let text = String::from_utf8([first, second].concat()).unwrap();
        assert_eq!(
            text,
            "2025-12-06T08:48:23.123Z one\n2025-12-06T08:48:23.123Z two\n\
             2025-12-06T08:48:25.123Z three\n"
        );
        assert_eq!(stamper.stamp(b"", t1), b"");
    }

    #[test]
    fn stamps_parse_back_and_plain_lines_do_not() {
        let at = UNIX_EPOCH + Duration::from_millis(1_765_010_903_123);
        let line = format!("{}hello world", format_stamp(at));
        assert_eq!(format_stamp(at).len(), STAMP_LEN);
        let (ms, rest) = parse_stamp(line.as_bytes()).unwrap();
        assert_eq!((ms, rest), (1_765_010_903_123, &b"hello world"[..]));
        assert_eq!(unix_ms(at), ms);
        for plain in [
            &b"hello"[..],
            b"",
            b"2025-12-06 08:48:23.123Z x",
            b"2025-13-06T08:48:23.123Z x",
        ] {
            assert_eq!(
                parse_stamp(plain),
                None,
                "{}",
                String::from_utf8_lossy(plain)
            );
        }
    }
}
