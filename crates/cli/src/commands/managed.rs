//! Commands on managed processes that take names: stop, restart, delete, pause, resume,
//! signal, list and status; and the output they share.

use procward_core::supervisor::spec::replica;
use procward_core::supervisor::state::State;
use procward_core::supervisor::view::ManagedView;
use procward_daemon::Home;
use procward_proto::convert::view_from_proto;
use procward_proto::v1;

use super::Context;
use crate::client::{self, Client};
use crate::output::managed::{self as shown, ManagedRow, rows};
use crate::output::{Align, Output, Table, Tint, format, ignore_broken_pipe};

/// A client of this home's daemon, started if needed.
pub async fn session() -> anyhow::Result<Client> {
    let home = Home::from_env()?;
    client::connect(&home, true).await
}

/// The action a name-taking command performs.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Stop (stop signal, then SIGKILL after the stop timeout).
    Stop,
    /// Stop and start again.
    Restart,
    /// Stop and forget.
    Delete,
    /// SIGSTOP the group.
    Pause,
    /// SIGCONT the group.
    Resume,
}

/// Arguments shared by stop, restart, delete, pause and resume.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward stop web\n  procward restart web worker\n  procward delete web"
)]
pub struct NamesArgs {
    /// Managed processes to act on.
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs one of the name-taking actions on every name; the exit code is the worst.
pub fn run_action(action: Action, args: NamesArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::block_on(async move {
        let mut client = session().await?;
        let mut views = Vec::new();
        let mut code = crate::exit::OK;
        for name in args.names {
            let request = v1::NameRequest { name: name.clone() };
            let answer = match action {
                Action::Stop => client.stop(request).await.map(|r| Some(r.into_inner())),
                Action::Restart => client.restart(request).await.map(|r| Some(r.into_inner())),
                Action::Pause => client.pause(request).await.map(|r| Some(r.into_inner())),
                Action::Resume => client.resume(request).await.map(|r| Some(r.into_inner())),
                Action::Delete => client.delete(request).await.map(|_| None),
            };
            match answer {
                // A set of replicas: every one of them was acted on.
                Ok(Some(view)) if view.name != name => {
                    for view in replicas_of(&mut client, &name, false).await? {
                        views.push(view_from_proto(view).map_err(anyhow::Error::msg)?);
                    }
                }
                Ok(Some(view)) => views.push(view_from_proto(view).map_err(anyhow::Error::msg)?),
                Ok(None) if !output.json => println!("{name}: deleted"),
                Ok(None) => {}
                Err(status) => {
                    eprintln!("procward: {}", status.message());
                    code = crate::exit::worst(code, crate::exit::for_status(&status));
                }
            }
        }
        if output.json {
            ignore_broken_pipe(output.json(&rows(&views)))?;
        } else {
            for view in &views {
                println!("{}: {}", view.spec.name, describe(view));
            }
        }
        Ok(code)
    })
}

/// The replicas of the set `base`, as `list` shows them (with `metrics`, as `list --json`):
/// what an action on a set's name answers with after its first replica's view.
async fn replicas_of(
    client: &mut Client,
    base: &str,
    metrics: bool,
) -> anyhow::Result<Vec<v1::ManagedProcess>> {
    let list = client.list(v1::ListRequest { metrics }).await?.into_inner();
    let mut processes = list.processes;
    processes.retain(|p| replica::names(base, &p.name));
    Ok(processes)
}

/// Arguments of `procward signal`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  procward signal web HUP\n  procward signal worker USR1")]
pub struct SignalArgs {
    /// Managed process.
    name: String,
    /// Signal name or number.
    #[arg(value_parser = crate::parse::signal)]
    signal: procward_core::Signal,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `procward signal`.
pub fn run_signal(args: SignalArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::block_on(async move {
        let mut client = session().await?;
        let request = v1::SignalRequest {
            name: args.name,
            signal: args.signal.name().into(),
        };
        let view = client.signal(request).await?.into_inner();
        print_one(&view, output, &format!("{} sent", args.signal))
    })
}

/// Arguments of `procward list`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward list\n  procward list --json | jq '.[] | select(.state == \"failed\")'\n  procward list --all-hosts          every host's processes (queue on Redis)"
)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Every host's managed processes, with a HOST column (the daemons sharing the job
    /// queue on Redis; see `procward hosts`).
    #[arg(long)]
    all_hosts: bool,
}

/// Runs `procward list`.
pub fn run_list(args: ListArgs, ctx: &Context) -> anyhow::Result<u8> {
    if args.all_hosts {
        return super::queue::hosts::run_all_hosts_list(args.json, ctx);
    }
    let output = Output::new(args.json, ctx.color);
    super::block_on(async move {
        let mut client = session().await?;
        // The JSON carries metrics; the table does not need their /proc reads.
        let request = v1::ListRequest { metrics: args.json };
        let list = client.list(request).await?.into_inner();
        print_views(list.processes, output)
    })
}

/// Prints several processes as the `list` table or JSON.
pub fn print_views(views: Vec<v1::ManagedProcess>, output: Output) -> anyhow::Result<u8> {
    let views = views
        .into_iter()
        .map(view_from_proto)
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let result = if output.json {
        output.json(&rows(&views))
    } else {
        output.table(&table(&views))
    };
    ignore_broken_pipe(result)?;
    Ok(crate::exit::OK)
}

/// Arguments of `procward status`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward status web\n  procward status web --json\n\nA set of replicas' name shows each replica as `list` does (JSON: an array)."
)]
pub struct StatusArgs {
    /// Managed process.
    name: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `procward status`.
pub fn run_status(args: StatusArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::block_on(async move {
        let mut client = session().await?;
        let name = args.name;
        let view = client
            .status(v1::NameRequest { name: name.clone() })
            .await?
            .into_inner();
        // A set of replicas: each one, as `list` shows them.
        if view.name != name {
            return print_views(replicas_of(&mut client, &name, true).await?, output);
        }
        let view = view_from_proto(view).map_err(anyhow::Error::msg)?;
        if output.json {
            ignore_broken_pipe(output.json(&ManagedRow::from(&view)))?;
            return Ok(crate::exit::OK);
        }
        let mut table = Table::new(&[("", Align::Left), ("", Align::Left)]).without_header();
        let spec = &view.spec;
        let exit = view.last_exit.as_ref().map_or_else(
            || "-".to_owned(),
            |e| match (e.exit_code, e.signal) {
                (Some(code), _) => format!("exit code {code}"),
                (_, Some(signal)) => format!("killed by signal {signal}"),
                _ => "unknown".to_owned(),
            },
        );
        let rows = [
            ("name", spec.name.clone()),
            ("state", view.state.to_string()),
            (
                "pid",
                view.pid.map_or_else(|| "-".into(), |p| p.to_string()),
            ),
            ("uptime", format::duration(view.uptime_ms / 1000)),
            ("restarts", view.restarts.to_string()),
            ("last exit", exit),
            (
                "next restart",
                view.next_restart_at_ms
                    .map_or_else(|| "-".into(), in_from_now),
            ),
            (
                "reason",
                if view.reason.is_empty() {
                    "-".into()
                } else {
                    view.reason.clone()
                },
            ),
            (
                "health",
                if view.health.as_str().is_empty() {
                    "-".into()
                } else {
                    view.health.as_str().into()
                },
            ),
            ("cpu", format!("{:.1}%", view.cpu_percent)),
            ("memory", format::bytes(view.memory_rss)),
            ("command", spec.command.join(" ")),
            (
                "cwd",
                spec.cwd
                    .as_ref()
                    .map_or_else(|| "-".into(), |c| c.display().to_string()),
            ),
            (
                "restart policy",
                format!("{:?}", spec.restart).to_lowercase(),
            ),
            ("stdout log", view.stdout_log.clone()),
            ("stderr log", view.stderr_log.clone()),
            ("log writes", shown::log_writes(&view)),
            ("registry", shown::registry(&view)),
            ("limits", shown::limits(&view)),
            ("limit breach", shown::limit_breach(&view)),
        ];
        let (before, after) = rows.split_at(11);
        for (key, value) in before
            .iter()
            .cloned()
            .chain(shown::metrics_rows(&view))
            .chain(after.iter().cloned())
        {
            table.row([key.to_owned(), value]);
        }
        ignore_broken_pipe(output.table(&table))?;
        Ok(crate::exit::OK)
    })
}

/// "in 1.5 s" for a Unix-millisecond time in the future.
fn in_from_now(at_ms: u64) -> String {
    let now = procward_core::sys::unix_ms(std::time::SystemTime::now());
    format!("in {}", format::millis(at_ms.saturating_sub(now)))
}

/// Prints one process after an action.
pub fn print_one(view: &v1::ManagedProcess, output: Output, verb: &str) -> anyhow::Result<u8> {
    let view = view_from_proto(view.clone()).map_err(anyhow::Error::msg)?;
    if output.json {
        ignore_broken_pipe(output.json(&ManagedRow::from(&view)))?;
    } else {
        println!("{}: {verb}; {}", view.spec.name, describe(&view));
    }
    Ok(crate::exit::OK)
}

fn describe(view: &ManagedView) -> String {
    match (view.state, view.pid) {
        (State::Running, Some(pid)) => format!("running (pid {pid})"),
        (state, _) if !view.reason.is_empty() => format!("{state} ({})", view.reason),
        (state, _) => state.to_string(),
    }
}

/// The `list` table; a NOTE column is added when some process has a disk condition
/// (dropped log output, an unsaved registry entry).
pub fn table(views: &[ManagedView]) -> Table {
    let notes: Vec<String> = views.iter().map(shown::note).collect();
    let with_notes = notes.iter().any(|n| !n.is_empty());
    let mut headers = vec![
        ("NAME", Align::Left),
        ("STATE", Align::Left),
        ("PID", Align::Right),
        ("RESTARTS", Align::Right),
        ("UPTIME", Align::Right),
        ("CPU%", Align::Right),
        ("MEM", Align::Right),
        ("HEALTH", Align::Left),
    ];
    if with_notes {
        headers.push(("NOTE", Align::Left));
    }
    let mut table = Table::new(&headers);
    for (v, note) in views.iter().zip(notes) {
        let tint = match v.state {
            State::Running => Tint::Green,
            State::Failed => Tint::Red,
            State::Pending | State::Paused | State::Stopping | State::Starting => Tint::Yellow,
            State::Stopped => Tint::Dim,
        };
        let mut row = vec![
            (v.spec.name.clone(), Tint::Plain),
            (v.state.to_string(), tint),
            (
                v.pid.map_or_else(|| "-".into(), |p| p.to_string()),
                Tint::Plain,
            ),
            (v.restarts.to_string(), Tint::Plain),
            (
                if v.pid.is_some() {
                    format::duration(v.uptime_ms / 1000)
                } else {
                    "-".into()
                },
                Tint::Plain,
            ),
            (format::percent(v.cpu_percent), Tint::Plain),
            (format::bytes(v.memory_rss), Tint::Plain),
            (shown::checks(v), Tint::Plain),
        ];
        if with_notes {
            row.push((note, Tint::Yellow));
        }
        table.tinted_row(row);
    }
    table
}
