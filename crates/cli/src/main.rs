//! `procward`: supervise, inspect and safely control processes and ports.

mod cli;
mod client;
mod commands;
mod config;
mod exit;
mod output;
mod parse;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            match error.downcast_ref::<tonic::Status>() {
                Some(status) => eprintln!("procward: {}", status.message()),
                None => eprintln!("procward: {error:#}"),
            }
            exit::for_error(&error)
        }
    }
}
