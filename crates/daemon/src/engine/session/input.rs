//! Input in the order it was sent. socket.io handles each event in a task of its own, so
//! two `terminal:input` events (two keystrokes) can run in either order under load, and
//! writing each from its handler typed `ech"o` for `echo"`. Instead the transport queues
//! the bytes as each event arrives, before anything awaits, and one writer task per
//! session writes them to the terminal or pipe in that order.

use std::sync::Weak;

use tokio::sync::mpsc;

use super::{Session, SessionError};

/// Inputs that may wait for the process to read them; beyond this a client is told to
/// slow down rather than queue without bound.
pub const INPUT_QUEUE: usize = 1024;

/// The sending side kept by the session, and the receiver for [`write_in_order`].
pub(super) fn queue() -> (mpsc::Sender<Vec<u8>>, mpsc::Receiver<Vec<u8>>) {
    mpsc::channel(INPUT_QUEUE)
}

/// Writes queued input in order until the session ends (or is dropped).
pub(super) async fn write_in_order(session: Weak<Session>, mut pending: mpsc::Receiver<Vec<u8>>) {
    while let Some(bytes) = pending.recv().await {
        let Some(session) = session.upgrade() else {
            return;
        };
        match session.write(&bytes).await {
            Ok(()) => {}
            Err(SessionError::Ended) => return,
            Err(e) => tracing::debug!(pid = session.pid, "session input lost: {e}"),
        }
    }
}

/// Why `bytes` could not be queued.
pub(super) fn refused(error: mpsc::error::TrySendError<Vec<u8>>) -> SessionError {
    match error {
        mpsc::error::TrySendError::Full(_) => SessionError::Invalid(format!(
            "{INPUT_QUEUE} inputs are already waiting for the process to read them; slow down"
        )),
        mpsc::error::TrySendError::Closed(_) => SessionError::Ended,
    }
}
