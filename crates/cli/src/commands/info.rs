//! `procward info`: machine figures.

use std::io::Write as _;

use procward_core::system_info;

use super::Context;
use crate::output::{Align, Output, Table, format, ignore_broken_pipe};

/// Arguments of `procward info`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  procward info\n  procward info --json | jq .memory_percent")]
pub struct Args {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `procward info`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    let info = system_info()?;
    if output.json {
        ignore_broken_pipe(output.json(&info))?;
        return Ok(crate::exit::OK);
    }
    let [one, five, fifteen] = info.load_average;
    let mut summary = Table::new(&[("", Align::Left), ("", Align::Left)]).without_header();
    summary.row([
        "Host".into(),
        format!("{} ({}, kernel {})", info.hostname, info.os, info.kernel),
    ]);
    summary.row([
        "CPU".into(),
        format!("{:.1}% of {} CPUs", info.cpu_percent, info.cpu_count),
    ]);
    summary.row(["Load".into(), format!("{one:.2} {five:.2} {fifteen:.2}")]);
    summary.row([
        "Memory".into(),
        format!(
            "{} used of {} ({:.1}%), {} available",
            format::bytes(info.memory_used),
            format::bytes(info.memory_total),
            info.memory_percent,
            format::bytes(info.memory_available)
        ),
    ]);
    summary.row([
        "Swap".into(),
        format!(
            "{} used of {}",
            format::bytes(info.swap_used),
            format::bytes(info.swap_total)
        ),
    ]);
    summary.row([
        "Uptime".into(),
        format!(
            "{} (booted at {} Unix time)",
            format::duration(info.uptime_seconds),
            info.boot_time
        ),
    ]);
    let temps = if info.temperatures.is_empty() {
        "no sensors".to_owned()
    } else {
        info.temperatures
            .iter()
            .map(|(k, v)| format!("{k} {v:.0}°C"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    summary.row(["Temperatures".into(), temps]);

    let mut disks = Table::new(&[
        ("MOUNT", Align::Left),
        ("FS", Align::Left),
        ("SIZE", Align::Right),
        ("USED", Align::Right),
        ("FREE", Align::Right),
        ("USE%", Align::Right),
        ("DEVICE", Align::Left),
    ]);
    for d in &info.disks {
        disks.row([
            d.mount_point.clone(),
            d.file_system.clone(),
            format::bytes(d.total),
            format::bytes(d.used),
            format::bytes(d.free),
            format::percent(d.percent),
            d.device.clone(),
        ]);
    }
    let print = || -> std::io::Result<()> {
        output.table(&summary)?;
        writeln!(std::io::stdout())?;
        output.table(&disks)
    };
    ignore_broken_pipe(print())?;
    Ok(crate::exit::OK)
}
