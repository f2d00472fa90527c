//! The web transport on the TCP listener: socket.io (socketioxide) for live sessions,
//! terminals, logs and metrics, and the dashboard's embedded files. The protocol is
//! `web/PROTOCOL.md`. Unlike gRPC and `/mcp`, these need no `Authorization` header
//! (a browser cannot send one on a WebSocket): the page is public, and socket.io clients
//! authenticate inside the protocol with the same token.

mod assets;
mod data;
pub mod events;
mod lines;
pub mod message;
mod payloads;
mod queue;
mod sessions;
mod socket;
mod streams;

#[cfg(test)]
mod fuzz;

use socketioxide::SocketIo;
use socketioxide::handler::ConnectHandler as _;
use socketioxide::layer::SocketIoLayer;

pub use sessions::SessionTable;

use crate::engine::Engine;
use crate::token::TokenCheck;

/// Largest socket.io message a client may send.
const MAX_PAYLOAD: u64 = 1024 * 1024;
/// Messages queued per client before it counts as too slow.
const CLIENT_BUFFER: usize = 4096;

/// What the web handlers share.
#[derive(Clone)]
pub struct WebState {
    /// The daemon's API.
    pub engine: Engine,
    /// The token clients must present.
    pub tokens: TokenCheck,
    /// Live sessions.
    pub sessions: SessionTable,
    /// A client that has not authenticated this long after connecting is disconnected
    /// (so tokenless WebSockets cannot hold the listener's connection slots).
    pub auth_timeout: std::time::Duration,
}

/// A typed event payload, or the reason it is malformed (shared by every handler).
fn parse<T: serde::de::DeserializeOwned>(payload: serde_json::Value) -> Result<T, String> {
    // The path names the field at fault: "malformed payload: limits.pidsMax: invalid type".
    serde_path_to_error::deserialize(payload).map_err(|e| match e.path().to_string() {
        path if path == "." => format!("malformed payload: {}", e.inner()),
        path => format!("malformed payload: {path}: {}", e.inner()),
    })
}

/// The dashboard's routes, and the socket.io layer to put around the whole listener.
pub fn build(state: WebState) -> (axum::Router, SocketIoLayer) {
    let (layer, io) = SocketIo::builder()
        .max_payload(MAX_PAYLOAD)
        .max_buffer_size(CLIENT_BUFFER)
        .with_state(state)
        .build_layer();
    io.ns("/", socket::on_connect.with(socket::check_connect));
    (assets::routes(), layer)
}
