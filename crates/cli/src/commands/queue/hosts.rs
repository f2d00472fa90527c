//! `procward hosts`: the daemons sharing the job queue (the fleet view). With the queue on
//! Redis several daemons take jobs from it, and this is where to see who is there, who
//! went quiet and how loaded each is; with the embedded queue it lists this daemon.

use std::time::SystemTime;

use procward_daemon::engine::queue::HostInfo;
use procward_proto::v1;

use super::super::Context;
use super::client;
use crate::output::{Align, Output, Table, Tint, format, ignore_broken_pipe};

/// Arguments of `procward hosts`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward hosts\n  procward hosts --json | jq '.[] | \
                        select(.alive | not) | .host'    hosts that went quiet"
)]
pub struct HostsArgs {
    /// Print JSON: an array of {host, version, pid, seen_ms, load, cpus, jobs_running,
    /// alive}.
    #[arg(long)]
    json: bool,
}

/// Every host of the fleet view, from the daemon.
pub async fn fetch_hosts() -> anyhow::Result<Vec<HostInfo>> {
    Ok(client()
        .await?
        .hosts(v1::HostsRequest {})
        .await?
        .into_inner()
        .hosts
        .into_iter()
        .map(HostInfo::from)
        .collect())
}

/// Runs `procward hosts`.
pub fn run_hosts(args: HostsArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::super::block_on(async move {
        let hosts = fetch_hosts().await?;
        if output.json {
            ignore_broken_pipe(output.json(&hosts))?;
        } else {
            let now = procward_core::sys::unix_ms(SystemTime::now());
            ignore_broken_pipe(output.table(&table(&hosts, now)))?;
        }
        Ok(crate::exit::OK)
    })
}

/// One row per host; a host that stopped registering is `gone`, in red.
fn table(hosts: &[HostInfo], now_ms: u64) -> Table {
    let mut table = Table::new(&[
        ("HOST", Align::Left),
        ("STATE", Align::Left),
        ("VERSION", Align::Left),
        ("LOAD", Align::Right),
        ("CPUS", Align::Right),
        ("JOBS", Align::Right),
        ("SEEN", Align::Right),
    ]);
    for host in hosts {
        let (state, tint) = if host.alive {
            ("alive", Tint::Green)
        } else {
            ("gone", Tint::Red)
        };
        let ago = now_ms.saturating_sub(host.seen_ms) / 1000;
        table.tinted_row(vec![
            (host.host.clone(), Tint::Plain),
            (state.to_owned(), tint),
            (host.version.clone(), Tint::Plain),
            (format!("{:.2}", host.load), Tint::Plain),
            (host.cpus.to_string(), Tint::Plain),
            (host.jobs_running.to_string(), Tint::Plain),
            (format!("{} ago", format::duration(ago)), Tint::Plain),
        ]);
    }
    table
}

/// `procward list --all-hosts`: every host's managed processes, one row each, with its
/// host (a host that stopped registering shows what it last reported).
pub fn run_all_hosts_list(json: bool, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(json, ctx.color);
    super::super::block_on(async move {
        let hosts = fetch_hosts().await?;
        if output.json {
            let rows: Vec<serde_json::Value> = hosts
                .iter()
                .flat_map(|h| {
                    h.managed.iter().map(move |p| {
                        let mut row = serde_json::to_value(p).unwrap_or_default();
                        row["host"] = h.host.clone().into();
                        row["host_alive"] = h.alive.into();
                        row
                    })
                })
                .collect();
            ignore_broken_pipe(output.json(&rows))?;
        } else {
            ignore_broken_pipe(output.table(&processes_table(&hosts)))?;
        }
        Ok(crate::exit::OK)
    })
}

fn processes_table(hosts: &[HostInfo]) -> Table {
    let mut table = Table::new(&[
        ("HOST", Align::Left),
        ("NAME", Align::Left),
        ("STATE", Align::Left),
        ("PID", Align::Right),
        ("RESTARTS", Align::Right),
        ("UPTIME", Align::Right),
        ("CPU", Align::Right),
        ("MEM", Align::Right),
    ]);
    for host in hosts {
        let tint = if host.alive { Tint::Plain } else { Tint::Red };
        for p in &host.managed {
            let running = p.pid.is_some();
            table.tinted_row(vec![
                (host.host.clone(), tint),
                (p.name.clone(), Tint::Plain),
                (p.state.clone(), Tint::Plain),
                (
                    p.pid.map_or_else(|| "-".into(), |pid| pid.to_string()),
                    Tint::Plain,
                ),
                (p.restarts.to_string(), Tint::Plain),
                (
                    if running {
                        format::duration(p.uptime_ms / 1000)
                    } else {
                        "-".into()
                    },
                    Tint::Plain,
                ),
                (format::percent(p.cpu_percent), Tint::Plain),
                (format::bytes(p.memory_rss), Tint::Plain),
            ]);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, alive: bool, seen_ms: u64) -> HostInfo {
        HostInfo {
            host: name.into(),
            version: "1.2.3".into(),
            pid: 42,
            seen_ms,
            load: 0.5,
            cpus: 8,
            jobs_running: 3,
            alive,
            managed: Vec::new(),
        }
    }

    #[test]
    fn rows_say_alive_or_gone_and_how_long_ago() {
        let table = table(&[host("a", true, 10_000), host("b", false, 0)], 70_000);
        let mut out = Vec::new();
        table.render(&mut out, None, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("HOST"), "{text}");
        for word in ["STATE", "VERSION", "LOAD", "CPUS", "JOBS", "SEEN"] {
            assert!(lines[0].contains(word), "{text}");
        }
        assert!(
            lines[1].contains("alive") && lines[1].contains("1m00s ago"),
            "{text}"
        );
        assert!(
            lines[1].contains("0.50") && lines[1].contains("1.2.3"),
            "{text}"
        );
        assert!(
            lines[2].contains("gone") && lines[2].contains("1m10s ago"),
            "{text}"
        );
    }
}
