//! `procward completions SHELL`: completion scripts from the clap definitions.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Arguments of `procward completions`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  procward completions bash > ~/.local/share/bash-completion/completions/procward"
)]
pub struct Args {
    /// The shell to generate for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Prints the completion script.
pub fn run(args: Args) -> anyhow::Result<u8> {
    // Every command whole, or `help <command> <subcommand>` would miss the subcommands.
    crate::lazy_args::eager();
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "procward",
        &mut std::io::stdout(),
    );
    Ok(crate::exit::OK)
}
