//! One module per command; each owns its arguments and its output.

pub mod audit;
pub mod completions;
pub mod daemon;
pub mod import;
pub mod info;
pub mod kill;
pub mod limit_args;
pub mod logs;
pub mod managed;
pub mod mcp;
pub mod ports;
pub mod process;
pub mod ps;
pub mod queue;
pub mod replicas;
pub mod serve;
pub mod shim;
pub mod start;
pub mod startup;
pub mod token;
pub mod top;
pub mod up;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::output::ColorChoice;

/// What every command may need besides its own arguments.
pub struct Context {
    /// The `--color` choice.
    pub color: ColorChoice,
    /// Defaults from the configuration file.
    pub config: Config,
}

/// `procward`: runs the parsed command line; returns the exit code. The foreground
/// daemon and the MCP server are `procwardd`'s: this process becomes it.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    // The shim is the daemon's helper, not a user command: it reads no config file (one
    // read less on every start, and a broken config cannot stop a process from starting).
    let command = match cli.command {
        Command::Shim(args) => return shim::run(args.into_inner()),
        Command::Daemon(args) if args.serves() => return crate::server_exe::exec_self_args(),
        Command::Mcp(_) => return crate::server_exe::exec_self_args(),
        command => command,
    };
    let ctx = Context {
        color: cli.color,
        config: Config::load(cli.config.as_deref())?,
    };
    match command {
        Command::Ps(args) => ps::run(args.into_inner(), &ctx),
        Command::Info(args) => info::run(args.into_inner(), &ctx),
        Command::Ports(args) => ports::run(args.into_inner(), &ctx),
        Command::Kill(args) => kill::run(args.into_inner(), &ctx),
        Command::Top(args) => top::run(args.into_inner(), &ctx),
        Command::Process(args) => process::run(args.into_inner(), &ctx),
        Command::Completions(args) => completions::run(args.into_inner()),
        Command::Daemon(args) => daemon::run(args.into_inner(), &ctx),
        Command::Start(args) => start::run(*args.into_inner(), &ctx),
        Command::Stop(args) => managed::run_action(managed::Action::Stop, args.into_inner(), &ctx),
        Command::Restart(args) => {
            managed::run_action(managed::Action::Restart, args.into_inner(), &ctx)
        }
        Command::Reload(args) => replicas::run_reload(args.into_inner(), &ctx),
        Command::Scale(args) => replicas::run_scale(args.into_inner(), &ctx),
        Command::Delete(args) => {
            managed::run_action(managed::Action::Delete, args.into_inner(), &ctx)
        }
        Command::Pause(args) => {
            managed::run_action(managed::Action::Pause, args.into_inner(), &ctx)
        }
        Command::Resume(args) => {
            managed::run_action(managed::Action::Resume, args.into_inner(), &ctx)
        }
        Command::Signal(args) => managed::run_signal(args.into_inner(), &ctx),
        Command::List(args) => managed::run_list(args.into_inner(), &ctx),
        Command::Status(args) => managed::run_status(args.into_inner(), &ctx),
        Command::Logs(args) => logs::run(args.into_inner(), &ctx),
        Command::Flush(args) => logs::run_flush(args.into_inner(), &ctx),
        Command::Audit(args) => audit::run(args.into_inner(), &ctx),
        Command::Up(args) => up::run_up(args.into_inner(), &ctx),
        Command::Down(args) => up::run_down(args.into_inner(), &ctx),
        Command::Import(args) => import::run(args.into_inner(), &ctx),
        Command::Token(args) => token::run(args.into_inner(), &ctx),
        Command::Queue(args) => queue::run(args.into_inner(), &ctx),
        Command::Run(args) => queue::run_shortcut(args.into_inner(), &ctx),
        Command::Hosts(args) => queue::run_hosts(args.into_inner(), &ctx),
        Command::Startup(args) => startup::run(args.into_inner(), &ctx),
        Command::Unstartup(args) => startup::run_remove(args.into_inner(), &ctx),
        Command::Mcp(_) | Command::Shim(_) => unreachable!("handled above"),
    }
}

/// `procwardd`: the foreground daemon, the MCP stdio server and the shim; every other
/// command is the client's.
pub fn run_server(cli: Cli) -> anyhow::Result<u8> {
    let command = match cli.command {
        Command::Shim(args) => return shim::run(args.into_inner()),
        command => command,
    };
    let ctx = Context {
        color: cli.color,
        config: Config::load(cli.config.as_deref())?,
    };
    match command {
        Command::Daemon(args) if args.serves() => serve::run(args.into_inner(), &ctx),
        Command::Mcp(args) => mcp::run(args.into_inner(), &ctx),
        _ => Err(procward_core::Error::InvalidArgument(
            "procwardd runs only `daemon`, `mcp` and `shim`; the other commands are procward's"
                .into(),
        )
        .into()),
    }
}

/// Runs a client future on a small single-threaded runtime (one-shot commands need no
/// more, and `ps` or `kill` never pay for one).
pub fn block_on<F: std::future::Future<Output = anyhow::Result<u8>>>(
    future: F,
) -> anyhow::Result<u8> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future)
}
