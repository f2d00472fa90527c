//! procward's core library: everything that touches the operating system, and no sockets.
//!
//! * [`sys`]: what runs on the machine: processes ([`list_processes`]), system figures
//!   ([`system_info`]) and listening ports ([`get_ports`]).
//! * [`signal`]: how to stop it without ever hitting the wrong process: pidfd-based
//!   signalling with start-time checks, escalation from SIGTERM to SIGKILL, tree kills and
//!   elevation through pkexec or sudo ([`kill_process`], [`kill_process_elevated`]).
//!
//! Every fallible call returns [`Error`], whose [`Error::kind`] lets each interface (CLI
//! exit codes, gRPC status codes, MCP tool errors) map failures the same way.

pub mod cgroup;
pub mod error;
pub mod home;
pub mod logs;
pub mod queue;
pub mod resources;
pub mod signal;
pub mod supervisor;
pub mod sys;

pub use error::{Error, ErrorKind, Result};
pub use signal::{
    ElevationMethod, Escalation, KillOutcome, KillRequest, Signal, kill, kill_process,
    kill_process_elevated, kill_tree,
};
pub use sys::{
    PortInfo, PortProcess, ProcessInfo, ProcessQuery, ProcessSampler, ProcessStatus, Protocol,
    SortKey, SystemInfo, get_ports, get_process_info, is_owned_by_current_user, list_processes,
    port_holders, system_info,
};
