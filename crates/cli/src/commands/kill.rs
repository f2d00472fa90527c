//! `procward kill`: signal processes by PID or port, safely, with escalation.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context as _, bail};
use procward_core::signal::KillRecord;
use procward_core::signal::{helper_path, kill_all, kill_elevated, parse_pid};
use procward_core::{
    ElevationMethod, Error, Escalation, KillOutcome, KillRequest, Signal, is_owned_by_current_user,
    port_holders,
};

use super::Context;
use crate::exit;
use crate::output::{Output, ignore_broken_pipe};
use crate::parse;

mod audit;
pub mod route;

const EXAMPLES: &str = "\
Examples:
  procward kill 4242                    SIGTERM, SIGKILL after 5 s if still alive
  procward kill 4242 4243 --timeout 1   both at once, 1 s grace
  procward kill --port 8080             whoever listens on 8080
  procward kill 4242 --tree             4242 and all its descendants
  procward kill 4242 --signal HUP       deliver SIGHUP only (no waiting)
  procward kill 4242 --start-ticks 918273   refuse if PID 4242 is now another process
                                        (start_ticks as `ps --json` shows it: exact)
  procward kill 4242 --start-time 1763800000   the same check in Unix seconds (coarse)
  procward kill 4242 --elevated         another user's process, through pkexec or sudo -n

PIDs 0, 1, negative numbers, values above 2147483647, procward itself and its caller are
always refused. When a daemon runs for this PROCWARD_HOME, a PID that is one of its managed
processes (or procward's shim for one) is stopped through the daemon, as `procward stop
NAME` would (whole group, not restarted); a daemon is never started for a kill. Exit codes:
0 done, 1 no such process or still alive, 2 bad input or refused, 3 permission denied,
4 elevation failed.";

/// Arguments of `procward kill` (also used by `procward process kill`).
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Processes to signal.
    #[arg(
        value_name = "PID",
        allow_negative_numbers = true,
        required_unless_present = "port"
    )]
    pub pids: Vec<String>,
    /// Signal to send first: a name (TERM, SIGHUP, int) or number [default: TERM].
    #[arg(long, short, value_parser = parse::signal, conflicts_with = "force")]
    pub signal: Option<Signal>,
    /// Seconds to wait after a terminating signal before SIGKILL [default: 5].
    #[arg(long, short, value_name = "SECS", value_parser = parse::timeout, allow_hyphen_values = true)]
    pub timeout: Option<Duration>,
    /// Send SIGKILL at once.
    #[arg(long, short)]
    pub force: bool,
    /// Deliver the signal and return without waiting or escalating.
    #[arg(long, conflicts_with = "force")]
    pub no_wait: bool,
    /// Also signal every descendant (parents first).
    #[arg(long)]
    pub tree: bool,
    /// Kill whoever listens on this TCP/UDP port (shown before signalling).
    #[arg(long, short, value_parser = parse::port, allow_hyphen_values = true)]
    pub port: Option<u16>,
    /// Refuse unless the process started at this Unix time (as `ps --json` shows it).
    /// Coarse: a PID reused within the same second passes; prefer --start-ticks.
    #[arg(long, value_name = "UNIX_SECS")]
    pub start_time: Option<u64>,
    /// Refuse unless the process started this many clock ticks after boot (`start_ticks`
    /// in `ps --json`; 1/100 s): the exact check. With --start-time, both must match.
    #[arg(long, value_name = "TICKS")]
    pub start_ticks: Option<u64>,
    /// Kill another user's process through pkexec or `sudo -n`.
    #[arg(long)]
    pub elevated: bool,
    /// How to elevate: auto (pkexec, else sudo), pkexec or sudo [default: auto].
    #[arg(long, value_name = "METHOD", requires = "elevated")]
    pub elevate_with: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `procward kill`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    execute(args, ctx, output)
}

/// Kills with the given output settings (shared with `process kill`).
pub fn execute(args: Args, ctx: &Context, output: Output) -> anyhow::Result<u8> {
    // Every PID is validated before anything is signalled.
    let mut pids = args
        .pids
        .iter()
        .map(|p| parse_pid(p))
        .collect::<Result<Vec<u32>, Error>>()?;
    let pinned = args.start_time.is_some() || args.start_ticks.is_some();
    if pinned && (pids.len() != 1 || args.port.is_some()) {
        bail!(Error::InvalidArgument(
            "--start-time and --start-ticks name one process: give exactly one PID".into()
        ));
    }
    let defaults = &ctx.config.kill;
    let signal = match (args.force, args.signal, &defaults.signal) {
        (true, _, _) => Signal::KILL,
        (false, Some(s), _) => s,
        (false, None, Some(text)) => parse::signal(text)
            .map_err(anyhow::Error::msg)
            .context("config [kill] signal")?,
        (false, None, None) => Signal::TERM,
    };
    let timeout = match (args.timeout, &defaults.timeout) {
        (Some(t), _) => t,
        (None, Some(text)) => parse::timeout(text)
            .map_err(anyhow::Error::msg)
            .context("config [kill] timeout")?,
        (None, None) => Duration::from_secs(5),
    };
    let method: ElevationMethod = args
        .elevate_with
        .as_deref()
        .or(defaults.elevate_with.as_deref())
        .map_or(Ok(ElevationMethod::Auto), str::parse)?;
    if args.elevated && args.tree {
        bail!(Error::InvalidArgument(
            "--tree with --elevated is not supported yet: run `sudo procward kill --tree PID`"
                .into()
        ));
    }
    if let Some(port) = args.port {
        pids.extend(listeners_of(port)?);
        pids.dedup();
    }
    let escalation = if args.no_wait {
        Escalation::None
    } else {
        Escalation::KillAfter(timeout)
    };
    let requests: Vec<KillRequest> = pids
        .iter()
        .map(|&pid| KillRequest {
            pid,
            expected_start_time: args.start_time,
            expected_start_ticks: args.start_ticks,
            signal,
            escalation,
        })
        .collect();

    let policy = Policy {
        force: args.force,
        tree: args.tree,
        elevated: args.elevated.then_some(method),
    };
    let results = kill_with_policy(requests, &policy)?;
    report(&results, output)
}

/// How [`kill_with_policy`] signals the PIDs it kills here.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// SIGKILL at once (also asked of the daemon for the PIDs it owns).
    pub force: bool,
    /// Also signal every descendant (parents first).
    pub tree: bool,
    /// Kill other users' processes through this elevation method.
    pub elevated: Option<ElevationMethod>,
}

/// The one kill policy of every client in this crate (`procward kill`, `process kill` and
/// `procward top`): a PID that this home's running daemon manages (or procward's shim for
/// one) is handed to the daemon, which stops it through its supervisor; every other PID
/// is killed here by the core's pidfd kill, which refuses protected PIDs and, when the
/// request carries `expected_start_ticks` (or `expected_start_time`), a PID that is now
/// another process. Local kills are written to the audit log. Blocking: call it off any
/// async runtime (it runs its own for the daemon's part).
pub fn kill_with_policy(
    requests: Vec<KillRequest>,
    policy: &Policy,
) -> anyhow::Result<Vec<(u32, route::Outcome)>> {
    // Managed processes (and their shims) are the daemon's to stop: one rule, there.
    let (mut results, requests) = route::through_daemon(requests, policy.force);
    let identities = audit::identities(&requests);
    let local: Vec<(u32, Result<KillOutcome, Error>)> = match policy.elevated {
        Some(method) if !rustix::process::geteuid().is_root() => {
            let helper = helper_path()?;
            requests
                .iter()
                .map(|r| {
                    let plain = is_owned_by_current_user(r.pid).unwrap_or(false);
                    let result = if plain {
                        procward_core::kill(r)
                    } else {
                        kill_elevated(r, method, &helper)
                    };
                    (r.pid, result)
                })
                .collect()
        }
        _ => kill_all(&requests, policy.tree),
    };
    audit::record(&requests, &identities, &local);
    results.extend(local.into_iter().map(|(pid, r)| (pid, route::local(r))));
    Ok(results)
}

/// PIDs holding sockets on `port`, announced on stderr before anything is signalled.
fn listeners_of(port: u16) -> anyhow::Result<Vec<u32>> {
    let (sockets, pids) = port_holders(port, "")?;
    let mut stderr = std::io::stderr().lock();
    for socket in &sockets {
        for holder in &socket.processes {
            writeln!(
                stderr,
                "port {port}/{} on {}: pid {} ({}, user {})",
                socket.protocol.as_str(),
                socket.local_address,
                holder.pid,
                holder.name,
                socket.user
            )?;
        }
    }
    Ok(pids)
}

fn report(results: &[(u32, route::Outcome)], output: Output) -> anyhow::Result<u8> {
    let mut code = exit::OK;
    for (_, result) in results {
        if let Err(e) = result {
            code = exit::worst(code, exit::for_kind(e.kind));
        }
    }
    if output.json {
        let records: Vec<KillRecord> = results
            .iter()
            .map(|(pid, r)| route::record(*pid, r))
            .collect();
        ignore_broken_pipe(output.json(&records))?;
        return Ok(code);
    }
    let mut stdout = std::io::stdout().lock();
    for (_, result) in results {
        match result {
            Ok(done) => ignore_broken_pipe(writeln!(stdout, "{done}"))?,
            Err(e) => eprintln!("procward: {}", e.message),
        }
    }
    Ok(code)
}
