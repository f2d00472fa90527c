//! The last lines of a log, read from the end.
//!
//! Why backwards: `logs --lines 20` on a 10 MB log (times five rotated files) must cost a
//! few kilobytes of reading, not the whole history. Each file is read in blocks from its
//! end, newest file first (`path`, then `path.1`, `path.2`, ...), until enough lines are
//! found; the result is returned oldest first, as a terminal shows it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use memchr::memrchr_iter;

use super::writer::rotated_path;

/// First block read from the end of a file; later blocks double up to [`MAX_BLOCK`], so a
/// small tail reads little and a large one takes few syscalls.
const FIRST_BLOCK: usize = 8 * 1024;
const MAX_BLOCK: usize = 1024 * 1024;

/// The last `lines` lines of the log at `path` and its rotated files, oldest first, without
/// their newlines. Bytes are returned as written (logs may hold invalid UTF-8).
///
/// Missing files hold no lines; `lines == 0` returns nothing (upper bounds are the
/// caller's to enforce). A final line without a newline (a process mid-write) counts as a
/// line. The files are read one after another, so a rotation happening during the call
/// may shift what is seen; a file already read is never read twice.
pub fn tail(path: &Path, lines: usize) -> io::Result<Vec<Vec<u8>>> {
    let mut newest_first = Vec::new();
    let mut seen = Vec::new();
    let mut k = 0;
    while newest_first.len() < lines {
        let file = match File::open(rotated_path(path, k)) {
            Ok(file) => file,
            // The live file may be missing for a moment during a rotation.
            Err(e) if e.kind() == io::ErrorKind::NotFound && k == 0 => {
                k += 1;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        let id = (meta.dev(), meta.ino());
        if !seen.contains(&id) {
            seen.push(id);
            let want = lines - newest_first.len();
            tail_reader(file, meta.len(), want, &mut newest_first)?;
        }
        k += 1;
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// [`tail`] with each line decoded as UTF-8, invalid sequences replaced by U+FFFD, for
/// interfaces that carry text.
pub fn tail_lossy(path: &Path, lines: usize) -> io::Result<Vec<String>> {
    Ok(tail(path, lines)?
        .into_iter()
        .map(|line| String::from_utf8_lossy(&line).into_owned())
        .collect())
}

/// Pushes up to `want` lines of the first `len` bytes of `reader` onto `out`, newest first,
/// reading backwards from `len`.
fn tail_reader<R: Read + Seek>(
    mut reader: R,
    len: u64,
    want: usize,
    out: &mut Vec<Vec<u8>>,
) -> io::Result<()> {
    if want == 0 || len == 0 {
        return Ok(());
    }
    let goal = out.len() + want;
    // Pieces of the line being assembled, newest piece first.
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let mut pos = len;
    let mut block = FIRST_BLOCK;
    let mut last_byte = true;
    while pos > 0 {
        let size = block.min(pos as usize);
        pos -= size as u64;
        block = (block * 2).min(MAX_BLOCK);
        let mut buf = vec![0u8; size];
        reader.seek(SeekFrom::Start(pos))?;
        reader.read_exact(&mut buf)?;
        let mut hi = size;
        for i in memrchr_iter(b'\n', &buf) {
            if last_byte && pos + i as u64 == len - 1 {
                // The newline that ends the last line: no empty line after it.
                hi = i;
                continue;
            }
            out.push(assemble(&buf[i + 1..hi], &mut pieces));
            hi = i;
            if out.len() == goal {
                return Ok(());
            }
        }
        last_byte = false;
        buf.truncate(hi);
        pieces.push(buf);
    }
    // The file's first line has no newline before it.
    out.push(assemble(&[], &mut pieces));
    Ok(())
}

/// One line from its first bytes `head` and the later pieces (stored newest first).
fn assemble(head: &[u8], pieces: &mut Vec<Vec<u8>>) -> Vec<u8> {
    let total = head.len() + pieces.iter().map(Vec::len).sum::<usize>();
    let mut line = Vec::with_capacity(total);
    line.extend_from_slice(head);
    for piece in pieces.drain(..).rev() {
        line.extend_from_slice(&piece);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    /// Counts the bytes read through it, to prove tail never reads whole files.
    struct Counting<R> {
        inner: R,
        read: u64,
    }

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl<R: Seek> Seek for Counting<R> {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    fn lines_of(data: &[u8], want: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        tail_reader(Cursor::new(data), data.len() as u64, want, &mut out).unwrap();
        out.reverse();
        out
    }

    fn strs(lines: &[&str]) -> Vec<Vec<u8>> {
        lines.iter().map(|l| l.as_bytes().to_vec()).collect()
    }

    #[test]
    fn splits_like_a_terminal_shows_lines() {
        assert_eq!(lines_of(b"", 5), strs(&[]));
        assert_eq!(lines_of(b"\n", 5), strs(&[""]));
        assert_eq!(lines_of(b"a\n", 5), strs(&["a"]));
        assert_eq!(lines_of(b"a", 5), strs(&["a"]));
        assert_eq!(lines_of(b"a\n\nb", 5), strs(&["a", "", "b"]));
        assert_eq!(lines_of(b"a\nb\nc\n", 2), strs(&["b", "c"]));
        assert_eq!(lines_of(b"a\nb\nc\n", 0), strs(&[]));
    }

    #[test]
    fn lines_spanning_many_blocks_are_whole() {
        let long = "x".repeat(5 * MAX_BLOCK + 17);
        let data = format!("first\n{long}\nlast\n");
        assert_eq!(
            lines_of(data.as_bytes(), 3),
            strs(&["first", &long, "last"])
        );
    }

    #[test]
    fn tailing_a_50_mb_file_reads_a_few_kilobytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let mut file = io::BufWriter::new(File::create(&path).unwrap());
        let mut n = 0u64;
        let mut written = 0u64;
        while written < 50 << 20 {
            n += 1;
            let line = format!("line number {n:>12}\n");
            written += line.len() as u64;
            file.write_all(line.as_bytes()).unwrap();
        }
        drop(file);
        let mut reader = Counting {
            inner: File::open(&path).unwrap(),
            read: 0,
        };
        let mut out = Vec::new();
        tail_reader(&mut reader, written, 10, &mut out).unwrap();
        out.reverse();
        let expected: Vec<Vec<u8>> = (n - 9..=n)
            .map(|i| format!("line number {i:>12}").into_bytes())
            .collect();
        assert_eq!(out, expected);
        assert!(reader.read <= 16 * 1024, "read {} bytes", reader.read);
        assert_eq!(tail(&path, 10).unwrap(), expected);
    }
}
