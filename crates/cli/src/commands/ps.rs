//! `procward ps`: the process table, like `ps aux` but with a real CPU sample.

use std::time::Duration;

use anyhow::Context as _;
use procward_core::sys::ProcessNode;
use procward_core::sys::process::DEFAULT_SAMPLE_INTERVAL;
use procward_core::{ProcessInfo, ProcessQuery, ProcessSampler, ProcessStatus, SortKey};

use super::Context;
use crate::output::{Align, Output, Table, Tint, format, ignore_broken_pipe};
use crate::parse;

const EXAMPLES: &str = "\
Examples:
  procward ps                           every process, busiest first
  procward ps --sort mem --limit 10     the ten largest
  procward ps --user www-data --name php
  procward ps --tree                    parents with their children
  procward ps --json --interval 1s      JSON, CPU measured over one second

Each JSON row carries start_ticks (kernel start time in clock ticks since boot, 1/100 s):
pass it to `procward kill PID --start-ticks N` to be sure the PID is still that process.";

/// Arguments of `procward ps` (also used by `procward process list`).
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Sort by cpu, mem, pid, name or uptime [default: cpu].
    #[arg(long, short, value_parser = parse::sort_key)]
    pub sort: Option<SortKey>,
    /// Only processes of this user (name or uid).
    #[arg(long, short)]
    pub user: Option<String>,
    /// Only processes whose name or command line contains this text (case-insensitive).
    #[arg(long, short, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Show at most N processes.
    #[arg(long, short, value_name = "N", value_parser = parse::limit, allow_hyphen_values = true)]
    pub limit: Option<usize>,
    /// Show parent/child structure.
    #[arg(long, short)]
    pub tree: bool,
    /// CPU sample length, e.g. 200ms, 0.5s [default: 200ms].
    #[arg(long, short, value_parser = parse::interval, allow_hyphen_values = true)]
    pub interval: Option<Duration>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `procward ps`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    list(args, ctx, output)
}

/// Lists processes with the given output settings (shared with `process list`).
pub fn list(args: Args, ctx: &Context, output: Output) -> anyhow::Result<u8> {
    let defaults = &ctx.config.ps;
    let interval = match (args.interval, &defaults.interval) {
        (Some(i), _) => i,
        (None, Some(text)) => parse::interval(text)
            .map_err(anyhow::Error::msg)
            .context("config [ps] interval")?,
        (None, None) => DEFAULT_SAMPLE_INTERVAL,
    };
    let sort = match (args.sort, &defaults.sort) {
        (Some(s), _) => s,
        (None, Some(text)) => parse::sort_key(text)
            .map_err(anyhow::Error::msg)
            .context("config [ps] sort")?,
        (None, None) => SortKey::default(),
    };
    let query = ProcessQuery {
        sort,
        user: args.user,
        name: args.name,
        limit: args.limit.or(defaults.limit),
    };
    let all = ProcessSampler::new().sample(interval)?;
    let (processes, _) = query.apply(all);
    let result = if args.tree {
        let forest = ProcessNode::forest(processes, sort);
        if output.json {
            output.json(&forest)
        } else {
            output.table(&table(ProcessNode::flatten(&forest)))
        }
    } else if output.json {
        output.json(&processes)
    } else {
        output.table(&table(processes.iter().map(|p| (0, p)).collect()))
    };
    ignore_broken_pipe(result)?;
    Ok(crate::exit::OK)
}

fn table(rows: Vec<(usize, &ProcessInfo)>) -> Table {
    let mut table = Table::new(&[
        ("PID", Align::Right),
        ("PPID", Align::Right),
        ("USER", Align::Left),
        ("STATUS", Align::Left),
        ("CPU%", Align::Right),
        ("MEM%", Align::Right),
        ("RSS", Align::Right),
        ("VMS", Align::Right),
        ("THR", Align::Right),
        ("UPTIME", Align::Right),
        ("COMMAND", Align::Left),
    ]);
    for (depth, p) in rows {
        let branch = if depth == 0 {
            String::new()
        } else {
            format!("{}└─ ", "   ".repeat(depth - 1))
        };
        let status_tint = match p.status {
            ProcessStatus::Running => Tint::Green,
            ProcessStatus::Zombie | ProcessStatus::Dead => Tint::Red,
            ProcessStatus::Stopped | ProcessStatus::TracingStop | ProcessStatus::DiskSleep => {
                Tint::Yellow
            }
            _ => Tint::Plain,
        };
        let cpu_tint = if p.cpu_percent >= 50.0 {
            Tint::Yellow
        } else {
            Tint::Plain
        };
        table.tinted_row(vec![
            (p.pid.to_string(), Tint::Plain),
            (p.ppid.to_string(), Tint::Dim),
            (p.user.clone(), Tint::Plain),
            (p.status.as_str().to_owned(), status_tint),
            (format::percent(p.cpu_percent), cpu_tint),
            (format::percent(p.memory_percent), Tint::Plain),
            (format::bytes(p.memory_rss), Tint::Plain),
            (format::bytes(p.memory_vms), Tint::Dim),
            (p.threads.to_string(), Tint::Plain),
            (format::duration(p.uptime_seconds), Tint::Plain),
            (format!("{branch}{}", p.command), Tint::Plain),
        ]);
    }
    table
}
