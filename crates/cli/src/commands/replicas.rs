//! `procward reload` (zero-downtime restart) and `procward scale` (replica count).

use procward_proto::v1;

use super::Context;
use super::managed::{print_views, session};
use crate::output::Output;

/// Arguments of `procward reload`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  procward reload api        (new instance, ready, then the old one stops)
  procward reload web        (a set of replicas: one at a time)

The process needs a readiness or health check (--readiness / --health, or readiness =
and health = in procward.toml) so that procward knows when the new instance is ready;
replicas without one are restarted one at a time instead. While both instances run they
share the logs and must be able to share their port (SO_REUSEPORT) or work.")]
pub struct ReloadArgs {
    /// Managed process, or a set of replicas by its name.
    name: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `procward reload`.
pub fn run_reload(args: ReloadArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::block_on(async move {
        let mut client = session().await?;
        let request = v1::NameRequest { name: args.name };
        let answer = client.reload(request).await?.into_inner();
        print(answer, output, "reloaded")
    })
}

/// Arguments of `procward scale`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  procward scale web 4       (web:0..web:3; new ones ready before old ones go)
  procward scale web 1       (keeps web:0)

Each replica is a managed process of its own with PROCWARD_INSTANCE set to its index;
stop, restart, delete, signal, logs and reload on NAME act on all of them.")]
pub struct ScaleArgs {
    /// Managed process, or a set of replicas by its name.
    name: String,
    /// Replicas wanted: 1-256, or `max` (one per CPU).
    #[arg(value_parser = crate::parse::instances)]
    instances: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `procward scale`.
pub fn run_scale(args: ScaleArgs, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    super::block_on(async move {
        let mut client = session().await?;
        let request = v1::ScaleRequest {
            name: args.name,
            instances: args.instances,
        };
        let answer = client.scale(request).await?.into_inner();
        print(answer, output, "scaled")
    })
}

fn print(answer: v1::ReplicasResponse, output: Output, verb: &str) -> anyhow::Result<u8> {
    if !output.json {
        let names: Vec<String> = answer.processes.iter().map(|p| p.name.clone()).collect();
        println!("{verb}: {}", names.join(", "));
    }
    print_views(answer.processes, output)
}
