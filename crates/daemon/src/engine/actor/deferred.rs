//! Work a start leaves for after its reply. The caller is answered as soon as the shim
//! reports the child's pid; the rest of the run's set-up (its exit watch, its restart
//! triggers, its log line and its registry entry) follows, before the actor takes its
//! next message.
//!
//! Why: that work took about 0.3 ms of each `procward start`, between the shim's report
//! and the reply, on a path of about 3 ms. Nothing is lost by doing it a moment later:
//! the actor handles no other message in between, so no request sees a run half set up,
//! and an exit meanwhile is not missed (a pidfd watched after its process ended is
//! readable at once). The registry entry was never more durable than this: its `fsync`
//! already waits for the registry's next flush.

use super::Actor;

/// One piece of deferred work.
#[derive(Debug)]
pub(super) enum Deferred {
    /// Watch a new run's shim for its exit and start its restart triggers.
    Arm {
        name: String,
        /// The generation the run was launched as: its exit is reported under it.
        generation: u64,
        /// Which run it was: a run replaced before its set-up ran is not armed in place
        /// of the one that replaced it (that one has its own `Arm`).
        child_pid: u32,
    },
    /// Save the process's registry entry.
    Persist(String),
}

impl Actor {
    /// Queues `work` for [`Actor::run_deferred`].
    pub(super) fn defer(&mut self, work: Deferred) {
        self.deferred.push(work);
    }

    /// Whether work waits for [`Actor::run_deferred`].
    pub(super) fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Does the queued work, in order.
    pub(super) fn run_deferred(&mut self) {
        for work in std::mem::take(&mut self.deferred) {
            match work {
                Deferred::Arm {
                    name,
                    generation,
                    child_pid,
                } => self.arm(&name, generation, child_pid),
                Deferred::Persist(name) => self.persist(&name),
            }
        }
    }

    fn arm(&mut self, name: &str, generation: u64, child_pid: u32) {
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        let Some(run) = entry.run.as_mut() else {
            return;
        };
        if run.record.child_pid != child_pid {
            return;
        }
        self.watcher.watch(run.record.shim(), name, generation);
        run.triggers = super::triggers::spawn_triggers(name, generation, &entry.spec, &self.events);
        tracing::info!(%name, pid = child_pid, "started");
    }
}
