//! What runs on the machine: processes, system-wide figures and listening ports.
//!
//! Everything here reads `/proc` (through the `procfs` crate), asks `sysinfo` or, for
//! ports, the kernel's sock_diag netlink interface, and never changes anything.

mod identity;
pub mod metrics;
pub mod ports;
pub mod process;
pub mod query;
mod sock_diag;
pub mod spawn_into;
pub mod system;
pub mod tree;
pub mod usage;
pub(crate) mod users;

pub use metrics::{Handles, Metrics, TreeMetrics, read_handles};
pub use ports::{PortInfo, PortProcess, Protocol, get_ports, port_holders};
pub use process::{
    ProcessInfo, ProcessSampler, ProcessStatus, get_process_info, is_owned_by_current_user,
    list_processes,
};
pub use query::{ProcessQuery, SortKey};
pub use system::{DiskInfo, SystemInfo, system_info};
pub use tree::{ProcessNode, descendants};
pub use usage::{Usage, UsageSampler};
