//! `procward queue logs|cancel|retry|wait|pause|resume|clean|group`.

use procward_proto::convert::queue::{group_from_proto, job_from_proto};
use procward_proto::v1;

use super::super::Context;
use super::{client, exit_code_of, view};
use crate::output::{Align, Output, Table, ignore_broken_pipe};

/// Arguments naming jobs.
#[derive(Debug, clap::Args)]
pub struct IdsArgs {
    /// Job ids.
    #[arg(required = true, value_name = "ID")]
    ids: Vec<u64>,
    /// Print the jobs as JSON.
    #[arg(long)]
    json: bool,
}

/// What `run_each` does to each job.
#[derive(Debug, Clone, Copy)]
pub enum Each {
    /// `queue cancel`.
    Cancel,
    /// `queue retry`.
    Retry,
}

/// Cancels or retries every job named; the exit code is the worst.
pub fn run_each(action: Each, args: IdsArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::super::block_on(async move {
        let mut queue = client().await?;
        let mut code = crate::exit::OK;
        let mut jobs = Vec::new();
        for id in args.ids {
            let request = v1::JobRequest { id };
            let answer = match action {
                Each::Cancel => queue.cancel(request).await,
                Each::Retry => queue.retry(request).await,
            };
            match answer {
                Ok(job) => {
                    let job = job_from_proto(job.into_inner()).map_err(anyhow::Error::msg)?;
                    if !output.json {
                        println!("{}: {}", job.id, job.state);
                    }
                    jobs.push(job);
                }
                Err(status) => {
                    eprintln!("procward: {}", status.message());
                    code = crate::exit::worst(code, crate::exit::for_status(&status));
                }
            }
        }
        if output.json {
            ignore_broken_pipe(output.json(&jobs))?;
        }
        Ok(code)
    })
}

/// Waits for every job named; the exit code is the first failed job's own (as a shell
/// reports it), 0 when all completed.
pub fn run_wait(args: IdsArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::super::block_on(async move {
        let queue = client().await?;
        let mut code = crate::exit::OK;
        let mut jobs = Vec::new();
        // All waits go out at once over the one connection (a wait for a job that has
        // already ended answers at once; one round trip each, in turn, made waiting for
        // 1,000 ended jobs take 0.18 s), and are read in the order given.
        let waits: Vec<_> = args
            .ids
            .into_iter()
            .map(|id| {
                let mut queue = queue.clone();
                tokio::spawn(async move { queue.wait(v1::JobRequest { id }).await })
            })
            .collect();
        for wait in waits {
            let job = wait.await??.into_inner();
            let job = job_from_proto(job).map_err(anyhow::Error::msg)?;
            if job.state != procward_core::queue::JobState::Completed && code == crate::exit::OK {
                code = exit_code_of(job.exit_code()).max(1);
            }
            if !output.json {
                println!("{}: {} ({})", job.id, job.state, view::outcome(&job));
            }
            jobs.push(job);
        }
        if output.json {
            ignore_broken_pipe(output.json(&jobs))?;
        }
        Ok(code)
    })
}

/// Arguments of `queue logs`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward queue logs 7\n  procward queue logs 7 --attempt 1 --stderr\n  procward queue logs 7 -f"
)]
pub struct LogsArgs {
    /// Job id.
    id: u64,
    /// One attempt [default: the latest].
    #[arg(long)]
    attempt: Option<u32>,
    /// Lines from the end of each stream [default: all].
    #[arg(long, short = 'n')]
    lines: Option<u32>,
    /// Print new lines as they come, across retries, until the job ends.
    #[arg(long, short)]
    follow: bool,
    /// Only stdout.
    #[arg(long, conflicts_with = "stderr")]
    stdout: bool,
    /// Only stderr.
    #[arg(long)]
    stderr: bool,
}

/// Runs `queue logs`.
pub fn run_logs(args: LogsArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(false, ctx.color);
    super::super::block_on(async move {
        let request = v1::JobLogsRequest {
            id: args.id,
            attempt: args.attempt,
            follow: args.follow,
            lines: args.lines,
            stdout: args.stdout,
            stderr: args.stderr,
        };
        let stream = client().await?.logs(request).await?.into_inner();
        super::super::logs::print_lines(stream, args.follow, false, output).await?;
        Ok(crate::exit::OK)
    })
}

/// Arguments of `queue pause|resume`.
#[derive(Debug, clap::Args)]
pub struct GroupArgs {
    /// Only this group [default: every group].
    #[arg(long, short)]
    group: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `queue pause` (`pause`) or `queue resume`.
pub fn run_pause(args: GroupArgs, pause: bool, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::super::block_on(async move {
        let mut queue = client().await?;
        let request = v1::GroupRequest { group: args.group };
        let groups = if pause {
            queue.pause(request).await?
        } else {
            queue.resume(request).await?
        };
        print_groups(groups.into_inner().groups, output)
    })
}

fn print_groups(groups: Vec<v1::QueueGroup>, output: Output) -> anyhow::Result<u8> {
    let groups: Vec<_> = groups.into_iter().map(group_from_proto).collect();
    if output.json {
        ignore_broken_pipe(output.json(&groups))?;
    } else {
        let mut table = Table::new(&[
            ("GROUP", Align::Left),
            ("PARALLEL", Align::Right),
            ("STATE", Align::Left),
        ]);
        for g in &groups {
            let state = if g.paused { "paused" } else { "running" };
            table.row([g.name.clone(), g.parallel.to_string(), state.to_owned()]);
        }
        ignore_broken_pipe(output.table(&table))?;
    }
    Ok(crate::exit::OK)
}

/// Arguments of `queue clean`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward queue clean\n  procward queue clean --failed --older-than 7d"
)]
pub struct CleanArgs {
    /// Completed jobs (neither flag: every ended job).
    #[arg(long)]
    completed: bool,
    /// Failed and cancelled jobs.
    #[arg(long)]
    failed: bool,
    /// Only jobs that ended at least this long ago (e.g. 1h, 7d).
    #[arg(long, value_name = "AGE", value_parser = super::add::duration_ms)]
    older_than: Option<u64>,
    /// Print the removed ids as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `queue clean`.
pub fn run_clean(args: CleanArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    let older_than_ms = args.older_than;
    super::super::block_on(async move {
        let request = v1::CleanRequest {
            completed: args.completed,
            failed: args.failed,
            older_than_ms,
        };
        let removed = client().await?.clean(request).await?.into_inner().removed;
        if output.json {
            ignore_broken_pipe(output.json(&removed))?;
        } else {
            println!("removed {} job(s)", removed.len());
        }
        Ok(crate::exit::OK)
    })
}

/// Arguments of `queue group`.
#[derive(Debug, clap::Args)]
pub struct GroupCommandArgs {
    #[command(subcommand)]
    command: GroupCommand,
}

#[derive(Debug, clap::Subcommand)]
enum GroupCommand {
    /// Create a group or change how many of its jobs run at once.
    #[command(after_help = "Examples:\n  procward queue group add deploy --parallel 2")]
    Add {
        /// Group name.
        name: String,
        /// Jobs of the group running at once (1 to 1024).
        #[arg(long, short, default_value_t = 1)]
        parallel: u32,
    },
    /// Every group.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `queue group ...`.
pub fn run_group(args: GroupCommandArgs, ctx: &Context) -> anyhow::Result<u8> {
    super::super::block_on(async move {
        let mut queue = client().await?;
        match args.command {
            GroupCommand::Add { name, parallel } => {
                let group = queue
                    .put_group(v1::PutGroupRequest { name, parallel })
                    .await?
                    .into_inner();
                println!("{}: parallel {}", group.name, group.parallel);
                Ok(crate::exit::OK)
            }
            GroupCommand::List { json } => {
                let groups = queue.list_groups(v1::ListGroupsRequest {}).await?;
                print_groups(groups.into_inner().groups, Output::new(json, ctx.color))
            }
        }
    })
}
