//! `procward process list|kill`: the tool form for orchestrators that call procward as a
//! command. Same engine as `ps` and `kill`; JSON whenever stdout is not a terminal.

use std::io::IsTerminal;

use clap::Subcommand;

use super::{Context, kill, ps};
use crate::output::Output;

/// Arguments of `procward process`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward process list --limit 5 | jq '.processes[].name'\n  procward process kill --pid 4242 --timeout 2\n  procward process kill --pid 4242 --start-ticks 918273"
)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List processes (as `procward ps`).
    List(ps::Args),
    /// Kill one process (as `procward kill`).
    Kill(KillArgs),
}

/// `process kill` names its target with `--pid`.
#[derive(Debug, clap::Args)]
struct KillArgs {
    /// The process to signal.
    #[arg(long, value_name = "PID", allow_negative_numbers = true)]
    pid: String,
    #[command(flatten)]
    options: KillOptions,
}

/// The `kill` options that make sense for one named PID.
#[derive(Debug, clap::Args)]
struct KillOptions {
    /// Signal to send first [default: TERM].
    #[arg(long, short, value_parser = crate::parse::signal)]
    signal: Option<procward_core::Signal>,
    /// Seconds before SIGKILL [default: 5].
    #[arg(long, short, value_parser = crate::parse::timeout, allow_hyphen_values = true)]
    timeout: Option<std::time::Duration>,
    /// SIGKILL at once.
    #[arg(long, short)]
    force: bool,
    /// Also signal descendants.
    #[arg(long)]
    tree: bool,
    /// Refuse unless the process started at this Unix time (coarse).
    #[arg(long, value_name = "UNIX_SECS")]
    start_time: Option<u64>,
    /// Refuse unless the process started this many clock ticks after boot (exact).
    #[arg(long, value_name = "TICKS")]
    start_ticks: Option<u64>,
    /// Print JSON even on a terminal.
    #[arg(long)]
    json: bool,
}

/// Runs `procward process ...`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let piped = !std::io::stdout().is_terminal();
    match args.action {
        Action::List(list) => {
            let output = Output::new(list.json || piped, ctx.color);
            ps::list(list, ctx, output)
        }
        Action::Kill(KillArgs { pid, options: o }) => {
            let output = Output::new(o.json || piped, ctx.color);
            let args = kill::Args {
                pids: vec![pid],
                signal: o.signal,
                timeout: o.timeout,
                force: o.force,
                no_wait: false,
                tree: o.tree,
                port: None,
                start_time: o.start_time,
                start_ticks: o.start_ticks,
                elevated: false,
                elevate_with: None,
                json: output.json,
            };
            kill::execute(args, ctx, output)
        }
    }
}
