//! What bounds the TCP listener's connections: how many may be open, how long a client
//! may take to start talking and to send a request head, and how long a connection may
//! sit with no request in flight. A long-lived answer (a gRPC server stream, MCP's SSE
//! stream) counts as in flight for as long as it runs, and an upgraded connection
//! (socket.io's WebSocket) leaves the HTTP server altogether (engine.io pings it), so
//! neither is cut while it is in use.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use http_body_util::BodyExt as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;

use super::hosts::{HostPolicy, refuse};

/// The listener's limits; `Default` gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpLimits {
    /// Most connections open at once (WebSockets included); more are closed at accept.
    pub max_connections: usize,
    /// From accept to the first byte (plain) or a finished TLS handshake.
    pub handshake_timeout: Duration,
    /// To receive a whole HTTP/1 request head, also between keep-alive requests.
    pub header_read_timeout: Duration,
    /// With no request in flight for this long, a connection is closed (HTTP/2 gets a
    /// GOAWAY first).
    pub idle_timeout: Duration,
}

impl TcpLimits {
    /// Default for `max_connections`.
    pub const MAX_CONNECTIONS: usize = 512;
    /// Default for `handshake_timeout`.
    pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default for `header_read_timeout`.
    pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default for `idle_timeout`.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
}

impl Default for TcpLimits {
    fn default() -> Self {
        Self {
            max_connections: Self::MAX_CONNECTIONS,
            handshake_timeout: Self::HANDSHAKE_TIMEOUT,
            header_read_timeout: Self::HEADER_READ_TIMEOUT,
            idle_timeout: Self::IDLE_TIMEOUT,
        }
    }
}

/// A connection's stream with its slot: the slot is given back when the stream is
/// dropped, which for an upgraded connection is when the WebSocket ends.
pub struct Held<S> {
    stream: S,
    _slot: OwnedSemaphorePermit,
}

impl<S> Held<S> {
    /// `stream`, counted against the limit by `slot`.
    pub fn new(stream: S, slot: OwnedSemaphorePermit) -> Self {
        Self {
            stream,
            _slot: slot,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Held<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Held<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Requests in flight on one connection, and when the last one ended.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    /// Milliseconds after `start` when the connection last became idle.
    idle_since_ms: AtomicU64,
    start: Instant,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
            start: Instant::now(),
        }
    }
}

impl Activity {
    /// When the connection will have been idle for `idle`, or `None` while a request is
    /// in flight.
    pub fn idle_deadline(&self, idle: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let since = Duration::from_millis(self.idle_since_ms.load(Ordering::SeqCst));
        Some(self.start + since + idle)
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }
}

/// One request in flight, until its answer's body is done or dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = self.0.start.elapsed().as_millis() as u64;
        self.0.idle_since_ms.store(now, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The service of one connection: checks `Host`/`Origin`, then serves `inner`, counting
/// the request in flight until its answer is finished.
#[derive(Clone)]
pub struct Guarded {
    /// What serves allowed requests.
    pub inner: axum::Router,
    /// Which hosts and origins are allowed.
    pub hosts: Arc<HostPolicy>,
    /// This connection's requests.
    pub activity: Arc<Activity>,
    /// The connection's peer, put in every request's extensions (as a
    /// [`crate::engine::audit::PeerAddr`]) for the audit log.
    pub peer: std::net::SocketAddr,
}

impl<B> tower::Service<Request<B>> for Guarded
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request
            .extensions_mut()
            .insert(crate::engine::audit::PeerAddr(self.peer));
        let authority = request.uri().authority().map(|a| a.as_str().to_owned());
        if let Err(why) = self.hosts.check(authority.as_deref(), request.headers()) {
            tracing::debug!(reason = %why.0, "request refused");
            let answer = refuse(&request, &why);
            return Box::pin(async move { Ok(answer) });
        }
        let in_flight = self.activity.begin();
        let answer = tower::Service::call(&mut self.inner, request);
        Box::pin(async move {
            let response = answer.await?;
            // The answer's body owns the in-flight mark: a stream counts until it ends.
            Ok(response.map(move |body| {
                Body::new(body.map_frame(move |frame| {
                    let _ = &in_flight;
                    frame
                }))
            }))
        })
    }
}
