//! The actor's writes to its store: each changed job saved as it changes, and a burst of
//! internal events (exits, starts, timers) written in one commit, after which the exits
//! handed over by their shims are acknowledged. A failed save is counted, so no exit is
//! acknowledged past it: its shim then writes its status file, which a restarted daemon
//! reads.

use procward_core::queue::JobState;
use procward_core::supervisor::shim::HandedOver;
use tokio::sync::mpsc;

use super::actor::{Actor, Internal};

/// Most internal events written in one commit (a bound on how long an exit waits for its
/// acknowledgement behind others).
const BATCH_MAX: usize = 64;

impl Actor {
    /// Handles `first` and the internal events already waiting behind it as one batch:
    /// one commit for all of their writes, then the acknowledgements.
    pub(super) fn handle_batch(
        &mut self,
        first: Internal,
        waiting: &mut mpsc::UnboundedReceiver<Internal>,
    ) {
        self.store.begin_batch();
        let failed = self.failed_saves;
        self.handle_internal(first);
        for _ in 1..BATCH_MAX {
            let Ok(event) = waiting.try_recv() else {
                break;
            };
            self.handle_internal(event);
        }
        self.commit_batch(failed);
    }

    /// Writes a changed job to the store; a failure is logged (the job goes on).
    pub(super) fn save(&mut self, id: u64) {
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        // A job that is not running has no run: an attempt that ended loses its row here.
        let saved = match job.state {
            JobState::Running => self.store.update(job),
            _ => self.store.end_run(job),
        };
        if let Err(e) = saved {
            self.failed_saves += 1;
            tracing::error!(id, error = %e, "cannot save job");
        }
    }

    /// Commits a batch of events and then acknowledges the exits handed over in it, if
    /// no save failed since `failed` (else their shims write their status files).
    fn commit_batch(&mut self, failed: u64) {
        if let Err(e) = self.store.commit_batch() {
            self.failed_saves += 1;
            tracing::error!(error = %e, "cannot save a batch of job events");
        }
        let acks = std::mem::take(&mut self.pending_acks);
        if self.failed_saves == failed {
            acks.into_iter().for_each(HandedOver::acknowledge);
        }
    }
}
