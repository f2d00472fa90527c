//! `procward token`: the bearer token TCP clients send (made on first use).

use procward_daemon::{Home, token};
use serde_json::json;

use super::Context;
use crate::output::Output;

const EXAMPLES: &str = "\
Examples:
  procward token                  print the token (made now if there is none)
  procward token --rotate         replace it; the old one stops working at once
  grpcurl -H \"authorization: Bearer $(procward token)\" 127.0.0.1:50051 list

The token lives in $PROCWARD_HOME/token (mode 0600). Only the TCP listener
(`procward daemon --listen`) asks for it; the Unix socket is private to your user.";

/// Arguments of `procward token`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Make a new token; a running daemon accepts only the new one from now on.
    #[arg(long)]
    rotate: bool,
    /// Print JSON: {"token": ..., "path": ...}.
    #[arg(long)]
    json: bool,
}

/// Runs `procward token`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let home = Home::from_env()?;
    home.create()?;
    let path = home.token_file();
    let value = if args.rotate {
        token::rotate(&path)?
    } else {
        token::load_or_create(&path)?
    };
    let output = Output::new(args.json, ctx.color);
    if output.json {
        output.json(&json!({"token": value, "path": path}))?;
    } else {
        println!("{value}");
    }
    Ok(crate::exit::OK)
}
