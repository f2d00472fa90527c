//! procward's daemon: owns every managed process and serves the gRPC API.
//!
//! Layers, from the outside in: transports ([`grpc`], on a Unix socket) call the
//! transport-free [`facade::Supervisor`], which talks to one actor that owns all state
//! ([`actor`]). The actor starts each process under a shim (see
//! `procward_core::supervisor::shim`) so that the daemon can crash without harming the
//! processes or their output, and [`registry`] persists what must survive a restart.

mod actor;
pub mod error;
pub mod facade;
pub mod group;
pub mod grpc;
pub mod health;
pub mod home;
pub mod kill_policy;
pub mod lock;
pub mod logging;
pub mod reaper;
pub mod registry;
pub mod sampling;
pub mod server;
pub mod session;
pub mod tcp;
pub mod token;
pub mod watch;
pub mod web;

pub use error::SupervisorError;
pub use facade::Supervisor;
pub use home::Home;
pub use server::{DaemonError, DaemonOptions, run};
