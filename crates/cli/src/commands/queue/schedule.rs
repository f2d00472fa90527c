//! `procward queue schedule add|list|remove`: jobs queued on a timetable.

use std::time::SystemTime;

use procward_core::queue::When;
use procward_proto::convert::queue::schedule_from_proto;
use procward_proto::v1;

use super::super::Context;
use super::add::{JobArgs, duration_ms};
use super::client;
use crate::output::{Align, Output, Table, format, ignore_broken_pipe};

/// Arguments of `queue schedule`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ScheduleCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ScheduleCommand {
    /// Queue a copy of a job on a timetable (labelled schedule=NAME).
    #[command(
        after_help = "Examples:\n  procward queue schedule add backup --cron '0 3 * * *' -- ./backup.sh\n  procward queue schedule add poll --every 10m --no-overlap -- ./poll.sh\n\nCron expressions have five fields (minute hour day-of-month month day-of-week) in local time."
    )]
    Add(Box<AddArgs>),
    /// Every schedule with its next fire.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a schedule (the jobs it queued stay).
    Remove {
        /// Schedule name.
        name: String,
    },
}

/// Arguments of `queue schedule add`.
#[derive(Debug, clap::Args)]
struct AddArgs {
    /// Schedule name.
    name: String,
    /// Five-field cron expression, e.g. '*/5 * * * *'.
    #[arg(long, required_unless_present = "every", conflicts_with = "every")]
    cron: Option<String>,
    /// Fixed interval, e.g. 10m (1s to 365d).
    #[arg(long, value_parser = duration_ms)]
    every: Option<u64>,
    /// Skip a fire while the previous fire's job has not ended.
    #[arg(long)]
    no_overlap: bool,
    /// Make up for fires missed while the daemon was down (one job).
    #[arg(long)]
    catch_up: bool,
    #[command(flatten)]
    job: JobArgs,
}

/// Runs `queue schedule ...`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    match args.command {
        ScheduleCommand::Add(args) => {
            let args = *args;
            let job = args.job.spec(3)?;
            let when = match (args.cron, args.every) {
                (Some(cron), _) => v1::add_schedule_request::When::Cron(cron),
                (None, every) => v1::add_schedule_request::When::EveryMs(every.unwrap_or(0)),
            };
            let request = v1::AddScheduleRequest {
                name: args.name,
                when: Some(when),
                no_overlap: args.no_overlap,
                catch_up: args.catch_up,
                job: Some(job),
            };
            super::super::block_on(async move {
                let schedule = client().await?.add_schedule(request).await?.into_inner();
                let schedule = schedule_from_proto(schedule).map_err(anyhow::Error::msg)?;
                println!("{}: next at {}", schedule.spec.name, next(schedule.next_ms));
                Ok(crate::exit::OK)
            })
        }
        ScheduleCommand::List { json } => {
            let output = Output::new(json, ctx.color);
            super::super::block_on(async move {
                let list = client()
                    .await?
                    .list_schedules(v1::ListSchedulesRequest {})
                    .await?
                    .into_inner();
                let schedules = list
                    .schedules
                    .into_iter()
                    .map(schedule_from_proto)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(anyhow::Error::msg)?;
                if output.json {
                    ignore_broken_pipe(output.json(&schedules))?;
                    return Ok(crate::exit::OK);
                }
                let mut table = Table::new(&[
                    ("NAME", Align::Left),
                    ("WHEN", Align::Left),
                    ("NEXT", Align::Left),
                    ("LAST JOB", Align::Right),
                    ("COMMAND", Align::Left),
                ]);
                for s in &schedules {
                    let when = match &s.spec.when {
                        When::Cron(cron) => format!("cron {cron}"),
                        When::Every(every) => format!(
                            "every {}",
                            procward_core::supervisor::spec::format_duration(*every)
                        ),
                    };
                    table.row([
                        s.spec.name.clone(),
                        when,
                        next(s.next_ms),
                        s.last_job.map_or("-".into(), |id| id.to_string()),
                        s.spec.job.command.join(" "),
                    ]);
                }
                ignore_broken_pipe(output.table(&table))?;
                Ok(crate::exit::OK)
            })
        }
        ScheduleCommand::Remove { name } => super::super::block_on(async move {
            client()
                .await?
                .remove_schedule(v1::ScheduleRequest { name: name.clone() })
                .await?;
            println!("{name}: removed");
            Ok(crate::exit::OK)
        }),
    }
}

/// `in 4m12s`, or `never`.
fn next(next_ms: Option<u64>) -> String {
    let now = procward_core::sys::unix_ms(SystemTime::now());
    match next_ms {
        Some(at) => format!(
            "in {}",
            format::duration(at.saturating_sub(now).div_ceil(1000))
        ),
        None => "never".into(),
    }
}
