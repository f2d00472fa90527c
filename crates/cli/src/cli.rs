//! The command line: global flags and the list of commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{
    audit, completions, daemon, import, info, kill, logs, managed, mcp, ports, process, ps, queue,
    replicas, shim, start, startup, token, top, up,
};
use crate::lazy_args::Lazy;
use crate::output::ColorChoice;

const EXAMPLES: &str = "\
Examples:
  procward ps --sort mem --limit 10     the ten largest processes
  procward ps --tree --name nginx       nginx processes with their children
  procward ports --port 8080            who listens on 8080
  procward kill --port 8080             stop whoever listens on 8080
  procward kill 4242 --timeout 2        SIGTERM, then SIGKILL after 2 s
  procward info --json                  machine figures for a script
  procward top                          the terminal UI (? for its keys)

Exit codes: 0 done, 1 not found or failed, 2 bad input or refused (nothing done),
3 permission denied (try --elevated), 4 elevation failed or dismissed.";

/// Supervise, inspect and safely control processes and ports.
#[derive(Debug, Parser)]
#[command(name = "procward", version, about, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,

    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Configuration file (default: $PROCWARD_CONFIG or ~/.config/procward/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// Every procward command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List OS processes with CPU, memory, threads and uptime.
    Ps(Lazy<ps::Args>),
    /// Show machine figures: CPU, memory, disks, temperatures, load, uptime.
    Info(Lazy<info::Args>),
    /// List listening TCP and bound UDP sockets with their processes.
    Ports(Lazy<ports::Args>),
    /// Signal processes safely: SIGTERM, then SIGKILL after a grace period.
    Kill(Lazy<kill::Args>),
    /// Terminal UI: processes with CPU bars, managed processes with logs, ports, queue.
    Top(Lazy<top::Args>),
    /// Tool form for orchestrators: `process list`, `process kill --pid N` (JSON when piped).
    Process(Lazy<process::Args>),
    /// Print a shell completion script.
    Completions(Lazy<completions::Args>),
    /// Run the daemon (foreground, --detach), or `daemon status` / `daemon stop`.
    Daemon(Lazy<daemon::Args>),
    /// Register a managed process and start it.
    Start(Lazy<Box<start::Args>>),
    /// Stop managed processes (stop signal to the group, SIGKILL after the timeout).
    Stop(Lazy<managed::NamesArgs>),
    /// Restart managed processes.
    Restart(Lazy<managed::NamesArgs>),
    /// Restart without downtime: start a new instance, wait until it is ready, then stop
    /// the old one (replicas one at a time).
    Reload(Lazy<replicas::ReloadArgs>),
    /// Set the number of replicas of a managed process.
    Scale(Lazy<replicas::ScaleArgs>),
    /// Stop managed processes and forget them.
    Delete(Lazy<managed::NamesArgs>),
    /// Pause managed processes (SIGSTOP to the group).
    Pause(Lazy<managed::NamesArgs>),
    /// Resume paused processes (SIGCONT to the group).
    Resume(Lazy<managed::NamesArgs>),
    /// Send a signal to a managed process's group.
    Signal(Lazy<managed::SignalArgs>),
    /// List managed processes.
    List(Lazy<managed::ListArgs>),
    /// Everything about one managed process.
    Status(Lazy<managed::StatusArgs>),
    /// Show (and follow) a managed process's output.
    Logs(Lazy<logs::Args>),
    /// Empty managed processes' logs while they keep running.
    Flush(Lazy<logs::FlushArgs>),
    /// Show the audit log: every kill, stop, restart, delete, signal and queue cancel.
    Audit(Lazy<audit::Args>),
    /// Start the processes of a procward.toml in dependency order.
    Up(Lazy<up::Args>),
    /// Stop the processes of a procward.toml, dependents first.
    Down(Lazy<up::Args>),
    /// Convert a pm2 ecosystem file or a process-compose.yaml into a procward.toml.
    Import(Lazy<import::Args>),
    /// Serve MCP on stdio: procward as a safe process tool for AI assistants.
    Mcp(Lazy<mcp::Args>),
    /// Print (or --rotate) the bearer token for the daemon's TCP listener.
    Token(Lazy<token::Args>),
    /// The job queue: add, list, show, logs, cancel, retry, wait, pause, clean, groups.
    Queue(Lazy<queue::Args>),
    /// Run a command as a queued job: its output printed live, its exit code returned.
    Run(Lazy<queue::RunArgs>),
    /// The daemons sharing the job queue (with [queue] backend = "redis"): alive or gone,
    /// version, load, CPUs, jobs running, last seen.
    Hosts(Lazy<queue::HostsArgs>),
    /// Start the daemon at boot: write and enable a systemd unit (--user with linger, or --system).
    Startup(Lazy<startup::Args>),
    /// Undo `startup`: disable and remove the unit (managed processes keep running).
    Unstartup(Lazy<startup::RemoveArgs>),
    /// Internal: the per-process shim started by the daemon.
    #[command(hide = true)]
    Shim(Lazy<shim::Args>),
}
