//! `procward queue list` and `queue show`: jobs as tables for people, JSON for programs
//! (the JSON is the job model itself: spec, state, every attempt).

use std::time::SystemTime;

use procward_core::queue::{Job, JobState};
use procward_core::supervisor::spec::shell_words;
use procward_core::sys::Metrics;
use procward_proto::convert::metrics_from_proto;
use procward_proto::convert::queue::job_from_proto;
use procward_proto::v1;

use super::super::Context;
use super::client;
use crate::output::{Align, Output, Table, Tint, format, ignore_broken_pipe};

/// Arguments of `queue list`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward queue list\n  procward queue list --group deploy --state running --state queued\n  procward queue list --json | jq '.[] | select(.state == \"failed\") | .id'"
)]
pub struct ListArgs {
    /// Only this group's jobs.
    #[arg(long, short)]
    group: Option<String>,
    /// Only jobs in this state (repeatable): queued, delayed, running, completed, failed,
    /// cancelled.
    #[arg(long = "state", short, value_name = "STATE")]
    states: Vec<JobState>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `queue list`.
pub fn run_list(args: ListArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::super::block_on(async move {
        let request = v1::ListJobsRequest {
            group: args.group,
            states: args
                .states
                .iter()
                .map(|s| v1::JobState::from(*s).into())
                .collect(),
        };
        let jobs = client().await?.list(request).await?.into_inner().jobs;
        let jobs = jobs
            .into_iter()
            .map(job_from_proto)
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?;
        if output.json {
            ignore_broken_pipe(output.json(&jobs))?;
        } else {
            ignore_broken_pipe(output.table(&table(&jobs)))?;
        }
        Ok(crate::exit::OK)
    })
}

fn now_ms() -> u64 {
    procward_core::sys::unix_ms(SystemTime::now())
}

fn tint(state: JobState) -> Tint {
    match state {
        JobState::Running => Tint::Green,
        JobState::Failed => Tint::Red,
        JobState::Delayed | JobState::Queued => Tint::Yellow,
        JobState::Completed | JobState::Cancelled => Tint::Plain,
    }
}

/// How the job ended or when it runs next, in a few words.
pub fn outcome(job: &Job) -> String {
    match (job.state, job.last_attempt()) {
        (JobState::Delayed, _) => {
            let wait = job.run_at_ms.unwrap_or(0).saturating_sub(now_ms());
            format!("starts in {}", format::duration(wait.div_ceil(1000)))
        }
        (JobState::Running, Some(a)) => {
            let up = now_ms().saturating_sub(a.started_ms) / 1000;
            format!("pid {}, up {}", a.pid, format::duration(up))
        }
        (_, Some(a)) if a.ended_ms.is_some() => a.outcome(),
        _ => "-".to_owned(),
    }
}

/// The jobs as rows; a HOST column is added when any of them has a host (the queue is
/// shared on Redis), so the embedded queue's table stays as narrow as it was.
fn table(jobs: &[Job]) -> Table {
    let with_host = jobs.iter().any(|j| j.host.is_some());
    let mut headers = vec![
        ("ID", Align::Right),
        ("GROUP", Align::Left),
        ("STATE", Align::Left),
    ];
    if with_host {
        headers.push(("HOST", Align::Left));
    }
    headers.extend([
        ("PRI", Align::Right),
        ("TRIES", Align::Right),
        ("LAST", Align::Left),
        ("COMMAND", Align::Left),
    ]);
    let mut table = Table::new(&headers);
    for job in jobs {
        let tries = job.attempts.len() as u32 - job.retried_after;
        let mut row = vec![
            (job.id.to_string(), Tint::Plain),
            (job.spec.group.clone(), Tint::Plain),
            (job.state.to_string(), tint(job.state)),
        ];
        if with_host {
            row.push((
                job.host.clone().unwrap_or_else(|| "-".to_owned()),
                Tint::Plain,
            ));
        }
        row.extend([
            (job.spec.priority.to_string(), Tint::Plain),
            (format!("{tries}/{}", job.spec.attempts), Tint::Plain),
            (outcome(job), Tint::Plain),
            (shell_words(&job.spec.command), Tint::Plain),
        ]);
        table.tinted_row(row);
    }
    table
}

/// `queue show --json`: the job model plus, while it runs, its attempt's metrics and the
/// sum over its tree (absent otherwise, like `status --json`).
#[derive(serde::Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    job: &'a Job,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<&'a Metrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tree: Option<&'a Metrics>,
}

/// Arguments of `queue show`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  procward queue show 7\n  procward queue show 7 --json")]
pub struct ShowArgs {
    /// Job id.
    id: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `queue show`.
pub fn run_show(args: ShowArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::super::block_on(async move {
        let mut wire = client()
            .await?
            .get(v1::JobRequest { id: args.id })
            .await?
            .into_inner();
        let metrics = wire.metrics.take().map(metrics_from_proto);
        let tree = wire.tree.take().map(metrics_from_proto);
        let job = job_from_proto(wire).map_err(anyhow::Error::msg)?;
        if output.json {
            let shown = Shown {
                job: &job,
                metrics: metrics.as_ref(),
                tree: tree.as_ref(),
            };
            ignore_broken_pipe(output.json(&shown))?;
            return Ok(crate::exit::OK);
        }
        let mut about = Table::new(&[("", Align::Left), ("", Align::Left)]).without_header();
        let spec = &job.spec;
        let mut add = |key: &str, value: String| about.row([key.to_owned(), value]);
        add("id", job.id.to_string());
        add("state", job.state.to_string());
        add("command", shell_words(&spec.command));
        add("group", spec.group.clone());
        add("priority", spec.priority.to_string());
        add(
            "attempts",
            format!(
                "{} of {}",
                job.attempts.len() as u32 - job.retried_after,
                spec.attempts
            ),
        );
        add("backoff", spec.backoff.to_string());
        if let Some(t) = spec.timeout {
            add(
                "timeout",
                procward_core::supervisor::spec::format_duration(t),
            );
        }
        if !spec.after.is_empty() {
            let ids: Vec<String> = spec.after.iter().map(u64::to_string).collect();
            let any = if spec.after_any {
                " (whatever their outcome)"
            } else {
                ""
            };
            add("after", format!("{}{any}", ids.join(", ")));
        }
        for (k, v) in &spec.labels {
            add("label", format!("{k}={v}"));
        }
        if let Some(cwd) = &spec.cwd {
            add("cwd", cwd.display().to_string());
        }
        if !spec.limits.is_empty() {
            add(
                "limits",
                crate::output::managed::limits_of(&spec.limits, &job.limit_status),
            );
        }
        if !job.limit_breach.is_empty() {
            add("breach", job.limit_breach.clone());
        }
        if !job.reason.is_empty() {
            add("reason", job.reason.clone());
        }
        add("last", outcome(&job));
        if let Some(m) = &metrics {
            add("cpu", format!("{:.1}%", m.cpu_percent));
            add("memory", format::bytes(m.memory_rss));
        }
        for (key, value) in crate::output::managed::metrics_rows_of(metrics.as_ref(), tree.as_ref())
        {
            add(key, value);
        }
        ignore_broken_pipe(output.table(&about))?;
        if !job.attempts.is_empty() {
            println!();
            let mut attempts = Table::new(&[
                ("ATTEMPT", Align::Right),
                ("PID", Align::Right),
                ("RAN", Align::Right),
                ("OUTCOME", Align::Left),
            ]);
            for a in &job.attempts {
                let ran = a
                    .ended_ms
                    .unwrap_or_else(now_ms)
                    .saturating_sub(a.started_ms);
                attempts.row([
                    a.number.to_string(),
                    a.pid.to_string(),
                    format::millis(ran),
                    a.outcome(),
                ]);
            }
            ignore_broken_pipe(output.table(&attempts))?;
        }
        Ok(crate::exit::OK)
    })
}

#[cfg(test)]
mod tests {
    use procward_core::queue::JobSpec;

    use super::*;

    fn header(jobs: &[Job]) -> String {
        let mut out = Vec::new();
        table(jobs).render(&mut out, None, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_host_column_only_when_a_job_has_a_host() {
        let job = Job::new(1, JobSpec::new(vec!["true".into()]), 0);
        assert!(!header(std::slice::from_ref(&job)).contains("HOST"));
        let mut ran = Job::new(2, JobSpec::new(vec!["true".into()]), 0);
        ran.host = Some("box-a".into());
        let text = header(&[job, ran]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("HOST"), "{text}");
        assert!(lines[1].contains(" - "), "{text}");
        assert!(lines[2].contains("box-a"), "{text}");
    }
}
