//! The `procward` command line and the `procwardd` daemon binary, from one crate.
//!
//! `procward` (the client, [`client_main`]) parses the command line and runs every
//! command itself (ps, ports, kill, and the daemon's clients over gRPC), except the ones
//! only the server side can serve: `procward daemon` in the foreground and `procward mcp`
//! exec `procwardd` ([`daemon_main`]) with the same arguments. The split keeps the server
//! side (tonic server, axum, socket.io, MCP, SQLite) out of the client binary, whose
//! start-up is part of every CLI call.
//!
//! The request path of `procward start NAME -- CMD`: the client sends `Supervisor.Start`
//! over the daemon's Unix socket (`client.rs`); the daemon's gRPC transport converts it
//! and calls the engine, which validates the spec once, registers it and launches a
//! `procward-shim` (core's `supervisor::shim`), which spawns CMD and reports its pid.

mod cli;
mod client;
mod commands;
mod config;
mod exit;
mod lazy_args;
mod output;
mod parse;
mod server_exe;

use std::process::ExitCode;

use clap::Parser;

/// `procward`: every command; the daemon and MCP server by exec'ing `procwardd`.
pub fn client_main() -> ExitCode {
    main_with(commands::run)
}

/// `procwardd`: the daemon (`procwardd daemon`), the MCP stdio server (`procwardd mcp`)
/// and the shim's fallback (`procwardd shim FILE`), started by `procward`.
pub fn daemon_main() -> ExitCode {
    main_with(commands::run_server)
}

fn main_with(run: fn(cli::Cli) -> anyhow::Result<u8>) -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("procward: {}", exit::describe(&error));
            exit::for_error(&error)
        }
    }
}
