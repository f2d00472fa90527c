//! The engine: everything the daemon can do, with no transport in sight. Every door
//! (gRPC, MCP, socket.io and the dashboard, the CLI's daemon calls) is a thin translation
//! of it, so each rule (validation, the kill policy, log limits) lives here once.
//!
//! Inside, one actor ([`actor`]) owns all supervisor state; [`supervisor::Supervisor`]
//! is its cloneable handle and sequences multi-step operations. Around it: the registry
//! that survives restarts ([`registry`]), the one sampling timer ([`sampling`]), live
//! terminal sessions ([`session`]), health checks ([`health`]), the subreaper
//! ([`reaper`]), the pidfd exit watcher ([`watch`]) and the kill policy ([`kill_policy`]).

pub(crate) mod actor;
pub mod error;
pub mod group;
pub mod health;
pub mod kill_policy;
pub mod pids;
pub mod reaper;
pub mod registry;
pub mod sampling;
pub mod session;
pub mod supervisor;
pub mod watch;

pub use error::SupervisorError;
pub use supervisor::Supervisor;
