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
    after_help = "Examples:\n  procward logs web\n  procward logs web --lines 200 --stderr\n  procward logs web --lines all > web.log\n  procward logs web --follow\n  procward logs web --since 10m          (timestamped logs: started with --timestamps)\n  procward logs web --since 2026-12-06T08:00:00Z\n\nTimestamped logs show stdout and stderr interleaved by time."
)]
pub struct Args {
    /// Managed process.
    name: String,
    /// Lines from the end of each stream to show first: a count (0: none, any size) or
    /// `all` for the whole kept history, streamed from the files [default: 50].
    #[arg(long, short = 'n', value_name = "N|all", value_parser = lines, allow_hyphen_values = true)]
    lines: Option<u32>,
    /// Keep printing new lines as they come (across rotations) until interrupted.
    #[arg(long, short)]
    follow: bool,
    /// Only stdout.
    #[arg(long, conflicts_with = "stderr")]
    stdout: bool,
    /// Only stderr.
    #[arg(long)]
    stderr: bool,
    /// Only lines written since this long ago (`10m`, `2h`) or this time (RFC 3339, e.g.
    /// `2026-12-06T08:00:00Z`); every such line unless --lines is given. Needs
    /// timestamped logs (`start --timestamps`).
    #[arg(long, value_name = "DURATION|TIME", value_parser = crate::parse::since)]
    since: Option<u64>,
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
        // 50 lines by default; with --since, every line since then.
        let default = if args.since.is_some() { ALL } else { 50 };
        let request = v1::LogsRequest {
            name: args.name,
            lines: args.lines.unwrap_or(default),
            follow: args.follow,
            stdout: args.stdout,
            stderr: args.stderr,
            since_ms: args.since,
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
    while let Some(mut line) = stream.message().await? {
        let stderr = line.stream() == v1::LogStream::Stderr;
        // A set's lines name their replica, as pm2's `0|web | ...`.
        if !line.process.is_empty() {
            let mut tagged = format!("{} | ", line.process).into_bytes();
            tagged.append(&mut line.line);
            line.line = tagged;
        }
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

/// Arguments of `procward flush`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward flush web\n  procward flush web worker\n\nThe live log files are emptied and the rotated ones removed; the processes keep running\nand their next lines start the emptied files."
)]
pub struct FlushArgs {
    /// Managed processes whose logs to empty.
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `procward flush`; the exit code is the worst of the names'.
pub fn run_flush(args: FlushArgs, ctx: &Context) -> anyhow::Result<u8> {
    super::block_on(async move {
        let mut client = session().await?;
        let mut code = crate::exit::OK;
        let mut flushed = Vec::new();
        for name in args.names {
            match client.flush(v1::NameRequest { name }).await {
                Ok(answer) => {
                    let answer = answer.into_inner();
                    if !args.json {
                        println!(
                            "{}: logs emptied ({} removed)",
                            answer.name,
                            crate::output::format::bytes(answer.bytes_removed)
                        );
                    }
                    flushed.push(serde_json::json!({
                        "name": answer.name,
                        "bytes_removed": answer.bytes_removed,
                    }));
                }
                Err(status) => {
                    eprintln!("procward: {}", status.message());
                    code = crate::exit::worst(code, crate::exit::for_status(&status));
                }
            }
        }
        if args.json {
            ignore_broken_pipe(Output::new(true, ctx.color).json(&flushed))?;
        }
        Ok(code)
    })
}
