//! The TCP listener's connections: optional TLS (rustls), then HTTP/2 (gRPC) or HTTP/1.1
//! with upgrades (socket.io's WebSocket, MCP, the dashboard) on the same port. tonic's
//! own server cannot hand an upgraded connection over, so the daemon accepts itself.

mod hosts;
mod limits;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::timeout;

pub use hosts::HostPolicy;
pub use limits::TcpLimits;
use limits::{Guarded, Held};

use crate::engine::Engine;
use crate::engine::reaper::OwnedChildren;
use crate::token::TokenCheck;
use crate::transport::grpc::{Services, require_bearer};
use crate::transport::web::{SessionTable, WebState};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How often an HTTP/2 connection is pinged, and how long the answer may take.
const H2_PING_INTERVAL: Duration = Duration::from_secs(30);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// How long an idle connection may take to close once told to.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// TLS for the TCP listener: PEM certificate chain and private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain (PEM).
    pub cert: std::path::PathBuf,
    /// Private key (PEM).
    pub key: std::path::PathBuf,
}

/// Loads a PEM certificate chain and private key into a TLS acceptor (HTTP/2 and
/// HTTP/1.1 offered by ALPN).
pub fn tls_acceptor(cert: &Path, key: &Path) -> std::io::Result<TlsAcceptor> {
    let invalid = |what: &Path, e: &dyn std::fmt::Display| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", what.display()),
        )
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| invalid(cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert, &e))?;
    if chain.is_empty() {
        return Err(invalid(cert, &"no certificate in the file"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(key, &e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(cert, &e))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| invalid(key, &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Everything the TCP listener serves: gRPC and `/mcp` behind the bearer token; the
/// dashboard's files, which are public; and socket.io around it all, which authenticates
/// inside its protocol (a browser cannot send a header on a WebSocket) within
/// `auth_timeout` of connecting.
pub fn router(
    services: &Services,
    engine: Engine,
    tokens: TokenCheck,
    mcp: procward_mcp::Policy,
    owned: OwnedChildren,
    auth_timeout: Duration,
) -> axum::Router {
    let backend = procward_mcp::Backend::new(services.routes());
    // Every request's Host is checked in front of it (`HostPolicy`), with the configured
    // names, so the MCP service's own loopback-only check would only get in the way.
    let mcp = procward_mcp::http_service(backend, mcp, true);
    let web = WebState {
        engine,
        tokens: tokens.clone(),
        sessions: SessionTable::new(owned),
        auth_timeout,
    };
    let (dashboard, socket_io) = crate::transport::web::build(web);
    let app = services
        .routes()
        .into_axum_router()
        .nest_service("/mcp", mcp)
        .layer(axum::middleware::from_fn_with_state(tokens, require_bearer))
        .merge(dashboard);
    // Layered once, as a service: `Router::layer` would apply it afresh to the fallback on
    // every request, and each application makes a new socket.io engine (so a polling
    // client's second request would meet an engine that never saw its session).
    axum::Router::new().fallback_service(tower::Layer::layer(&socket_io, app))
}

/// Serves `router` on `listener` until `stop`, within `limits`, to the hosts and origins
/// `hosts` allows. Connections already open are dropped at shutdown (the daemon is
/// exiting).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<TlsAcceptor>,
    limits: TcpLimits,
    hosts: HostPolicy,
    stop: impl Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    let mut connections = tokio::task::JoinSet::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let hosts = Arc::new(hosts);
    let builder = Arc::new(http_builder(&limits));
    let mut refused: u64 = 0;
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Full: close at once (never queue), so the daemon keeps its file descriptors.
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(
                    %peer, refused, max_connections = limits.max_connections,
                    "TCP connection limit reached: closing new connections"
                );
            }
            drop(stream);
            continue;
        };
        // No Nagle: small answers would otherwise wait ~40 ms for the peer's delayed ACK.
        let _ = stream.set_nodelay(true);
        let service = Guarded {
            inner: router.clone(),
            hosts: hosts.clone(),
            activity: Arc::default(),
            peer,
        };
        let (tls, builder) = (tls.clone(), builder.clone());
        connections.spawn(async move {
            let started = Instant::now();
            let handshake = limits.handshake_timeout;
            match tls {
                Some(acceptor) => {
                    let accepted = timeout(handshake, acceptor.accept(Held::new(stream, slot)));
                    match accepted.await {
                        Ok(Ok(stream)) => drive(stream, &builder, service, &limits).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, ?handshake, "TLS handshake timed out"),
                    }
                }
                None => {
                    let mut first = [0u8; 1];
                    match timeout(handshake, stream.peek(&mut first)).await {
                        Ok(Ok(1..)) => {
                            drive(Held::new(stream, slot), &builder, service, &limits).await;
                        }
                        Ok(_) => {}
                        Err(_) => tracing::debug!(%peer, ?handshake, "no request: closed"),
                    }
                }
            }
            tracing::trace!(%peer, elapsed = ?started.elapsed(), "connection closed");
        });
        // Forget finished connections as we go.
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

/// HTTP/1 with the header-read timeout; HTTP/2 with keep-alive pings, so a dead peer of
/// a long stream is noticed.
fn http_builder(limits: &TcpLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    builder
}

/// Serves one connection until it ends, or until no request has been in flight for the
/// idle timeout (then it is shut down gracefully, and dropped if that takes too long).
async fn drive<S>(stream: S, builder: &Builder<TokioExecutor>, service: Guarded, limits: &TcpLimits)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(stream);
    let activity = service.activity.clone();
    let idle = limits.idle_timeout;
    let connection = builder.serve_connection_with_upgrades(io, TowerToHyperService::new(service));
    let mut connection = std::pin::pin!(connection);
    let mut check = Instant::now() + idle;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tokio::time::sleep_until(check.into()) => match activity.idle_deadline(idle) {
                Some(at) if at <= Instant::now() => break,
                Some(at) => check = at,
                None => check = Instant::now() + idle,
            },
        }
    }
    tracing::debug!(?idle, "idle connection: closing");
    connection.as_mut().graceful_shutdown();
    let _ = timeout(SHUTDOWN_GRACE, connection).await;
}
