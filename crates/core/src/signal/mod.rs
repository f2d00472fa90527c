//! Signalling processes without ever hitting the wrong one.
//!
//! Every signal goes through a pidfd opened before the target's identity is checked, so a
//! PID that is recycled between the check and the signal cannot be hit. Protected PIDs
//! (0, 1, negative, above `i32::MAX`, the caller and its parent) are refused before
//! anything is opened. Signals to a managed process's whole group are [`group`]'s: this
//! module is where procward sends signals, every one of them.

mod elevate;
pub mod group;
pub(crate) mod handle;
mod kill;
mod name;
mod target;

pub use elevate::{ElevationMethod, helper_path, kill_elevated, kill_process_elevated};
pub use kill::{
    Escalation, KILL_GRACE, KillOutcome, KillRecord, KillRequest, kill, kill_all, kill_process,
    kill_tree,
};
pub use name::Signal;
pub use target::{parse_pid, validate_pid};
