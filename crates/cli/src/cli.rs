//! The command line: global flags and the list of commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{completions, info, kill, ports, process, ps};
use crate::output::ColorChoice;

const EXAMPLES: &str = "\
Examples:
  procward ps --sort mem --limit 10     the ten largest processes
  procward ps --tree --name nginx       nginx processes with their children
  procward ports --port 8080            who listens on 8080
  procward kill --port 8080             stop whoever listens on 8080
  procward kill 4242 --timeout 2        SIGTERM, then SIGKILL after 2 s
  procward info --json                  machine figures for a script

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
    Ps(ps::Args),
    /// Show machine figures: CPU, memory, disks, temperatures, load, uptime.
    Info(info::Args),
    /// List listening TCP and bound UDP sockets with their processes.
    Ports(ports::Args),
    /// Signal processes safely: SIGTERM, then SIGKILL after a grace period.
    Kill(kill::Args),
    /// Tool form for orchestrators: `process list`, `process kill --pid N` (JSON when piped).
    Process(process::Args),
    /// Print a shell completion script.
    Completions(completions::Args),
}
