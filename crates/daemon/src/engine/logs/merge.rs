//! The past lines of a logs request when lines carry timestamps: only those at or after
//! `since`, and stdout and stderr interleaved by time (each stream's own order kept; a
//! line without a stamp goes with the stamped line before it).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use procward_core::logs::stamp::parse_stamp;
use procward_core::logs::tail::tail_lines;
use tokio::sync::mpsc;

use super::{LogLine, LogStream};

/// One stream's past lines with their time keys, oldest first: every line at or after
/// `since` when `last` is `usize::MAX`, else the last `last` of them (streamed from the
/// files either way; at most `last` held).
fn keyed(
    stream: LogStream,
    path: &Path,
    since: Option<u64>,
    last: usize,
) -> Box<dyn Iterator<Item = (u64, LogLine)> + Send> {
    let Ok(lines) = tail_lines(path, if since.is_some() { usize::MAX } else { last }) else {
        return Box::new(std::iter::empty());
    };
    let mut key = 0;
    let keyed = lines.map_while(Result::ok).filter_map(move |line| {
        let stamped = parse_stamp(&line).map(|(ms, _)| ms);
        if let Some(ms) = stamped {
            key = ms;
        }
        // Lines from before timestamps were on cannot be placed in time: not "since".
        let keep = match since {
            Some(since) => stamped.is_some_and(|ms| ms >= since),
            None => true,
        };
        keep.then_some((
            key,
            LogLine {
                stream,
                line,
                process: String::new(),
            },
        ))
    });
    if since.is_none() || last == usize::MAX {
        return Box::new(keyed);
    }
    let mut ring = VecDeque::with_capacity(last.min(4096));
    for item in keyed {
        if ring.len() == last {
            ring.pop_front();
        }
        if last > 0 {
            ring.push_back(item);
        }
    }
    Box::new(ring.into_iter())
}

/// Sends the past lines of `streams` merged by time (and filtered by `since`); false once
/// the receiver is gone.
pub(crate) fn send_merged(
    streams: &[(LogStream, PathBuf)],
    last: usize,
    since: Option<u64>,
    tx: &mpsc::Sender<LogLine>,
) -> bool {
    let mut sources: Vec<_> = streams
        .iter()
        .map(|(stream, path)| keyed(*stream, path, since, last).peekable())
        .collect();
    loop {
        // The source whose next line is oldest (the first stream wins a tie).
        let next = sources
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| s.peek().map(|(key, _)| (*key, i)))
            .min();
        let Some((_, i)) = next else {
            return true;
        };
        let (_, line) = sources[i].next().expect("peeked");
        if tx.blocking_send(line).is_err() {
            return false;
        }
    }
}

/// New lines of one follow poll, in time order across the streams (each stream's order
/// kept).
pub(crate) fn by_time(mut batch: Vec<LogLine>) -> Vec<LogLine> {
    let mut last = 0;
    let mut keyed: Vec<(u64, usize, LogLine)> = batch
        .drain(..)
        .enumerate()
        .map(|(i, line)| {
            if let Some((ms, _)) = parse_stamp(&line.line) {
                last = ms;
            }
            (last, i, line)
        })
        .collect();
    keyed.sort_by_key(|(key, i, _)| (*key, *i));
    keyed.into_iter().map(|(_, _, line)| line).collect()
}
