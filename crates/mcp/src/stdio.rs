//! The stdio transport's guard: JSON-RPC answers for lines rmcp would drop in silence.
//!
//! rmcp ignores a line that is not JSON (and one longer than its limit), so a client that
//! sent one waits forever. JSON-RPC 2.0 says such input gets a Parse error (-32700) with
//! a null id. [`guard`] reads stdin line by line, never holding more than
//! [`MAX_LINE`] bytes of one: a line that is not UTF-8 or not JSON is answered -32700, an
//! over-long one -32600, and both are skipped; every other line goes on to rmcp through a
//! pipe. Both the answers and rmcp's output pass through one [`LineWriter`], which writes
//! whole lines only, so they never interleave mid-line.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;

/// The longest line accepted (4 MiB): longer ones are answered -32600 and skipped.
pub const MAX_LINE: usize = 4 << 20;
/// How many bytes of checked lines may wait for rmcp to read them.
const PIPE_BYTES: usize = 256 << 10;

/// JSON-RPC's "Parse error".
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's "Invalid Request".
const INVALID_REQUEST: i64 = -32600;

/// An `AsyncWrite` for rmcp that hands each complete line to the writer task.
#[derive(Debug)]
pub struct LineWriter {
    partial: Vec<u8>,
    lines: mpsc::UnboundedSender<Vec<u8>>,
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.partial.extend_from_slice(buf);
        while let Some(end) = this.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = this.partial.drain(..=end).collect();
            if this.lines.send(line).is_err() {
                return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The guarded transport: what rmcp reads and writes, and the tasks behind them (await
/// them after the service ends, so every answer is written).
pub struct Guarded {
    /// Checked lines, for rmcp to read.
    pub input: DuplexStream,
    /// rmcp's output.
    pub output: LineWriter,
    /// Reads and checks `input`'s source.
    pub reader: tokio::task::JoinHandle<()>,
    /// Writes every line to the destination, in order.
    pub writer: tokio::task::JoinHandle<io::Result<()>>,
}

/// Puts the line check between `source`/`sink` (stdin/stdout) and rmcp.
pub fn guard<R, W>(source: R, mut sink: W) -> Guarded
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (lines, mut queue) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(line) = queue.recv().await {
            sink.write_all(&line).await?;
            sink.flush().await?;
        }
        Ok(())
    });
    let (input, pipe) = tokio::io::duplex(PIPE_BYTES);
    let answers = lines.clone();
    let reader = tokio::spawn(async move {
        if let Err(e) = check_lines(BufReader::new(source), pipe, answers).await {
            tracing::debug!(error = %e, "MCP stdin closed");
        }
    });
    Guarded {
        input,
        output: LineWriter {
            partial: Vec::new(),
            lines,
        },
        reader,
        writer,
    }
}

/// Copies `source`'s valid lines to `pipe`, answering the others on `answers`.
async fn check_lines<R: AsyncRead + Unpin>(
    mut source: BufReader<R>,
    mut pipe: DuplexStream,
    answers: mpsc::UnboundedSender<Vec<u8>>,
) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        let (complete, oversized) = read_bounded(&mut source, &mut line).await?;
        if !complete && line.is_empty() && !oversized {
            return Ok(()); // end of input
        }
        let answer = if oversized {
            Some(error(
                INVALID_REQUEST,
                format!("Invalid Request: the line is longer than {MAX_LINE} bytes"),
            ))
        } else {
            judge(&line).map(|why| error(PARSE_ERROR, format!("Parse error: {why}")))
        };
        match answer {
            Some(answer) => {
                if answers.send(answer).is_err() {
                    return Ok(());
                }
            }
            None => {
                pipe.write_all(&line).await?;
                if !line.ends_with(b"\n") {
                    pipe.write_all(b"\n").await?;
                }
            }
        }
        line.clear();
        if !complete {
            return Ok(());
        }
    }
}

/// Reads one line into `line`, keeping at most [`MAX_LINE`] bytes of it: whether it
/// ended with a newline (rather than the input), and whether it was too long (then
/// `line` is empty and the rest of the line has been skipped).
async fn read_bounded<R: AsyncRead + Unpin>(
    source: &mut BufReader<R>,
    line: &mut Vec<u8>,
) -> io::Result<(bool, bool)> {
    let mut oversized = false;
    loop {
        let available = source.fill_buf().await?;
        if available.is_empty() {
            return Ok((false, oversized));
        }
        let newline = available.iter().position(|&b| b == b'\n');
        let take = newline.map_or(available.len(), |at| at + 1);
        if !oversized && line.len() + take > MAX_LINE {
            oversized = true;
            line.clear();
        }
        if !oversized {
            line.extend_from_slice(&available[..take]);
        }
        source.consume(take);
        if newline.is_some() {
            return Ok((true, oversized));
        }
    }
}

/// Why a line is not a JSON-RPC message's text, or `None` when it may be one (blank
/// lines too: rmcp skips them).
fn judge(line: &[u8]) -> Option<String> {
    let Ok(text) = std::str::from_utf8(line) else {
        return Some("the line is not valid UTF-8".into());
    };
    if text.trim().is_empty() {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .err()
        .map(|e| format!("the line is not JSON ({e})"))
}

/// A JSON-RPC error response with a null id, as one line.
fn error(code: i64, message: String) -> Vec<u8> {
    let mut line =
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}})
            .to_string()
            .into_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging_lines() {
        assert_eq!(judge(b"{\"jsonrpc\":\"2.0\"}\r\n"), None);
        assert_eq!(judge(b"  \n"), None);
        assert!(judge(b"{\n").unwrap().contains("not JSON"));
        assert!(judge(b"garbage\n").unwrap().contains("not JSON"));
        assert!(judge(b"\xff\xfe{}\n").unwrap().contains("UTF-8"));
    }

    #[tokio::test]
    async fn bad_lines_are_answered_and_good_ones_pass_in_order() {
        let long = vec![b'x'; MAX_LINE + 10];
        let input = [b"nope\n".as_slice(), b"{\"a\":1}\n", &long, b"\n{\"b\":2}"].concat();
        let (out_w, mut out_r) = tokio::io::duplex(1 << 16);
        let mut guarded = guard(std::io::Cursor::new(input), out_w);
        let mut passed = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut guarded.input, &mut passed)
            .await
            .unwrap();
        assert_eq!(passed, "{\"a\":1}\n{\"b\":2}\n");
        guarded.reader.await.unwrap();
        drop(guarded.output);
        guarded.writer.await.unwrap().unwrap();
        let mut answers = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut out_r, &mut answers)
            .await
            .unwrap();
        let codes: Vec<i64> = answers
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["error"]["code"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(codes, [PARSE_ERROR, INVALID_REQUEST]);
    }
}
