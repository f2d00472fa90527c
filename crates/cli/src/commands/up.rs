//! `procward up` and `procward down`: the processes of a procward.toml, in dependency order.

use std::path::PathBuf;

use procward_core::supervisor::compose::{parse_compose_file, start_order};
use procward_core::supervisor::spec::ProcessSpec;
use procward_proto::convert::spec_to_proto;
use procward_proto::v1;

use super::Context;
use super::managed::{print_views, session};
use super::start::invalid;
use crate::output::Output;

/// Arguments of `procward up` and `procward down`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  procward up                 start ./procward.toml\n  procward up deploy/stack.toml\n  procward down               stop ./procward.toml's processes, dependents first"
)]
pub struct Args {
    /// The file [default: ./procward.toml].
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The file's processes in start order.
fn load(file: Option<PathBuf>) -> anyhow::Result<Vec<ProcessSpec>> {
    let path = file.unwrap_or_else(|| PathBuf::from("procward.toml"));
    let specs = parse_compose_file(&path).map_err(|e| match e.kind() {
        procward_core::ErrorKind::InvalidInput => invalid(e),
        // The message already holds the cause; `{:#}` would print it twice.
        _ => anyhow::Error::msg(e.to_string()),
    })?;
    let order = start_order(&specs).map_err(invalid)?;
    let mut by_name: std::collections::HashMap<String, ProcessSpec> =
        specs.into_iter().map(|s| (s.name.clone(), s)).collect();
    Ok(order
        .into_iter()
        .filter_map(|name| by_name.remove(&name))
        .collect())
}

/// Runs `procward up`.
pub fn run_up(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    let specs = load(args.file)?;
    super::block_on(async move {
        let mut client = session().await?;
        let request = v1::UpRequest {
            specs: specs.iter().map(spec_to_proto).collect(),
        };
        let views = client.up(request).await?.into_inner().processes;
        print_views(views, output)
    })
}

/// Runs `procward down`.
pub fn run_down(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let output = Output::new(args.json, ctx.color);
    let specs = load(args.file)?;
    let names = specs.iter().rev().map(|s| s.name.clone()).collect();
    super::block_on(async move {
        let mut client = session().await?;
        let views = client
            .down(v1::DownRequest { names })
            .await?
            .into_inner()
            .processes;
        print_views(views, output)
    })
}
