//! The last lines of a log, read from the end.
//!
//! Why backwards: `logs --lines 20` on a 10 MB log (times five rotated files) must cost a
//! few kilobytes of reading, not the whole history. Each file is read in blocks from its
//! end, newest file first (`path`, then `path.1`, `path.2`, ...), until enough lines are
//! found; the result is returned oldest first, as a terminal shows it. For counts too
//! large to collect (`logs --lines all`), [`tail_lines`] finds where the lines start the
//! same way and then streams them forwards.

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

/// File `k` of a rotated log (0 is the live file), newest first.
enum Rotated {
    /// The file, opened.
    Open(File),
    /// The live file is missing, as it may be for a moment during a rotation: go on.
    LiveMissing,
    /// No such rotated file: there is nothing older.
    End,
}

fn open_rotated(path: &Path, k: u32) -> io::Result<Rotated> {
    match File::open(rotated_path(path, k)) {
        Ok(file) => Ok(Rotated::Open(file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound && k == 0 => Ok(Rotated::LiveMissing),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Rotated::End),
        Err(e) => Err(e),
    }
}

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
        let file = match open_rotated(path, k)? {
            Rotated::Open(file) => file,
            Rotated::LiveMissing => {
                k += 1;
                continue;
            }
            Rotated::End => break,
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

/// Longest piece of a line [`TailLines`] yields: longer lines come in pieces of this size,
/// so one runaway line without newlines never has to fit in memory or in one message.
pub const MAX_LINE: usize = 1024 * 1024;

/// The last `lines` lines of the log at `path` and its rotated files, oldest first, read
/// as they are consumed instead of collected: any count (`usize::MAX` for the whole
/// history) costs one block of memory per file. Finding where they start reads backwards
/// like [`tail`]; the lines are then read forwards. Each file is read up to the length it
/// had when the call was made, so a process writing meanwhile cannot make it endless.
pub fn tail_lines(path: &Path, lines: usize) -> io::Result<TailLines> {
    let mut parts = Vec::new();
    let mut seen = Vec::new();
    let mut found = 0;
    let mut k = 0;
    while found < lines {
        let mut file = match open_rotated(path, k)? {
            Rotated::Open(file) => file,
            Rotated::LiveMissing => {
                k += 1;
                continue;
            }
            Rotated::End => break,
        };
        let meta = file.metadata()?;
        let id = (meta.dev(), meta.ino());
        if !seen.contains(&id) {
            seen.push(id);
            let (start, count) = start_of_last(&mut file, meta.len(), lines - found)?;
            found += count;
            if count > 0 {
                file.seek(SeekFrom::Start(start))?;
                parts.push((file, meta.len() - start));
            }
        }
        k += 1;
    }
    parts.reverse();
    Ok(TailLines {
        parts,
        current: None,
    })
}

/// The lines of [`tail_lines`], oldest first, each without its newline.
#[derive(Debug)]
pub struct TailLines {
    /// Files still to read, newest last, each positioned at its first line with the number
    /// of bytes to read.
    parts: Vec<(File, u64)>,
    current: Option<io::Take<io::BufReader<File>>>,
}

impl Iterator for TailLines {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::BufRead as _;
        loop {
            if self.current.is_none() {
                if self.parts.is_empty() {
                    return None;
                }
                let (file, len) = self.parts.remove(0);
                self.current = Some(io::BufReader::with_capacity(64 * 1024, file).take(len));
            }
            let reader = self.current.as_mut()?;
            let mut line = Vec::new();
            let limit = reader.limit().min(MAX_LINE as u64);
            let read = reader.by_ref().take(limit).read_until(b'\n', &mut line);
            match read {
                Err(e) => {
                    self.current = None;
                    self.parts.clear();
                    return Some(Err(e));
                }
                Ok(0) => self.current = None,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    } else if reader.fill_buf().is_ok_and(|b| b.first() == Some(&b'\n')) {
                        // A piece that ends exactly where its line does.
                        reader.consume(1);
                    }
                    return Some(Ok(line));
                }
            }
        }
    }
}

/// Where the last `want` lines of the first `len` bytes of `file` begin, and how many lines
/// that is (fewer when the file holds fewer), found by reading blocks backwards.
fn start_of_last(file: &mut File, len: u64, want: usize) -> io::Result<(u64, usize)> {
    if want == 0 || len == 0 {
        return Ok((len, 0));
    }
    let mut found = 0;
    let mut pos = len;
    let mut block = FIRST_BLOCK;
    let mut buf = Vec::new();
    while pos > 0 {
        let size = block.min(pos as usize);
        pos -= size as u64;
        block = (block * 2).min(MAX_BLOCK);
        buf.resize(size, 0);
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut buf)?;
        for i in memrchr_iter(b'\n', &buf) {
            let at = pos + i as u64;
            if at == len - 1 {
                // The newline that ends the last line.
                continue;
            }
            found += 1;
            if found == want {
                return Ok((at + 1, found));
            }
        }
    }
    Ok((0, found + 1))
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

    fn streamed(path: &Path, want: usize) -> Vec<Vec<u8>> {
        tail_lines(path, want)
            .unwrap()
            .collect::<io::Result<_>>()
            .unwrap()
    }

    #[test]
    fn streaming_matches_collecting_across_rotations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        std::fs::write(rotated_path(&path, 2), "a\nb\n").unwrap();
        std::fs::write(rotated_path(&path, 1), "c\n\nd").unwrap();
        std::fs::write(&path, "e\nf\n").unwrap();
        for want in 0..10 {
            assert_eq!(streamed(&path, want), tail(&path, want).unwrap(), "{want}");
        }
        assert_eq!(
            streamed(&path, usize::MAX),
            strs(&["a", "b", "c", "", "d", "e", "f"])
        );
        assert!(streamed(&dir.path().join("none.log"), usize::MAX).is_empty());
    }

    #[test]
    fn streamed_long_lines_come_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.log");
        let long = vec![b'x'; 2 * MAX_LINE + 5];
        let mut data = long.clone();
        data.extend_from_slice(b"\nend\n");
        std::fs::write(&path, &data).unwrap();
        let lines = streamed(&path, usize::MAX);
        let sizes: Vec<usize> = lines.iter().map(Vec::len).collect();
        assert_eq!(sizes, [MAX_LINE, MAX_LINE, 5, 3]);
        assert_eq!(lines.concat(), [long, b"end".to_vec()].concat());
        let exact = [vec![b'y'; MAX_LINE], b"\nz".to_vec()].concat();
        std::fs::write(&path, &exact).unwrap();
        let sizes: Vec<usize> = streamed(&path, 5).iter().map(Vec::len).collect();
        assert_eq!(sizes, [MAX_LINE, 1], "no empty piece after an exact fit");
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
