//! Who a gRPC request comes from, for the audit log: the Unix socket's peer uid (from
//! the kernel), the TCP peer's address (from the listener), or, with neither, the
//! daemon's own in-process MCP endpoint. A client may also *claim* a name in metadata
//! ([`CLIENT_HEADER`], or for the CLI its user agent `procward-cli/VERSION`; MCP sends `mcp` with its client's name in
//! [`MCP_CLIENT_HEADER`]); the claim is recorded as `client`, never as the caller.

use tonic::Request;
use tonic::transport::server::UdsConnectInfo;

use crate::engine::audit::{Caller, Interface, Peer, PeerAddr};

/// Metadata naming the client program (`cli`, `mcp`): a claim.
pub const CLIENT_HEADER: &str = "x-procward-client";
/// Metadata naming an MCP session's client (from its `initialize` request): a claim.
pub const MCP_CLIENT_HEADER: &str = "x-procward-mcp-client";

fn header<'a, T>(request: &'a Request<T>, name: &str) -> Option<&'a str> {
    request.metadata().get(name).and_then(|v| v.to_str().ok())
}

/// The user agent the CLI sends (`procward-cli/VERSION ...`): a claim of `cli`.
const CLI_USER_AGENT: &str = "procward-cli/";

/// The caller of `request`.
pub fn caller_of<T>(request: &Request<T>) -> Caller {
    let client = header(request, CLIENT_HEADER).or_else(|| {
        header(request, "user-agent")
            .filter(|agent| agent.starts_with(CLI_USER_AGENT))
            .map(|_| "cli")
    });
    let mcp_client = header(request, MCP_CLIENT_HEADER).filter(|c| !c.trim().is_empty());
    let claim = match (client, mcp_client) {
        (Some("mcp"), Some(name)) => Some(format!("mcp:{name}")),
        (client, _) => client.map(str::to_owned),
    };
    let extensions = request.extensions();
    if let Some(info) = extensions.get::<UdsConnectInfo>() {
        let who = info
            .peer_cred
            .map_or(Peer::Daemon, |cred| Peer::Uid(cred.uid()));
        return Caller::new(Interface::Grpc, who).claiming(claim.as_deref());
    }
    if let Some(PeerAddr(addr)) = extensions.get::<PeerAddr>() {
        return Caller::new(Interface::Grpc, Peer::Addr(*addr)).claiming(claim.as_deref());
    }
    // No socket at all: the daemon's own routes called in-process, which only its MCP
    // endpoint does (it sends the session's client name).
    match client {
        Some("mcp") => Caller::new(
            Interface::Mcp,
            Peer::McpClient(mcp_client.unwrap_or("unknown").chars().take(64).collect()),
        )
        .claiming(Some("mcp")),
        _ => Caller::new(Interface::Grpc, Peer::Daemon).claiming(claim.as_deref()),
    }
}
