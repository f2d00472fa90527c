//! procward's MCP server: the daemon's abilities as tools for AI assistants, built on the
//! official Rust SDK (rmcp).
//!
//! The handler ([`ProcwardMcp`]) holds no state of its own: every tool is a call to the
//! daemon's gRPC API ([`Backend`]), so an assistant gets exactly the validation and
//! safety checks every other client gets, plus its own limits ([`Policy`]: read-only, and
//! which processes it may kill). Two transports carry it:
//! - [`serve_stdio`] for `procward mcp`, a separate process that talks to the daemon over
//!   its Unix socket;
//! - [`http_service`], mounted by the daemon at `/mcp` on its TCP listener (streamable
//!   HTTP), calling the daemon's gRPC routes in-process.
//!
//! Failed actions, including malformed arguments, are tool results with `isError: true`
//! and a message that says what to try; protocol errors are kept for requests that cannot
//! be routed at all.

pub mod args;
pub mod policy;
pub mod server;
pub mod stdio;
mod summary;
pub mod tools;

use std::sync::Arc;

use rmcp::ServiceExt as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

pub use policy::{KillScope, Policy};
pub use procward_proto::client::Backend;
pub use server::ProcwardMcp;

/// Serves MCP on stdin/stdout until the client closes it. Nothing but protocol goes to
/// stdout; the caller logs to stderr. Lines that are not JSON are answered with a
/// JSON-RPC Parse error (see [`stdio`]).
pub async fn serve_stdio(backend: Backend, policy: Policy) -> anyhow_free::Result<()> {
    let (stdin, stdout) = rmcp::transport::stdio();
    let guarded = stdio::guard(stdin, stdout);
    let served = async {
        let running = ProcwardMcp::new(backend, policy)
            .serve((guarded.input, guarded.output))
            .await
            .map_err(|e| anyhow_free::Error(e.to_string()))?;
        running
            .waiting()
            .await
            .map_err(|e| anyhow_free::Error(e.to_string()))?;
        Ok(())
    }
    .await;
    // rmcp has stopped (stdin closed, or it failed): stop reading, write what is queued.
    guarded.reader.abort();
    let _ = guarded.reader.await;
    match guarded.writer.await {
        Ok(Err(e)) if served.is_ok() => Err(anyhow_free::Error(format!("writing stdout: {e}"))),
        _ => served,
    }
}

/// The streamable-HTTP MCP service (one handler per session), to mount at `/mcp`.
/// Authentication is the caller's: the daemon checks the bearer token in front of it.
/// On loopback, requests must name a loopback host (against DNS rebinding); a listener
/// meant for other machines (`any_host`) accepts any Host header, since the token, which
/// a rebinding browser page cannot know, guards it anyway.
pub fn http_service(
    backend: Backend,
    policy: Policy,
    any_host: bool,
) -> StreamableHttpService<ProcwardMcp, LocalSessionManager> {
    let config = StreamableHttpServerConfig::default();
    let config = if any_host {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(["localhost", "127.0.0.1", "::1"])
    };
    StreamableHttpService::new(
        move || Ok(ProcwardMcp::new(backend.clone(), policy)),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// The error type of [`serve_stdio`].
pub mod anyhow_free {
    /// Why the stdio server stopped abnormally.
    #[derive(Debug, thiserror::Error)]
    #[error("MCP over stdio: {0}")]
    pub struct Error(pub String);

    /// Result of [`super::serve_stdio`].
    pub type Result<T> = std::result::Result<T, Error>;
}
