//! `procward queue ...` and `procward run`: the job queue from the command line. Every
//! request goes to the daemon's `Queue` service, which checks it; the CLI only parses
//! durations and times into the wire form.

mod add;
mod control;
pub mod hosts;
mod schedule;
mod view;

use procward_daemon::Home;
use procward_proto::v1::queue_client::QueueClient;
use tonic::transport::Channel;

use super::Context;
use crate::lazy_args::Lazy;

pub use add::{JobArgs, RunArgs};
pub use hosts::{HostsArgs, run_hosts};

const EXAMPLES: &str = "\
Examples:
  procward queue add -- ./build.sh                       queue a job (prints its id)
  procward queue add --group deploy --priority 10 --timeout 10m -- ./deploy.sh
  procward queue add --delay 30s --attempts 5 --backoff exponential:1s:1m -- ./fetch
  procward queue add --after 4 --after 5 -- ./report.sh  run once jobs 4 and 5 completed
  procward queue list --state failed --json
  procward queue logs 7 -f
  procward queue cancel 7                                SIGTERM to its tree, SIGKILL after 5 s
  procward queue wait 7 && echo ok                       exit code of the job
  procward queue group add deploy --parallel 2
  procward queue schedule add backup --cron '0 3 * * *' -- ./backup.sh
  procward run -- make test                              add, print its output live, wait";

/// Arguments of `procward queue`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    command: QueueCommand,
}

/// The queue's commands.
#[derive(Debug, clap::Subcommand)]
enum QueueCommand {
    /// Queue a job; prints its id.
    Add(Lazy<Box<JobArgs>>),
    /// Jobs as a table (or JSON).
    List(Lazy<view::ListArgs>),
    /// One job with every attempt.
    Show(Lazy<view::ShowArgs>),
    /// A job's output (the latest attempt; -f follows every attempt until it ends).
    Logs(Lazy<control::LogsArgs>),
    /// Cancel jobs: a running one gets SIGTERM to its whole tree, SIGKILL after 5 s.
    Cancel(Lazy<control::IdsArgs>),
    /// Queue failed or cancelled jobs again, with their full attempts.
    Retry(Lazy<control::IdsArgs>),
    /// Wait until jobs end; the exit code is the first failed job's.
    Wait(Lazy<control::IdsArgs>),
    /// Start no new job in a group (or every group); running jobs go on.
    Pause(Lazy<control::GroupArgs>),
    /// Start jobs again in a group (or every group).
    Resume(Lazy<control::GroupArgs>),
    /// Remove ended jobs and their logs.
    Clean(Lazy<control::CleanArgs>),
    /// Concurrency groups.
    Group(Lazy<control::GroupCommandArgs>),
    /// Jobs queued on a timetable (cron or interval).
    Schedule(Lazy<schedule::Args>),
}

/// A client of the home's queue, starting the daemon if needed.
async fn client() -> anyhow::Result<QueueClient<Channel>> {
    let home = Home::from_env()?;
    let channel = crate::client::connect_channel(&home, true).await?;
    Ok(QueueClient::new(channel).max_decoding_message_size(256 * 1024 * 1024))
}

/// Runs `procward queue ...`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    match args.command {
        QueueCommand::Add(args) => add::run_add(*args.into_inner(), ctx),
        QueueCommand::List(args) => view::run_list(args.into_inner(), ctx),
        QueueCommand::Show(args) => view::run_show(args.into_inner(), ctx),
        QueueCommand::Logs(args) => control::run_logs(args.into_inner(), ctx),
        QueueCommand::Cancel(args) => {
            control::run_each(control::Each::Cancel, args.into_inner(), ctx)
        }
        QueueCommand::Retry(args) => {
            control::run_each(control::Each::Retry, args.into_inner(), ctx)
        }
        QueueCommand::Wait(args) => control::run_wait(args.into_inner(), ctx),
        QueueCommand::Pause(args) => control::run_pause(args.into_inner(), true, ctx),
        QueueCommand::Resume(args) => control::run_pause(args.into_inner(), false, ctx),
        QueueCommand::Clean(args) => control::run_clean(args.into_inner(), ctx),
        QueueCommand::Group(args) => control::run_group(args.into_inner(), ctx),
        QueueCommand::Schedule(args) => schedule::run(args.into_inner(), ctx),
    }
}

/// Runs `procward run`.
pub fn run_shortcut(args: RunArgs, ctx: &Context) -> anyhow::Result<u8> {
    add::run_run(args, ctx)
}

/// The exit code of the process for a job's exit code (a shell's 0-255).
fn exit_code_of(job_code: Option<i32>) -> u8 {
    match job_code {
        Some(code) => u8::try_from(code.clamp(0, 255)).unwrap_or(crate::exit::FAILED),
        None => crate::exit::FAILED,
    }
}
