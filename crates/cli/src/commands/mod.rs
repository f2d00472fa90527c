//! One module per command; each owns its arguments and its output.

pub mod completions;
pub mod info;
pub mod kill;
pub mod ports;
pub mod process;
pub mod ps;

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

/// Runs the parsed command line; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let ctx = Context {
        color: cli.color,
        config: Config::load(cli.config.as_deref())?,
    };
    match cli.command {
        Command::Ps(args) => ps::run(args, &ctx),
        Command::Info(args) => info::run(args, &ctx),
        Command::Ports(args) => ports::run(args, &ctx),
        Command::Kill(args) => kill::run(args, &ctx),
        Command::Process(args) => process::run(args, &ctx),
        Command::Completions(args) => completions::run(args),
    }
}
