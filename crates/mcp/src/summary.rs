//! Keeping answers small enough for an assistant's context: sizes in words, log text cut
//! to a byte budget from the oldest end.

use procward_proto::v1::LogStream;

/// `1536` → `"1.5 KiB"`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// What marks a stderr line in a text answer.
pub const STDERR_TAG: &str = "err| ";

/// Keeps the newest `(stream, text)` lines whose text (with its newline and, for stderr,
/// [`STDERR_TAG`]) fits in `budget` bytes; says whether any were dropped. A single line
/// longer than the budget keeps its newest part.
pub fn cap_lines(
    lines: Vec<(LogStream, String)>,
    budget: usize,
) -> (Vec<(LogStream, String)>, bool) {
    let mut used = 0;
    let mut kept = Vec::new();
    let mut cut = false;
    for (stream, text) in lines.into_iter().rev() {
        let tag = if stream == LogStream::Stderr {
            STDERR_TAG.len()
        } else {
            0
        };
        let cost = text.len() + 1 + tag;
        if used + cost > budget {
            cut = true;
            if kept.is_empty() {
                let mut start = text.len().saturating_sub(budget.saturating_sub(4 + tag));
                while !text.is_char_boundary(start) {
                    start += 1;
                }
                kept.push((stream, format!("…{}", &text[start..])));
            }
            break;
        }
        used += cost;
        kept.push((stream, text));
    }
    kept.reverse();
    (kept, cut)
}

/// A percentage rounded to one decimal, as `f64` (an `f32` widened after rounding would
/// print as 0.30000001192092896).
pub fn tenths(value: f32) -> f64 {
    (f64::from(value) * 10.0).round() / 10.0
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, len: usize) -> Vec<(LogStream, String)> {
        (0..n)
            .map(|i| (LogStream::Stdout, format!("{i:0len$}")))
            .collect()
    }

    #[test]
    fn keeps_the_newest_lines_within_budget() {
        let (kept, cut) = cap_lines(lines(10, 9), 1000);
        assert_eq!((kept.len(), cut), (10, false));
        let (kept, cut) = cap_lines(lines(100, 99), 1000);
        assert!(cut);
        assert_eq!(kept.len(), 10);
        assert_eq!(kept.last().unwrap().1, format!("{:099}", 99));
        let (kept, cut) = cap_lines(vec![(LogStream::Stderr, "é".repeat(5000))], 100);
        assert!(cut && kept[0].1.len() <= 100 && kept[0].1.starts_with('…'));
    }

    #[test]
    fn words_for_sizes_and_clipped_text() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(tenths(0.3).to_string(), "0.3");
    }
}
