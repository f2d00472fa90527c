//! Who asks for an action: the door ([`Interface`]) and the peer as that door knows it
//! ([`Peer`]), given to the engine by each transport as one small value ([`Caller`]).

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The door an action came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// The CLI acting on its own (no daemon running: `procward kill` signals directly).
    Cli,
    /// gRPC, on the Unix socket or the TCP listener (the CLI's daemon calls included:
    /// they claim `client: cli`).
    Grpc,
    /// The daemon's MCP endpoint (`/mcp`).
    Mcp,
    /// A socket.io client.
    #[serde(rename = "socketio")]
    SocketIo,
    /// The web dashboard (a socket.io client that says it is the dashboard).
    Dashboard,
    /// The desktop tray.
    Tray,
    /// The daemon's own resource limits.
    Limits,
}

impl Interface {
    /// The word written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cli => "cli",
            Self::Grpc => "grpc",
            Self::Mcp => "mcp",
            Self::SocketIo => "socketio",
            Self::Dashboard => "dashboard",
            Self::Tray => "tray",
            Self::Limits => "limits",
        }
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The caller as the door identified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// A Unix-socket peer's uid (from the kernel: `SO_PEERCRED`).
    Uid(u32),
    /// A TCP peer's address.
    Addr(SocketAddr),
    /// An MCP session, by the client name from its `initialize` request.
    McpClient(String),
    /// The daemon itself (its resource limits, or a caller with no peer at all).
    Daemon,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uid(uid) => write!(f, "uid:{uid}"),
            Self::Addr(addr) => write!(f, "addr:{addr}"),
            Self::McpClient(name) => write!(f, "mcp:{name}"),
            Self::Daemon => f.write_str("daemon"),
        }
    }
}

/// A TCP connection's peer, as the daemon's listener accepted it: put in each HTTP
/// request's extensions so every door on that listener (gRPC, socket.io) can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Who asks: passed to every destructive engine call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The door.
    pub interface: Interface,
    /// The peer, as the door knows it.
    pub who: Peer,
    /// The client the caller claims to be (`cli`, an MCP client's name): not verified,
    /// recorded as a claim.
    pub client: Option<String>,
}

impl Caller {
    /// A caller with no claimed client name.
    pub fn new(interface: Interface, who: Peer) -> Self {
        Self {
            interface,
            who,
            client: None,
        }
    }

    /// The daemon acting on its own through `interface` (resource limits).
    pub fn daemon(interface: Interface) -> Self {
        Self::new(interface, Peer::Daemon)
    }

    /// The same caller, claiming to be `client` (empty or absent: no claim). Claims are
    /// cut to 64 characters.
    pub fn claiming(mut self, client: Option<&str>) -> Self {
        self.client = client
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| c.chars().take(64).collect());
        self
    }
}
