//! `procward mcp`: an MCP server on stdio for AI assistants, talking to the daemon.

use anyhow::Context as _;
use procward_daemon::Home;
use procward_mcp::{Backend, KillScope, Policy};

use super::Context;
use crate::client;
use crate::config::McpConfig;

const EXAMPLES: &str = "\
Examples:
  procward mcp                        every tool; kills limited to your own processes
  procward mcp --read-only            only the tools that change nothing
  procward mcp --allow-kill managed   kill_process only for processes procward manages

In an MCP client's configuration (Claude Desktop, VS Code, ...):
  {\"mcpServers\": {\"procward\": {\"command\": \"procward\", \"args\": [\"mcp\"]}}}

stdout carries only the protocol; errors go to stderr. The daemon is started if needed.
The daemon also serves MCP over HTTP at http://ADDR/mcp on its TCP listener
(`procward daemon --listen`), with the bearer token of `procward token`.";

/// Arguments of `procward mcp`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Expose only the read tools (no start, stop, restart or kill).
    #[arg(long)]
    read_only: bool,
    /// Which processes kill_process may signal: managed, own (default) or any.
    #[arg(long, value_name = "SCOPE")]
    allow_kill: Option<KillScope>,
}

/// The policy from flags, then the config file's `[mcp]`.
pub fn policy(
    read_only: bool,
    allow_kill: Option<KillScope>,
    config: &McpConfig,
) -> anyhow::Result<Policy> {
    let kill = match (allow_kill, config.allow_kill.as_deref()) {
        (Some(scope), _) => scope,
        (None, Some(text)) => text
            .parse()
            .map_err(|e: String| anyhow::anyhow!("invalid [mcp] allow_kill in the config: {e}"))?,
        (None, None) => KillScope::default(),
    };
    Ok(Policy {
        read_only: read_only || config.read_only.unwrap_or(false),
        kill,
    })
}

/// Runs `procward mcp` until the client closes stdin.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let policy = policy(args.read_only, args.allow_kill, &ctx.config.mcp)?;
    let home = Home::from_env()?;
    super::block_on(async move {
        let channel = client::connect_channel(&home, true).await?;
        procward_mcp::serve_stdio(Backend::new(channel), policy)
            .await
            .context("the MCP session ended with an error")?;
        Ok(crate::exit::OK)
    })
}
