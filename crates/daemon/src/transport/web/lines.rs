//! Log lines to `output` messages, batched per stream by size or a few milliseconds like
//! session output: what `logs:join` and `job:join` send.

use socketioxide::extract::SocketRef;

use super::message::Message;
use crate::engine::logs::LogLine;
use crate::engine::session::BATCH_BYTES;

/// Collects lines of one stream at a time and sends them as one message each batch.
pub struct LineBatcher {
    socket: SocketRef,
    session_id: String,
    seq: u64,
    pending: Option<(&'static str, String)>,
}

impl LineBatcher {
    /// Batches for `session_id` on `socket`.
    pub fn new(socket: SocketRef, session_id: String) -> Self {
        Self {
            socket,
            session_id,
            seq: 0,
            pending: None,
        }
    }

    /// Whether lines wait to be sent (the caller flushes them after `BATCH_DELAY`).
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Adds a line; sends the batch before it when the stream changes or it is full. A
    /// line of a set's logs starts with its replica's name (`web:1 | `), as the CLI shows.
    pub fn push(&mut self, line: LogLine) {
        let mut text = String::from_utf8_lossy(&line.line).into_owned() + "\n";
        if !line.process.is_empty() {
            text = format!("{} | {text}", line.process);
        }
        let stream = line.stream.as_str();
        match &mut self.pending {
            Some((name, pending)) if *name == stream && pending.len() < BATCH_BYTES => {
                pending.push_str(&text);
            }
            _ => {
                if let Some((name, pending)) = self.pending.replace((stream, text)) {
                    self.send(name, pending);
                }
            }
        }
    }

    /// Sends what waits.
    pub fn flush(&mut self) {
        if let Some((name, pending)) = self.pending.take() {
            self.send(name, pending);
        }
    }

    fn send(&mut self, stream: &str, text: String) {
        let message = Message::text(&self.session_id, stream, text, self.seq);
        let _ = self.socket.emit("message", &message);
        self.seq += 1;
    }

    /// Sends any other message of the session, after the lines before it.
    pub fn send_message(&mut self, message: &Message) {
        self.flush();
        let _ = self.socket.emit("message", message);
    }
}
