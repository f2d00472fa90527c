//! Input in the order it was sent. socket.io handles each event in a task of its own, so
//! two `terminal:input` events (two keystrokes) can run in either order under load, and
//! writing each from its handler typed `ech"o` for `echo"`. Instead the transport queues
//! the bytes as each event arrives, before anything awaits, and one writer task per
//! session writes them to the terminal or pipe in that order.
//!
//! The backlog is bounded by bytes, not by events: a pasted line arrives as hundreds of
//! one-byte events faster than a busy machine schedules the writer, and refusing the
//! 1,025th keystroke of a paste would be a bug, while a client that queues megabytes
//! the process never reads is told to slow down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use tokio::sync::mpsc;

use super::{Session, SessionError};

/// Bytes that may wait for the process to read them; beyond this a client is told to
/// slow down rather than queue without bound.
pub const INPUT_BACKLOG_BYTES: usize = 1 << 20;

/// The sending side kept by the session.
pub(super) struct InputQueue {
    sender: mpsc::UnboundedSender<Vec<u8>>,
    waiting: Arc<AtomicUsize>,
}

/// What [`write_in_order`] drains.
pub(super) struct PendingInput {
    receiver: mpsc::UnboundedReceiver<Vec<u8>>,
    waiting: Arc<AtomicUsize>,
}

/// A new queue and the receiver for [`write_in_order`].
pub(super) fn queue() -> (InputQueue, PendingInput) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let waiting = Arc::new(AtomicUsize::new(0));
    (
        InputQueue {
            sender,
            waiting: waiting.clone(),
        },
        PendingInput { receiver, waiting },
    )
}

impl InputQueue {
    /// Queues `bytes` behind everything queued before, or says why not.
    pub(super) fn push(&self, bytes: Vec<u8>) -> Result<(), SessionError> {
        let len = bytes.len();
        let before = self.waiting.fetch_add(len, Ordering::AcqRel);
        if before + len > INPUT_BACKLOG_BYTES && before > 0 {
            self.waiting.fetch_sub(len, Ordering::AcqRel);
            return Err(SessionError::Invalid(format!(
                "{before} bytes of input are already waiting for the process to read them \
                 (at most {INPUT_BACKLOG_BYTES}); slow down"
            )));
        }
        self.sender.send(bytes).map_err(|_| {
            self.waiting.fetch_sub(len, Ordering::AcqRel);
            SessionError::Ended
        })
    }
}

/// Writes queued input in order until the session ends (or is dropped). What has queued
/// up while the last write ran goes out as one write, so a burst of keystrokes costs a
/// few system calls rather than one each.
pub(super) async fn write_in_order(session: Weak<Session>, mut pending: PendingInput) {
    while let Some(mut bytes) = pending.receiver.recv().await {
        while bytes.len() < 64 * 1024 {
            match pending.receiver.try_recv() {
                Ok(more) => bytes.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        let len = bytes.len();
        let Some(session) = session.upgrade() else {
            return;
        };
        let written = session.write(&bytes).await;
        pending.waiting.fetch_sub(len, Ordering::AcqRel);
        match written {
            Ok(()) => {}
            Err(SessionError::Ended) => return,
            Err(e) => tracing::debug!(pid = session.pid, "session input lost: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_keystrokes_queues_but_a_flood_is_refused_and_then_drains() {
        let (queue, mut pending) = queue();
        for _ in 0..5_000 {
            queue.push(b"x".to_vec()).expect("a keystroke queues");
        }
        queue
            .push(vec![0; INPUT_BACKLOG_BYTES - 5_000])
            .expect("up to the backlog queues");
        let refused = queue.push(b"y".to_vec()).expect_err("past the backlog");
        assert!(
            matches!(&refused, SessionError::Invalid(m) if m.contains("slow down")),
            "{refused}"
        );
        // The refused byte was not counted: once the writer takes a batch, input queues again.
        let first = pending.receiver.try_recv().expect("queued");
        pending.waiting.fetch_sub(first.len(), Ordering::AcqRel);
        queue.push(b"z".to_vec()).expect("room again");
    }
}
