//! `procward audit`: the audit log of this home (every kill, stop, restart, delete, signal
//! and queue cancel, by whom and how it ended), rotated files included, oldest first. Read
//! straight from `$PROCWARD_HOME/audit.log*`: no daemon needed.

use procward_daemon::Home;
use procward_daemon::engine::audit::file::audit_path;
use procward_daemon::engine::audit::{Entry, Outcome, read_entries};

use super::Context;
use crate::output::{Align, Output, Table, Tint, ignore_broken_pipe};

/// Arguments of `procward audit`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward audit\n  procward audit --since 1h\n  procward audit --since 2026-12-03T09:00:00Z --json"
)]
pub struct Args {
    /// Only entries from the last DURATION (`30m`, `2h`, `1day`) or since TIME (RFC 3339,
    /// `2026-12-03T09:00:00Z`).
    #[arg(long, value_name = "DURATION|TIME", value_parser = crate::parse::since)]
    since: Option<u64>,
    /// Print the entries as one JSON array.
    #[arg(long)]
    json: bool,
}

/// Runs `procward audit`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    let home = Home::from_env()?;
    let path = audit_path(home.root());
    let (mut entries, bad) = read_entries(&path)?;
    if let Some(since) = args.since {
        entries.retain(|e| e.unix_ms >= since);
    }
    if bad > 0 {
        eprintln!(
            "warning: {bad} line(s) of {} are not audit entries: skipped",
            path.display()
        );
    }
    let result = if output.json {
        output.json(&entries)
    } else {
        output.table(&table(&entries))
    };
    ignore_broken_pipe(result)?;
    Ok(crate::exit::OK)
}

fn table(entries: &[Entry]) -> Table {
    let mut table = Table::new(&[
        ("TIME", Align::Left),
        ("INTERFACE", Align::Left),
        ("CALLER", Align::Left),
        ("ACTION", Align::Left),
        ("TARGET", Align::Left),
        ("RESULT", Align::Left),
        ("MESSAGE", Align::Left),
    ]);
    for e in entries {
        let caller = match &e.client {
            Some(client) => format!("{} ({client})", e.caller),
            None => e.caller.clone(),
        };
        let tint = match e.result {
            Outcome::Ok => Tint::Green,
            _ => Tint::Red,
        };
        table.tinted_row(vec![
            (e.time.clone(), Tint::Plain),
            (e.interface.as_str().to_owned(), Tint::Plain),
            (caller, Tint::Plain),
            (e.action.clone(), Tint::Plain),
            (e.target.describe(), Tint::Plain),
            (e.result.as_str().to_owned(), tint),
            (e.message.clone(), Tint::Dim),
        ]);
    }
    table
}
