//! `procward logs`: the last lines of a managed process's output, and new ones as they come.

use std::io::Write as _;

use procward_proto::v1;

use super::Context;
use super::managed::session;
use crate::output::{Output, Tint};

/// Arguments of `procward logs`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward logs web\n  procward logs web --lines 200 --stderr\n  procward logs web --follow"
)]
pub struct Args {
    /// Managed process.
    name: String,
    /// Lines from the end of each stream to show first.
    #[arg(long, short = 'n', default_value_t = 50, value_parser = lines, allow_hyphen_values = true)]
    lines: u32,
    /// Keep printing new lines as they come (across rotations) until interrupted.
    #[arg(long, short)]
    follow: bool,
    /// Only stdout.
    #[arg(long, conflicts_with = "stderr")]
    stdout: bool,
    /// Only stderr.
    #[arg(long)]
    stderr: bool,
}

fn lines(text: &str) -> Result<u32, String> {
    match text.trim().parse::<i64>() {
        Ok(n @ 0..=100_000) => Ok(n as u32),
        Ok(n) => Err(format!("lines must be 0-100000 (got {n})")),
        Err(_) => Err(format!("lines '{text}' is not a whole number")),
    }
}

/// Runs `procward logs`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(false, ctx.color);
    super::block_on(async move {
        let mut client = session().await?;
        let request = v1::LogsRequest {
            name: args.name,
            lines: args.lines,
            follow: args.follow,
            stdout: args.stdout,
            stderr: args.stderr,
        };
        let mut stream = client.logs(request).await?.into_inner();
        let mut out = std::io::stdout().lock();
        while let Some(line) = stream.message().await? {
            let written = if line.stream == "stderr" && output.colour {
                out.write_all(Tint::Red.code().as_bytes())
                    .and_then(|_| out.write_all(&line.line))
                    .and_then(|_| out.write_all(b"\x1b[0m\n"))
            } else {
                out.write_all(&line.line).and_then(|_| out.write_all(b"\n"))
            };
            match written {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(crate::exit::OK),
                other => other?,
            }
            if args.follow {
                out.flush()?;
            }
        }
        Ok(crate::exit::OK)
    })
}
