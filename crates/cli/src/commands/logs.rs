//! `procward logs`: the last lines of a managed process's output, and new ones as they come.

use std::io::Write as _;

use procward_proto::v1;
use tonic::Streaming;

use super::Context;
use super::managed::session;
use crate::output::{Output, Tint, ignore_broken_pipe};

/// Arguments of `procward logs`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward logs web\n  procward logs web --lines 200 --stderr\n  procward logs web --lines all > web.log\n  procward logs web --follow"
)]
pub struct Args {
    /// Managed process.
    name: String,
    /// Lines from the end of each stream to show first: a count (0: none, any size) or
    /// `all` for the whole kept history, streamed from the files.
    #[arg(long, short = 'n', default_value = "50", value_name = "N|all", value_parser = lines, allow_hyphen_values = true)]
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

/// `LogsRequest.lines` for every kept line (the daemon's `ALL_LOG_LINES`).
const ALL: u32 = u32::MAX;

/// A line count: `all`, or a whole number (counts beyond the history mean all of it).
fn lines(text: &str) -> Result<u32, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("all") {
        return Ok(ALL);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(text.parse::<u32>().unwrap_or(ALL));
    }
    Err(format!(
        "lines '{text}' is not a whole number or 'all' (e.g. --lines 200, --lines all)"
    ))
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
        let stream = client.logs(request).await?.into_inner();
        print_lines(stream, args.follow, false, output).await?;
        Ok(crate::exit::OK)
    })
}

/// Prints a log stream: stderr lines in red on a terminal, or (`split`) to stderr.
pub async fn print_lines(
    mut stream: Streaming<v1::LogLine>,
    flush_each: bool,
    split: bool,
    output: Output,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    while let Some(line) = stream.message().await? {
        let stderr = line.stream() == v1::LogStream::Stderr;
        let written = if stderr && split {
            out.flush().and_then(|()| {
                let mut err = std::io::stderr().lock();
                err.write_all(&line.line)
                    .and_then(|()| err.write_all(b"\n"))
            })
        } else if stderr && output.colour {
            out.write_all(Tint::Red.code().as_bytes())
                .and_then(|()| out.write_all(&line.line))
                .and_then(|()| out.write_all(b"\x1b[0m\n"))
        } else {
            out.write_all(&line.line)
                .and_then(|()| out.write_all(b"\n"))
        };
        match written {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
        if flush_each {
            out.flush()?;
        }
    }
    ignore_broken_pipe(out.flush())?;
    Ok(())
}
