//! Managed processes: what to run (spec, procward.toml), the lifecycle state machine and
//! restart policy, and the per-process shim that owns a child's pipes and exit status.

pub mod compose;
pub mod shim;
pub mod spec;
pub mod state;
pub mod view;
