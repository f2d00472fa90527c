//! `procward ports`: listening sockets with their processes, like `ss -ltnup`.

use procward_core::{PortInfo, get_ports};

use super::Context;
use crate::output::{Align, Output, Table, Tint, ignore_broken_pipe};
use crate::parse;

/// Arguments of `procward ports`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward ports\n  procward ports --port 5432\n  procward ports --json"
)]
pub struct Args {
    /// Only sockets on this port.
    #[arg(long, short, value_parser = parse::port, allow_hyphen_values = true)]
    port: Option<u16>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `procward ports`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    let mut ports = get_ports()?;
    if let Some(port) = args.port {
        ports.retain(|p| p.port == port);
    }
    let result = if output.json {
        output.json(&ports)
    } else {
        output.table(&table(&ports))
    };
    ignore_broken_pipe(result)?;
    Ok(crate::exit::OK)
}

fn table(ports: &[PortInfo]) -> Table {
    let mut table = Table::new(&[
        ("PROTO", Align::Left),
        ("ADDRESS", Align::Left),
        ("PORT", Align::Right),
        ("PID", Align::Right),
        ("USER", Align::Left),
        ("PROCESS", Align::Left),
    ]);
    for p in ports {
        let holders = if p.processes.is_empty() {
            ("-".to_owned(), Tint::Dim)
        } else {
            let names: Vec<String> = p
                .processes
                .iter()
                .map(|h| format!("{} ({})", h.name, h.pid))
                .collect();
            (names.join(", "), Tint::Plain)
        };
        table.tinted_row(vec![
            (p.protocol.as_str().to_owned(), Tint::Plain),
            (p.local_address.clone(), Tint::Plain),
            (p.port.to_string(), Tint::Green),
            (
                p.pid.map_or_else(|| "-".to_owned(), |pid| pid.to_string()),
                Tint::Plain,
            ),
            (p.user.clone(), Tint::Plain),
            holders,
        ]);
    }
    table
}
