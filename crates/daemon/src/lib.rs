//! procward's daemon: owns every managed process and serves it on every interface.
//!
//! Layers, from the outside in: [`transport`] (gRPC on the Unix socket and TCP, socket.io
//! and the dashboard, the TCP listener that also mounts MCP) translates requests into
//! calls on the transport-free [`engine::Engine`], which owns all state through one actor
//! and holds every rule once: validation, the kill policy, log limits. Transports never
//! import each other; the socket.io handlers call the engine directly, and `/mcp` is the
//! MCP crate over the in-process gRPC routes (the same crate serves `procward mcp` over
//! the socket). The engine runs each process under a shim
//! (`procward_core::supervisor::shim`), so the daemon can crash without harming the
//! processes or their output, and persists what must survive a restart in its registry.
//!
//! The path of `procward start`: the CLI sends gRPC `Supervisor.Start` on the Unix
//! socket → `transport::grpc::supervisor` converts the proto spec → `engine::Supervisor`
//! validates the request once (`compose::check_request`) → the actor registers it and
//! spawns `procward shim` (`procward_core::supervisor::shim::spawn`, the reaper held off
//! only across the fork) → the shim spawns the command in its own process group, holds
//! its pipes and writes its logs, and reports the pid back (awaited in place for up to
//! 2 ms, then off the runtime's worker) → the actor records the run (pid and start time
//! in clock ticks) and answers, then watches the run's exit, starts its triggers and
//! persists it (`actor/deferred.rs`) before its next message. A dashboard
//! `managed:start` enters at `engine::Supervisor` directly.

pub mod engine;
pub mod home;
pub mod lock;
pub mod logging;
pub mod server;
pub mod token;
pub mod transport;

pub use engine::{Supervisor, SupervisorError};
pub use home::Home;
pub use server::{DaemonError, DaemonOptions, run};
