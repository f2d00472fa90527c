//! What a [`RotatingWriter`](super::RotatingWriter) could not store: output dropped while
//! the disk was full (or over quota, or failing), and the one marker line that says so.
//!
//! Why drop rather than wait: the writer sits between a process's pipe and the disk, and a
//! writer that blocks until space returns blocks the process once the pipe fills. Dropping
//! whole lines keeps the process running and the log readable; the marker tells readers
//! where the gap is and how big it was.

use std::io;

use memchr::memrchr;

/// Output lost to write errors, and the outage in progress.
#[derive(Debug, Default)]
pub(super) struct Loss {
    /// Bytes dropped since the last marker line: the N of the next one.
    pub unmarked: u64,
    /// Every byte dropped since the writer was opened.
    pub total: u64,
    /// Why the current outage began; `None` while no drop is waiting for its marker.
    pub reason: Option<String>,
    /// The beginning of the current line was dropped: the rest of it is dropped too, up to
    /// its newline, so no line is ever stored in part.
    pub skipping: bool,
    /// A partial line could not be cut off the file (the truncate failed too): the marker
    /// starts with a newline so that it never glues onto it.
    pub torn: bool,
}

impl Loss {
    /// Counts `bytes` as dropped because of `error` (or of the outage already going on).
    pub fn drop_bytes(&mut self, bytes: u64, error: Option<&io::Error>) {
        if bytes == 0 {
            return;
        }
        self.unmarked += bytes;
        self.total += bytes;
        if self.reason.is_none() {
            self.reason = Some(error.map_or_else(|| "write error".to_owned(), reason));
        }
    }

    /// The marker line for the drops since the last one:
    /// `[procward: N bytes dropped: no space left on device]`.
    pub fn marker(&self) -> Vec<u8> {
        let reason = self.reason.as_deref().unwrap_or("write error");
        let newline = if self.torn { "\n" } else { "" };
        format!(
            "{newline}[procward: {} bytes dropped: {reason}]\n",
            self.unmarked
        )
        .into_bytes()
    }

    /// The marker is in the file: the outage is over.
    pub fn marked(&mut self) {
        self.unmarked = 0;
        self.reason = None;
        self.torn = false;
    }
}

/// The OS's message for `e` in lower case without the errno suffix: `no space left on
/// device` (ENOSPC), `disk quota exceeded` (EDQUOT), `input/output error` (EIO).
pub fn reason(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(end) => &text[..end],
        None => &text,
    };
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// The offset of the last newline among the first `done` bytes of `parts` taken as one.
pub fn last_newline_within(parts: &[&[u8]], done: usize) -> Option<usize> {
    let (mut offset, mut found) = (0, None);
    for part in parts {
        let take = part.len().min(done - offset);
        if let Some(i) = memrchr(b'\n', &part[..take]) {
            found = Some(offset + i);
        }
        offset += take;
        if offset == done {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_like_the_issue_says() {
        let enospc = io::Error::from_raw_os_error(28);
        assert_eq!(reason(&enospc), "no space left on device");
        let edquot = io::Error::from_raw_os_error(122);
        assert_eq!(reason(&edquot), "disk quota exceeded");
        let mut loss = Loss::default();
        loss.drop_bytes(12, Some(&enospc));
        loss.drop_bytes(30, None);
        assert_eq!(
            loss.marker(),
            b"[procward: 42 bytes dropped: no space left on device]\n"
        );
        loss.marked();
        assert_eq!((loss.unmarked, loss.total, loss.reason), (0, 42, None));
    }
}
