//! `procward daemon`: run the daemon (foreground or detached), see it, stop it.

use std::io::IsTerminal;

use anyhow::Context as _;
use clap::Subcommand;
use procward_daemon::{DaemonOptions, Home, lock::DaemonLock};
use procward_proto::v1;
use serde_json::json;

use super::Context;
use crate::client;
use crate::output::{Output, format};

const EXAMPLES: &str = "\
Examples:
  procward daemon                 run in the foreground (logs also to stderr on a terminal)
  procward daemon --detach        run in the background and return once it answers
  procward daemon status          pid, uptime, home and number of managed processes
  procward daemon stop            stop the daemon; managed processes keep running

The daemon keeps its state in $PROCWARD_HOME (default ~/.local/state/procward).
Other commands start it on first need.";

/// Arguments of `procward daemon`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Run in the background.
    #[arg(long)]
    detach: bool,
    /// Internal: the background process started by --detach or by another command.
    #[arg(long, hide = true)]
    detached_child: bool,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Show whether a daemon runs, and its pid, uptime and managed processes.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop the daemon (managed processes keep running and are re-adopted later).
    Stop,
}

/// Runs `procward daemon ...`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let home = Home::from_env()?;
    match args.action {
        Some(Action::Status { json }) => {
            super::block_on(status(&home, Output::new(json, ctx.color)))
        }
        Some(Action::Stop) => super::block_on(stop(&home)),
        None if args.detach => super::block_on(detach(&home)),
        None => serve(home, args.detached_child),
    }
}

fn serve(home: Home, detached: bool) -> anyhow::Result<u8> {
    if detached {
        // A session of its own: no terminal hang-up or job-control signal reaches it.
        let _ = rustix::process::setsid();
    }
    let exe = std::env::current_exe().context("cannot find the procward binary")?;
    let options = DaemonOptions {
        home,
        exe,
        log_to_stderr: !detached && std::io::stderr().is_terminal(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(procward_daemon::run(options))?;
    Ok(crate::exit::OK)
}

async fn detach(home: &Home) -> anyhow::Result<u8> {
    home.create()?;
    if let Some(pid) = DaemonLock::holder(&home.lock_file()) {
        println!("procward daemon already running (pid {pid})");
        return Ok(crate::exit::OK);
    }
    let pid = client::spawn_daemon(home)?;
    client::wait_for(&home.socket()).await?;
    println!(
        "procward daemon started (pid {pid}, home {})",
        home.root().display()
    );
    Ok(crate::exit::OK)
}

async fn status(home: &Home, output: Output) -> anyhow::Result<u8> {
    let Ok(mut client) = client::connect(home, false).await else {
        if output.json {
            output.json(&json!({"running": false, "home": home.root()}))?;
        } else {
            println!("no daemon running for {}", home.root().display());
        }
        return Ok(crate::exit::FAILED);
    };
    let info = client
        .daemon_info(v1::DaemonInfoRequest {})
        .await?
        .into_inner();
    if output.json {
        output.json(&json!({
            "running": true, "pid": info.pid, "version": info.version, "home": info.home,
            "socket": info.socket, "uptime_ms": info.uptime_ms, "managed": info.managed,
            "memory_rss": info.memory_rss,
        }))?;
    } else {
        println!(
            "procward daemon {} running: pid {}, up {}, {} managed, {} RSS\nhome   {}\nsocket {}",
            info.version,
            info.pid,
            format::duration(info.uptime_ms / 1000),
            info.managed,
            format::bytes(info.memory_rss),
            info.home,
            info.socket
        );
    }
    Ok(crate::exit::OK)
}

async fn stop(home: &Home) -> anyhow::Result<u8> {
    let Some(pid) = DaemonLock::holder(&home.lock_file()) else {
        println!("no daemon running for {}", home.root().display());
        return Ok(crate::exit::OK);
    };
    let mut client = client::connect(home, false).await?;
    client.shutdown(v1::ShutdownRequest {}).await?;
    // The lock is released when the daemon process is gone.
    let started = std::time::Instant::now();
    while DaemonLock::holder(&home.lock_file()).is_some() {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            anyhow::bail!("the daemon (pid {pid}) did not stop within 10 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    println!("procward daemon stopped (pid {pid}); managed processes keep running");
    Ok(crate::exit::OK)
}
