//! The TCP listener's connections: optional TLS (rustls), then HTTP/2 (gRPC) or HTTP/1.1
//! with upgrades (socket.io's WebSocket, MCP, the dashboard) on the same port. tonic's
//! own server cannot hand an upgraded connection over, so the daemon accepts itself.

use std::path::Path;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::grpc::{Services, require_bearer};
use crate::reaper::OwnedChildren;
use crate::token::TokenCheck;
use crate::web::{SessionTable, WebState};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
/// inside its protocol (a browser cannot send a header on a WebSocket).
pub fn router(
    services: &Services,
    tokens: TokenCheck,
    mcp: procward_mcp::Policy,
    any_host: bool,
    owned: OwnedChildren,
) -> axum::Router {
    let backend = procward_mcp::Backend::new(services.routes());
    let mcp = procward_mcp::http_service(backend.clone(), mcp, any_host);
    let web = WebState {
        backend,
        tokens: tokens.clone(),
        sessions: SessionTable::new(owned),
    };
    let (dashboard, socket_io) = crate::web::build(web);
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

/// Serves `router` on `listener` until `stop`. Connections already open are dropped at
/// shutdown (the daemon is exiting).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<TlsAcceptor>,
    stop: impl Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "TCP accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // No Nagle: small answers would otherwise wait ~40 ms for the peer's delayed ACK.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let tls = tls.clone();
        connections.spawn(async move {
            let builder = Builder::new(TokioExecutor::new());
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => {
                        builder
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .await
                    }
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                },
                None => {
                    builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
        // Forget finished connections as we go.
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}
