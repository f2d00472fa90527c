//! procward's desktop app: the listening ports in the system tray, kill by port, and the
//! daemon's managed processes, with a window for the ports table.
//!
//! Nothing here reimplements procward. Ports come from `procward_core::get_ports`. Kills
//! go to the running daemon's `KillProcess`, whose one kill policy also serves the CLI,
//! gRPC, MCP and the dashboard (a managed process is stopped through its supervisor, not
//! signalled and then restarted). Without a daemon, the core's pidfd kill runs here with
//! the same checks. Every kill is pinned to the process the user saw (its start time in
//! clock ticks), so a recycled PID is refused.
//!
//! The command logic ([`commands`]) is plain async Rust, used by the Tauri app ([`app`])
//! and by `procward-desktop invoke` (the same handlers from a shell, for scripts and tests).

pub mod app;
pub mod commands;
pub mod daemon;
pub mod kill;
pub mod ports;
pub mod tray_model;
