//! `procward queue add` and `procward run`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context as _;
use procward_core::queue::parse_label;
use procward_core::supervisor::spec::{parse_duration, parse_env_pair};
use procward_proto::convert::limits::limits_to_proto;
use procward_proto::convert::queue::job_from_proto;
use procward_proto::v1;

use super::super::Context;
use super::super::logs::print_lines;
use super::{client, exit_code_of};
use crate::output::{Output, ignore_broken_pipe};

/// What a job is and how to run it: the flags of `queue add` and `run`.
#[derive(Debug, clap::Args)]
pub struct JobArgs {
    /// Concurrency group [default: default].
    #[arg(long, short)]
    group: Option<String>,
    /// 0 to 1000, higher runs first [default: 0].
    #[arg(long, short, allow_hyphen_values = true)]
    priority: Option<i32>,
    /// Start no sooner than this from now (e.g. 30s, 5m, 1h30m).
    #[arg(long, conflicts_with = "at", value_parser = duration_ms)]
    delay: Option<u64>,
    /// Start no sooner than this time (RFC 3339 such as 2026-12-24T18:00:00Z, UTC if no
    /// zone is given).
    #[arg(long, value_parser = at_ms)]
    at: Option<u64>,
    /// Runs until one attempt exits 0, at most this many times (1 to 100) [default: 3;
    /// `run`: 1].
    #[arg(long)]
    attempts: Option<u32>,
    /// Wait between attempts: exponential:BASE[:CAP] or fixed:DELAY, `:jitter` appended
    /// for jitter [default: exponential:2s:10m].
    #[arg(long)]
    backoff: Option<String>,
    /// Per attempt: SIGTERM to its tree after this long, SIGKILL 5 s later (100ms to 30d).
    #[arg(long, value_parser = duration_ms)]
    timeout: Option<u64>,
    /// Run after job ID completed (repeatable).
    #[arg(long, value_name = "ID")]
    after: Vec<u64>,
    /// With --after: run once the dependencies ended, whatever their outcome.
    #[arg(long, requires = "after")]
    after_any: bool,
    /// Label KEY=VALUE (repeatable).
    #[arg(long = "label", short = 'l', value_name = "KEY=VALUE", value_parser = label)]
    labels: Vec<(String, String)>,
    /// Environment variable KEY=VALUE (repeatable).
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE", value_parser = env_pair)]
    env: Vec<(String, String)>,
    /// Working directory [default: the current directory].
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Print the job as JSON instead of its id.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: super::super::limit_args::LimitArgs,
    /// Program and arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD ARGS")]
    argv: Vec<String>,
}

/// Arguments of `procward run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward run -- make test\n  procward run --group ci --timeout 30m -- ./integration.sh\n\nThe output is printed as it comes; the exit code is the job's."
)]
pub struct RunArgs {
    #[command(flatten)]
    job: JobArgs,
}

fn now_ms() -> u64 {
    procward_core::sys::unix_ms(SystemTime::now())
}

impl JobArgs {
    /// The wire spec; `attempts` is the default when `--attempts` is absent.
    pub(super) fn spec(&self, attempts: u32) -> anyhow::Result<v1::JobSpec> {
        let env: BTreeMap<String, String> = self.env.iter().cloned().collect();
        let labels: BTreeMap<String, String> = self.labels.iter().cloned().collect();
        let limits = self
            .limits
            .inputs()
            .parse()
            .map_err(super::super::start::invalid)?;
        let cwd = match &self.cwd {
            Some(cwd) => cwd.clone(),
            None => std::env::current_dir().context("cannot read the current directory")?,
        };
        Ok(v1::JobSpec {
            command: self.argv.clone(),
            env: env.into_iter().collect(),
            cwd: Some(cwd.display().to_string()),
            group: self.group.clone().unwrap_or_default(),
            priority: self.priority.unwrap_or(0),
            delay_ms: self.delay,
            not_before_ms: self.at,
            attempts: Some(self.attempts.unwrap_or(attempts)),
            backoff: self.backoff.clone().unwrap_or_default(),
            timeout_ms: self.timeout,
            after: self.after.clone(),
            after_any: self.after_any,
            labels: labels.into_iter().collect(),
            limits: limits_to_proto(&limits),
        })
    }
}

/// Runs `procward queue add`.
pub fn run_add(args: JobArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    let spec = args.spec(3)?;
    super::super::block_on(async move {
        let job = client()
            .await?
            .add(v1::AddJobRequest { spec: Some(spec) })
            .await?
            .into_inner();
        if output.json {
            let job = job_from_proto(job).map_err(anyhow::Error::msg)?;
            ignore_broken_pipe(output.json(&job))?;
        } else {
            println!("{}", job.id);
        }
        Ok(crate::exit::OK)
    })
}

/// Runs `procward run`: adds the job, prints its output as it comes (stderr lines to
/// stderr) and exits with the job's exit code.
pub fn run_run(args: RunArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(false, ctx.color);
    let spec = args.job.spec(1)?;
    super::super::block_on(async move {
        let mut queue = client().await?;
        let job = queue
            .add(v1::AddJobRequest { spec: Some(spec) })
            .await?
            .into_inner();
        let request = v1::JobLogsRequest {
            id: job.id,
            attempt: None,
            follow: true,
            lines: None,
            stdout: false,
            stderr: false,
        };
        let stream = queue.logs(request).await?.into_inner();
        print_lines(stream, true, true, output).await?;
        let job = queue
            .wait(v1::JobRequest { id: job.id })
            .await?
            .into_inner();
        if job.state() != v1::JobState::Completed {
            eprintln!(
                "procward: job {} {}: {}",
                job.id,
                job.state().wire_name(),
                job.reason
            );
        }
        Ok(exit_code_of(job.exit_code))
    })
}

/// A duration flag in milliseconds (`30s`, `1m30s`); bad text is a usage error (exit 2).
pub(super) fn duration_ms(text: &str) -> Result<u64, String> {
    parse_duration(text)
        .map(|d| d.as_millis() as u64)
        .map_err(|e| e.to_string())
}

/// `--at`: an RFC 3339 time (UTC without a zone), not in the past, in Unix milliseconds.
fn at_ms(text: &str) -> Result<u64, String> {
    let time = humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("{e}; use a time such as 2026-12-24T18:00:00Z"))?;
    let ms = procward_core::sys::unix_ms(time);
    if ms < now_ms() {
        return Err(format!("{text} is in the past"));
    }
    Ok(ms)
}

fn env_pair(text: &str) -> Result<(String, String), String> {
    parse_env_pair(text).map_err(|e| e.to_string())
}

fn label(text: &str) -> Result<(String, String), String> {
    parse_label(text).map_err(|e| e.to_string())
}
