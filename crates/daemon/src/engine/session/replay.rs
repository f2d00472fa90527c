//! The bounded replay buffer of a session: the most recent output, numbered, so a client
//! that joins late or reconnects gets what it missed before the live stream.

use std::collections::VecDeque;
use std::sync::Arc;

/// One batch of output with its place in the session's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// 0, 1, 2, ... in the order the process wrote.
    pub seq: u64,
    /// `stdout` or `stderr` (a terminal has only `stdout`).
    pub stream: &'static str,
    /// The bytes, as written.
    pub bytes: Arc<[u8]>,
}

/// Keeps the newest chunks up to a byte budget; the oldest go first.
#[derive(Debug)]
pub struct ReplayBuffer {
    chunks: VecDeque<Chunk>,
    bytes: usize,
    budget: usize,
    next_seq: u64,
}

impl ReplayBuffer {
    /// An empty buffer holding at most `budget` bytes (one larger chunk is still kept).
    pub fn new(budget: usize) -> Self {
        Self {
            chunks: VecDeque::new(),
            bytes: 0,
            budget,
            next_seq: 0,
        }
    }

    /// Appends a chunk and returns it numbered.
    pub fn push(&mut self, stream: &'static str, bytes: Arc<[u8]>) -> Chunk {
        let chunk = Chunk {
            seq: self.next_seq,
            stream,
            bytes,
        };
        self.next_seq += 1;
        self.bytes += chunk.bytes.len();
        self.chunks.push_back(chunk.clone());
        while self.bytes > self.budget && self.chunks.len() > 1 {
            if let Some(old) = self.chunks.pop_front() {
                self.bytes -= old.bytes.len();
            }
        }
        chunk
    }

    /// Every chunk still held, oldest first, and whether older ones were dropped.
    pub fn snapshot(&self) -> (Vec<Chunk>, bool) {
        let dropped = self.chunks.front().is_some_and(|c| c.seq > 0);
        (self.chunks.iter().cloned().collect(), dropped)
    }

    /// The chunks from `seq` on (a reconnecting client's position), and whether some of
    /// those were already dropped.
    pub fn since(&self, seq: u64) -> (Vec<Chunk>, bool) {
        let dropped = self.chunks.front().is_some_and(|c| c.seq > seq);
        (
            self.chunks
                .iter()
                .filter(|c| c.seq >= seq)
                .cloned()
                .collect(),
            dropped,
        )
    }

    /// Bytes held now.
    pub fn len_bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> Arc<[u8]> {
        vec![b'x'; n].into()
    }

    #[test]
    fn keeps_the_newest_within_budget_in_order() {
        let mut buffer = ReplayBuffer::new(100);
        for _ in 0..10 {
            buffer.push("stdout", bytes(30));
        }
        let (chunks, dropped) = buffer.snapshot();
        assert!(dropped);
        assert!(buffer.len_bytes() <= 100);
        let seqs: Vec<u64> = chunks.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, vec![7, 8, 9]);
        let (from, missed) = buffer.since(8);
        assert_eq!(from.len(), 2);
        assert!(!missed);
        let (_, missed) = buffer.since(2);
        assert!(missed, "a client that fell behind learns it missed output");
    }

    #[test]
    fn one_oversized_chunk_is_still_kept() {
        let mut buffer = ReplayBuffer::new(10);
        buffer.push("stdout", bytes(50));
        assert_eq!(buffer.snapshot().0.len(), 1);
        buffer.push("stdout", bytes(5));
        assert_eq!(buffer.snapshot().0.len(), 1, "the old one makes room");
    }
}
