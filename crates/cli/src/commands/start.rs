//! `procward start`: register a process with the daemon and start it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use procward_core::supervisor::spec::{
    Backoff, HealthCheck, ProcessSpec, RestartPolicy, command_from_string, parse_env_file,
    parse_env_pair, parse_size, read_config_file,
};
use procward_proto::convert::spec_to_proto;
use procward_proto::v1;

use super::Context;
use super::managed::{print_one, session};
use crate::output::Output;
use crate::parse;

const EXAMPLES: &str = "\
Examples:
  procward start web -- python3 -m http.server 8000
  procward start --name web --command 'python3 -m http.server 8000' --env PORT=8000
  procward start worker --restart on-failure --max-restarts 5 --backoff 1s:30s -- ./worker
  procward start api --cwd ~/api --env-file .env --stop-signal INT --stop-timeout 10 -- npm start
  procward start hog --memory-max 512M --on-breach restart --pids-max 100 -- ./hog
  procward start dev --cwd ~/app --watch 'src/**/*.py' --watch-ignore '*.log' -- python3 app.py
  procward start web --timestamps -- ./server        (then: procward logs web --since 10m)
  procward start api --instances 4 --readiness http://127.0.0.1:8000/ready -- ./api
  procward start db --health tcp:127.0.0.1:5432 -- postgres -D data
  procward start batch --restart on-failure --success-exit-code 3 -- ./batch

A --command string with shell syntax (pipes, redirections, $VARS) runs under /bin/sh -c.";

/// Arguments of `procward start`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Name of the process (letters, digits, '.', '_', '-'; at most 64).
    #[arg(value_name = "NAME", conflicts_with = "name_flag")]
    name: Option<String>,
    /// Name of the process (the planned form).
    #[arg(long = "name", id = "name_flag", value_name = "NAME")]
    name_flag: Option<String>,
    /// Command line as one string.
    #[arg(long, value_name = "CMD", conflicts_with = "argv")]
    command: Option<String>,
    /// Program and arguments, after `--`.
    #[arg(last = true, value_name = "CMD ARGS")]
    argv: Vec<String>,
    /// Working directory [default: the current directory].
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Environment variable KEY=VALUE (repeatable).
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// File of KEY=VALUE lines (loaded before --env).
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// always, on-failure or never [default: always].
    #[arg(long)]
    restart: Option<String>,
    /// Give up after this many restarts in a row [default: 10].
    #[arg(long)]
    max_restarts: Option<u32>,
    /// Restart delay BASE:MAX, doubling from BASE up to MAX [default: 1s:60s].
    #[arg(long, value_name = "BASE:MAX")]
    backoff: Option<String>,
    /// Signal that asks the process to stop [default: TERM].
    #[arg(long, value_parser = parse::signal)]
    stop_signal: Option<procward_core::Signal>,
    /// Wait between the stop signal and SIGKILL, 0 to 1h (e.g. 10, 500ms) [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = parse::stop_timeout, allow_hyphen_values = true)]
    stop_timeout: Option<Duration>,
    /// Rotate each log file at this size, e.g. 10MiB [default: 10MiB].
    #[arg(long, value_name = "SIZE")]
    log_max_bytes: Option<String>,
    /// Rotated files kept per stream [default: 5].
    #[arg(long, value_name = "N")]
    log_max_files: Option<u32>,
    /// Restart it when a file matching this glob changes (relative to --cwd; repeat for
    /// more): `--watch 'src/**/*.py'`. Changes are gathered for 300 ms first.
    #[arg(long, value_name = "GLOB")]
    watch: Vec<String>,
    /// Changes to these do not restart it (`*.log`: that name anywhere; repeat for more).
    #[arg(long, value_name = "GLOB", requires = "watch")]
    watch_ignore: Vec<String>,
    /// Restart it on this cron schedule (five fields, local time): `--cron-restart '0 3 * * *'`.
    #[arg(long, value_name = "CRON")]
    cron_restart: Option<String>,
    /// Prefix each log line with the time it was written (for `logs --since` and
    /// stdout/stderr interleaved by time); the program needs no change.
    #[arg(long)]
    timestamps: bool,
    /// Liveness check (restarts it when failing): `http://HOST:PORT/PATH`,
    /// `tcp:HOST:PORT` or `cmd:COMMAND`; every 5s, 2s timeout, 3 failures in a row.
    #[arg(long, value_name = "PROBE", value_parser = parse::probe)]
    health: Option<procward_core::supervisor::spec::Probe>,
    /// Readiness check (only marks it not ready; `reload` and dependents wait for it), in
    /// the same forms as --health.
    #[arg(long, value_name = "PROBE", value_parser = parse::probe)]
    readiness: Option<procward_core::supervisor::spec::Probe>,
    /// Run N replicas NAME:0..N-1 (1-256, or `max`: one per CPU), each with
    /// PROCWARD_INSTANCE set to its index.
    #[arg(long, value_name = "N", value_parser = parse::instances)]
    instances: Option<u32>,
    /// An exit code besides 0 that means done, not crashed (repeatable): on-failure does
    /// not restart after it.
    #[arg(
        long = "success-exit-code",
        value_name = "CODE",
        allow_hyphen_values = true
    )]
    success_exit_codes: Vec<i32>,
    #[command(flatten)]
    limits: super::limit_args::LimitArgs,
    /// Register without starting.
    #[arg(long)]
    no_autostart: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `procward start`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    let spec = build_spec(args)?;
    super::block_on(async move {
        let mut client = session().await?;
        let request = v1::StartRequest {
            spec: Some(spec_to_proto(&spec)),
            replace: false,
        };
        let view = client.start(request).await?.into_inner();
        print_one(&view, output, "started")
    })
}

fn build_spec(args: Args) -> anyhow::Result<ProcessSpec> {
    let Some(name) = args.name.or(args.name_flag) else {
        bail!(procward_core::Error::InvalidArgument(
            "a name is required: procward start NAME -- CMD ARGS".into()
        ));
    };
    let command = match (args.command, args.argv.is_empty()) {
        (Some(text), _) => command_from_string(&text).map_err(invalid)?,
        (None, false) => args.argv,
        (None, true) => bail!(procward_core::Error::InvalidArgument(
            "a command is required: procward start NAME -- CMD ARGS, or --command 'CMD ARGS'"
                .into()
        )),
    };
    let mut spec = ProcessSpec::new(name, command);
    let cwd = match args.cwd {
        Some(dir) => dir,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    spec.cwd = Some(std::path::absolute(&cwd).unwrap_or(cwd));
    if let Some(file) = args.env_file {
        let shown = file.display();
        let text = read_config_file(&file).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                invalid(format!("cannot read env file {shown}: {e}"))
            }
            _ => anyhow::Error::new(e).context(format!("cannot read env file {shown}")),
        })?;
        let vars = parse_env_file(&text).map_err(|e| invalid(format!("env file {shown}: {e}")))?;
        spec.env.extend(vars);
    }
    for pair in &args.env {
        let (key, value) = parse_env_pair(pair).map_err(invalid)?;
        spec.env.insert(key, value);
    }
    if let Some(policy) = args.restart {
        spec.restart = policy.parse::<RestartPolicy>().map_err(invalid)?;
    }
    if let Some(max) = args.max_restarts {
        spec.max_restarts = Some(max);
    }
    if let Some(backoff) = args.backoff {
        spec.backoff = backoff.parse::<Backoff>().map_err(invalid)?;
    }
    if let Some(signal) = args.stop_signal {
        spec.stop_signal = signal;
    }
    if let Some(timeout) = args.stop_timeout {
        spec.stop_timeout = timeout;
    }
    if let Some(size) = args.log_max_bytes {
        spec.logs.max_bytes = parse_size(&size).map_err(invalid)?;
    }
    if let Some(files) = args.log_max_files {
        spec.logs.max_files = files;
    }
    spec.logs.timestamps |= args.timestamps;
    if args.cron_restart.is_some() {
        spec.cron_restart = args.cron_restart;
    }
    if !args.watch.is_empty() {
        spec.watch = args.watch;
        spec.watch_ignore = args.watch_ignore;
    }
    args.limits
        .inputs()
        .apply(&mut spec.limits)
        .map_err(invalid)?;
    spec.health = args.health.map(HealthCheck::new);
    spec.readiness = args.readiness.map(HealthCheck::new);
    spec.instances = args.instances.unwrap_or(1);
    spec.success_exit_codes = args.success_exit_codes;
    spec.autostart = !args.no_autostart;
    spec.validate().map_err(invalid)?;
    Ok(spec)
}

/// Bad input from a spec validator: exit code 2, like every other bad argument.
pub fn invalid(error: impl std::fmt::Display) -> anyhow::Error {
    procward_core::Error::InvalidArgument(error.to_string()).into()
}
