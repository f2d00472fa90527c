//! The doors: each module translates one protocol to the [`crate::engine`] and back, and
//! none imports another. [`grpc`] serves the Unix socket and the TCP listener; [`web`] is
//! socket.io and the dashboard; [`http`] is the TCP listener itself (TLS, limits, host
//! checks) that mounts gRPC, `/mcp` and the web on one port.

pub mod grpc;
pub mod http;
pub mod web;
