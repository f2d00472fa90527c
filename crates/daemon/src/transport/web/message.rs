//! Server messages: `{type, sessionId, timestamp, data}` (see `web/PROTOCOL.md`), and
//! output encoding that keeps UTF-8 text readable and everything else exact (base64).

use std::time::SystemTime;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::session::{Chunk, SessionStatus};

/// One `message` event.
#[derive(Debug, Serialize)]
pub struct Message {
    /// `output`, `error`, `status`, `metrics` or `job`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The session it is about (`null` for errors and system metrics).
    #[serde(rename = "sessionId")]
    pub session_id: Option<String>,
    /// Unix milliseconds.
    pub timestamp: u64,
    /// The payload.
    pub data: Value,
}

fn now_ms() -> u64 {
    procward_core::sys::unix_ms(SystemTime::now())
}

impl Message {
    fn new(kind: &'static str, session_id: Option<&str>, data: Value) -> Self {
        Self {
            kind,
            session_id: session_id.map(str::to_owned),
            timestamp: now_ms(),
            data,
        }
    }

    /// An error a client can read.
    pub fn error(session_id: Option<&str>, message: impl Into<String>) -> Self {
        Self::new("error", session_id, json!({"message": message.into()}))
    }

    /// A session's state.
    pub fn status(session_id: &str, status: &SessionStatus) -> Self {
        let mut data = json!({"state": status.state});
        if let Some(code) = status.exit_code {
            data["exitCode"] = json!(code);
        }
        if let Some(signal) = status.signal {
            data["signal"] = json!(signal);
        }
        Self::new("status", Some(session_id), data)
    }

    /// A job's state, as a session's (`job:ID`): `exitCode` once it has ended.
    pub fn job_status(session_id: &str, state: &str, exit_code: Option<i32>) -> Self {
        let mut data = json!({"state": state});
        if let Some(code) = exit_code {
            data["exitCode"] = json!(code);
        }
        Self::new("status", Some(session_id), data)
    }

    /// `queue:subscribe` fell behind and skipped `n` job changes: an `error` message
    /// with `lagged: n`, after which the client should list the jobs again.
    pub fn lagged(n: u64) -> Self {
        let message = format!("{n} job events were dropped: list the jobs again");
        Self::new("error", None, json!({"message": message, "lagged": n}))
    }

    /// A change of a job, for `queue:subscribe`.
    pub fn job(data: Value) -> Self {
        Self::new("job", None, data)
    }

    /// Metrics of a session's process, or of the system (`session_id` `None`).
    pub fn metrics(session_id: Option<&str>, data: Value) -> Self {
        Self::new("metrics", session_id, data)
    }

    /// Raw output text (log lines), as UTF-8.
    pub fn text(session_id: &str, stream: &str, content: String, seq: u64) -> Self {
        Self::new(
            "output",
            Some(session_id),
            json!({"stream": stream, "content": content, "encoding": "utf8", "seq": seq}),
        )
    }
}

/// Turns a session's chunks into output messages for one watcher. A multi-byte character
/// split across chunks is carried over; bytes that are not UTF-8 go as base64.
#[derive(Debug, Default)]
pub struct OutputEncoder {
    carry: Vec<u8>,
}

impl OutputEncoder {
    /// The message for `chunk`.
    pub fn encode(&mut self, session_id: &str, chunk: &Chunk) -> Message {
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(&chunk.bytes);
        let (content, encoding) = match std::str::from_utf8(&bytes) {
            Ok(text) => (text.to_owned(), "utf8"),
            Err(e) if e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4 => {
                // Only an incomplete character at the end: send the rest, keep the tail.
                self.carry = bytes[e.valid_up_to()..].to_vec();
                let text = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
                (text, "utf8")
            }
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(&bytes),
                "base64",
            ),
        };
        Message::new(
            "output",
            Some(session_id),
            json!({"stream": chunk.stream, "content": content, "encoding": encoding, "seq": chunk.seq}),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn chunk(seq: u64, bytes: &[u8]) -> Chunk {
        Chunk {
            seq,
            stream: "stdout",
            bytes: Arc::from(bytes),
        }
    }

    #[test]
    fn text_binary_and_split_characters() {
        let mut encoder = OutputEncoder::default();
        let m = encoder.encode("s", &chunk(0, b"hello\n"));
        assert_eq!(m.data["encoding"], "utf8");
        assert_eq!(m.data["content"], "hello\n");
        let euro = "€".as_bytes();
        let m = encoder.encode("s", &chunk(1, &euro[..2]));
        assert_eq!(m.data["content"], "");
        let m = encoder.encode("s", &chunk(2, &euro[2..]));
        assert_eq!(m.data["content"], "€");
        let m = encoder.encode("s", &chunk(3, b"\xff\xfe"));
        assert_eq!(m.data["encoding"], "base64");
        assert_eq!(m.data["content"], "//4=");
        assert_eq!(m.data["seq"], 3);
    }
}
