//! Lets standard gRPC clients use the Unix socket without options.
//!
//! gRPC core (Python, C++, Ruby…) sends a Unix socket's path, percent-encoded, as the
//! HTTP/2 `:authority` (e.g. `tmp%2Fhome%2Fprocward.sock`); grpc-java sends it raw. The
//! `h2` server behind tonic rejects such a request with `RST_STREAM(PROTOCOL_ERROR)`,
//! and has no option to relax that, so those clients only worked with
//! `grpc.default_authority=localhost`. The socket is private to its user (mode 0600), so
//! the authority means nothing there: this reader sits between the socket and `h2` and,
//! in each request's header block, replaces the bytes of an `:authority` value that is
//! not a valid authority by `_`, which makes it one.
//!
//! The value keeps its length, so the HPACK dynamic tables of client and server stay the
//! same size and later references to the entry stay in step; frames keep their layout.
//! Values sent Huffman-coded are left alone (gRPC core sends them raw), and so is every
//! other byte of the connection. A header block is held until it is complete, up to
//! [`MAX_HELD`] bytes; past that, or on anything that is not HTTP/2, the connection is
//! passed through untouched (and `h2` judges it).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tonic::transport::server::{Connected, UdsConnectInfo};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// The most bytes held back while a header block is incomplete.
pub const MAX_HELD: usize = 1 << 20;

/// A Unix socket connection whose incoming `:authority` values are made valid.
#[derive(Debug)]
pub struct AuthorityFix {
    inner: UnixStream,
    /// Bytes read but not yet examined.
    input: Vec<u8>,
    /// Frames of an incomplete header block, and where its fragments lie in them.
    held: Vec<u8>,
    fragments: Vec<(usize, usize)>,
    /// Bytes ready for the reader, from `ready_at` on.
    ready: Vec<u8>,
    ready_at: usize,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Preface,
    Frames,
    PassThrough,
}

impl AuthorityFix {
    /// Wraps an accepted connection.
    pub fn new(inner: UnixStream) -> Self {
        Self {
            inner,
            input: Vec::new(),
            held: Vec::new(),
            fragments: Vec::new(),
            ready: Vec::new(),
            ready_at: 0,
            stage: Stage::Preface,
        }
    }

    /// Moves what can be judged from `input` to `ready`.
    fn examine(&mut self) {
        if self.stage == Stage::Preface {
            let seen = self.input.len().min(PREFACE.len());
            if self.input[..seen] != PREFACE[..seen] {
                self.stage = Stage::PassThrough; // not HTTP/2: a short request must not wait
            } else if seen == PREFACE.len() {
                self.ready.extend(self.input.drain(..PREFACE.len()));
                self.stage = Stage::Frames;
            }
        }
        while self.stage == Stage::Frames && self.input.len() >= 9 {
            let length = usize::from(self.input[0]) << 16
                | usize::from(self.input[1]) << 8
                | usize::from(self.input[2]);
            if self.held.len() + 9 + length > MAX_HELD {
                self.stage = Stage::PassThrough;
                break;
            }
            if self.input.len() < 9 + length {
                return;
            }
            let (kind, flags) = (self.input[3], self.input[4]);
            let frame: Vec<u8> = self.input.drain(..9 + length).collect();
            if kind != HEADERS && kind != CONTINUATION {
                self.release_held();
                self.ready.extend(frame);
                continue;
            }
            self.hold(frame, kind, flags);
            if flags & END_HEADERS != 0 {
                self.fix_held();
                self.release_held();
            }
        }
        if self.stage == Stage::PassThrough {
            self.release_held();
            self.ready.append(&mut self.input);
        }
    }

    /// Keeps a HEADERS or CONTINUATION frame, noting where its header fragment lies.
    fn hold(&mut self, frame: Vec<u8>, kind: u8, flags: u8) {
        let start = self.held.len();
        let mut from = start + 9;
        let mut to = start + frame.len();
        if kind == HEADERS {
            if flags & PADDED != 0 {
                let pad = frame.get(9).map_or(0, |&p| usize::from(p));
                from += 1;
                to = to.saturating_sub(pad);
            }
            if flags & PRIORITY != 0 {
                from += 5;
            }
        }
        self.held.extend(frame);
        if from <= to {
            self.fragments.push((from, to));
        }
    }

    /// Rewrites the held header block's invalid `:authority` values in place.
    fn fix_held(&mut self) {
        let mut block: Vec<u8> = Vec::new();
        for &(from, to) in &self.fragments {
            block.extend_from_slice(&self.held[from..to]);
        }
        if !fix_block(&mut block) {
            return;
        }
        let mut at = 0;
        for &(from, to) in &self.fragments {
            self.held[from..to].copy_from_slice(&block[at..at + to - from]);
            at += to - from;
        }
    }

    fn release_held(&mut self) {
        self.ready.append(&mut self.held);
        self.fragments.clear();
    }
}

/// Rewrites, in an HPACK header block, every raw `:authority` value that is not a valid
/// authority; returns whether it changed anything. A block it cannot parse is left alone.
fn fix_block(block: &mut [u8]) -> bool {
    let mut changed = false;
    let mut at = 0;
    while at < block.len() {
        let first = block[at];
        if first & 0x80 != 0 {
            // Indexed header field.
            let Some((_, next)) = integer(block, at, 7) else {
                return changed;
            };
            at = next;
            continue;
        }
        if first & 0xE0 == 0x20 {
            // Dynamic table size update.
            let Some((_, next)) = integer(block, at, 5) else {
                return changed;
            };
            at = next;
            continue;
        }
        let prefix = if first & 0x40 != 0 { 6 } else { 4 };
        let Some((index, next)) = integer(block, at, prefix) else {
            return changed;
        };
        at = next;
        let is_authority = if index == 0 {
            let Some((name, huffman, next)) = string(block, at) else {
                return changed;
            };
            at = next;
            !huffman && &block[name.clone()] == b":authority"
        } else {
            index == 1 // the static table's `:authority`
        };
        let Some((value, huffman, next)) = string(block, at) else {
            return changed;
        };
        at = next;
        if is_authority
            && !huffman
            && http::uri::Authority::try_from(&block[value.clone()]).is_err()
        {
            for byte in &mut block[value] {
                if !(byte.is_ascii_alphanumeric() || b"-._~".contains(byte)) {
                    *byte = b'_';
                }
            }
            changed = true;
        }
    }
    changed
}

/// An HPACK integer with an `n`-bit prefix at `at`: its value and the offset after it.
fn integer(block: &[u8], at: usize, n: u32) -> Option<(usize, usize)> {
    let mask = (1usize << n) - 1;
    let mut value = usize::from(*block.get(at)?) & mask;
    let mut at = at + 1;
    if value < mask {
        return Some((value, at));
    }
    let mut shift = 0;
    loop {
        let byte = *block.get(at)?;
        at += 1;
        value = value.checked_add(usize::from(byte & 0x7f).checked_shl(shift)?)?;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
    }
}

/// An HPACK string literal at `at`: its bytes' range, whether Huffman-coded, the offset
/// after it.
fn string(block: &[u8], at: usize) -> Option<(std::ops::Range<usize>, bool, usize)> {
    let huffman = *block.get(at)? & 0x80 != 0;
    let (length, start) = integer(block, at, 7)?;
    let end = start.checked_add(length)?;
    (end <= block.len()).then_some((start..end, huffman, end))
}

impl AsyncRead for AuthorityFix {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.ready_at < this.ready.len() {
                let n = buf.remaining().min(this.ready.len() - this.ready_at);
                buf.put_slice(&this.ready[this.ready_at..this.ready_at + n]);
                this.ready_at += n;
                if this.ready_at == this.ready.len() {
                    this.ready.clear();
                    this.ready_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.stage == Stage::PassThrough {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut chunk_buf = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk_buf))?;
            if chunk_buf.filled().is_empty() {
                // End of stream: hand over whatever is left as it is.
                this.stage = Stage::PassThrough;
            } else {
                this.input.extend_from_slice(chunk_buf.filled());
            }
            this.examine();
        }
    }
}

impl AsyncWrite for AuthorityFix {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl Connected for AuthorityFix {
    type ConnectInfo = UdsConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests;
