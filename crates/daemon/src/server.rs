//! Running a daemon: take the home's lock, restore the registry, serve gRPC on the Unix
//! socket (and, when asked, on an authenticated TCP listener) until SIGTERM, SIGINT or a
//! `Shutdown` call.

use std::fs::Permissions;
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, UnixListener};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;

use crate::engine::Engine;
use crate::engine::reaper;
use crate::engine::reaper::OwnedChildren;
use crate::home::Home;
use crate::lock::{DaemonLock, LockError};
use crate::logging;
use crate::token::{self, TokenCheck};
use crate::transport::grpc::Services;
use crate::transport::grpc::supervisor::SupervisorService;
use crate::transport::http::{HostPolicy, TcpLimits, TlsFiles};

/// How to run a daemon.
#[derive(Debug)]
pub struct DaemonOptions {
    /// Its state folder.
    pub home: Home,
    /// The binary that runs shims as `EXE shim LAUNCH_FILE` (`procward-shim`, or
    /// `procward` itself).
    pub exe: PathBuf,
    /// Also log to stderr (a foreground daemon on a terminal).
    pub log_to_stderr: bool,
    /// Also serve on this TCP address (port 0: any free port), token required.
    pub listen: Option<SocketAddr>,
    /// Serve the TCP listener over TLS.
    pub tls: Option<TlsFiles>,
    /// What the MCP endpoint (`/mcp` on the TCP listener) lets assistants do.
    pub mcp: procward_mcp::Policy,
    /// Connection limits and timeouts of the TCP listener.
    pub limits: TcpLimits,
    /// Host names the TCP listener answers besides IP addresses, `localhost` and the
    /// machine's name (`*`: any).
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed besides the listener's own and loopback ones (`*`: any).
    pub allowed_origins: Vec<String>,
    /// The engine's settings: `[queue]` and `[limits]` in procward.toml.
    pub engine: crate::engine::EngineConfig,
    /// Told `ready` once the Unix socket accepts connections, so whoever started the
    /// daemon (`procward daemon --detach`) need not poll the socket; closed unwritten when
    /// the daemon fails first.
    pub ready: Option<std::fs::File>,
}

/// Why a daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Another daemon owns this home.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Setting up the home, the socket or the logs failed.
    #[error("{context}: {source}")]
    Io {
        /// What the daemon was doing.
        context: String,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Serve(#[from] tonic::transport::Error),
    /// The services could not be assembled.
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The engine could not start (its registry unreadable, the sampler failing).
    #[error("engine: {0}")]
    Engine(#[from] crate::engine::EngineError),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DaemonError {
    let context = context.into();
    move |source| DaemonError::Io { context, source }
}

/// Runs a daemon until it is told to stop. Managed processes keep running afterwards and
/// are re-adopted by the next daemon.
pub async fn run(options: DaemonOptions) -> Result<(), DaemonError> {
    let home = options.home;
    home.create()
        .map_err(io(format!("cannot create {}", home.root().display())))?;
    let _lock = DaemonLock::acquire(&home.lock_file())?;
    logging::init(&home.daemon_log(), options.log_to_stderr)
        .map_err(io("cannot open the daemon log"))?;
    let owned = OwnedChildren::default();
    reaper::start(owned.clone()).map_err(io("cannot become a child subreaper"))?;
    tracing::info!(home = %home.root().display(), pid = std::process::id(), "daemon starting");
    let files = raise_file_limit();
    let mut limits = options.limits;
    // Keep room for the Unix socket, managed processes' pipes and logs, and sessions.
    let room = usize::try_from(files.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
    if options.listen.is_some() && limits.max_connections > room.max(1) {
        tracing::warn!(
            files,
            requested = limits.max_connections,
            allowed = room.max(1),
            "max_connections exceeds what the file-descriptor limit leaves room for: lowered"
        );
        limits.max_connections = room.max(1);
    }
    let engine = Engine::launch_with(home.clone(), options.exe, owned.clone(), options.engine)?;
    let supervisor = engine.supervisor().clone();

    let socket = home.socket();
    let _ = std::fs::remove_file(&socket); // stale: the lock proves no daemon serves it
    let _ = std::fs::remove_file(home.tcp_info());
    // TCP first: once the Unix socket accepts (what `daemon --detach` waits for), tcp.json
    // is already there.
    let tcp = match options.listen {
        Some(address) => Some(bind_tcp(&home, address, options.tls.as_ref()).await?),
        None => None,
    };
    let listener =
        UnixListener::bind(&socket).map_err(io(format!("cannot bind {}", socket.display())))?;
    std::fs::set_permissions(&socket, Permissions::from_mode(0o600))
        .map_err(io("cannot protect the socket"))?;
    if let Some(mut ready) = options.ready {
        // A starter that stopped waiting has closed its end: then nobody needs telling.
        let _ = ready.write_all(b"ready\n");
    }

    let shutdown = Arc::new(Notify::new());
    let mut supervisor_service =
        SupervisorService::new(engine.clone(), home.clone(), shutdown.clone());
    if let Some((listener, tls)) = &tcp {
        let address = listener
            .local_addr()
            .map_err(io("cannot read the TCP address"))?;
        supervisor_service = supervisor_service.with_tcp(address.to_string(), tls.is_some());
    }
    let services = Services::new(supervisor_service, engine.clone()).await?;

    let mut terminate = signal(SignalKind::terminate()).map_err(io("cannot handle SIGTERM"))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(io("cannot handle SIGINT"))?;
    let (stopping, stopped) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            _ = shutdown.notified() => tracing::info!("shutdown requested"),
        }
        let _ = stopping.send(true);
    });
    let stop = |mut stopped: watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let unix = services.clone().serve_unix(listener, stop(stopped.clone()));
    let result = match tcp {
        Some((listener, tls)) => {
            let tokens = TokenCheck::new(home.token_file());
            let router = crate::transport::http::router(
                &services,
                engine,
                tokens,
                options.mcp,
                owned,
                limits.handshake_timeout,
            );
            let tcp = async {
                let hosts = HostPolicy::new(options.allowed_hosts, options.allowed_origins);
                crate::transport::http::serve(listener, router, tls, limits, hosts, stop(stopped))
                    .await;
                Ok(())
            };
            tokio::try_join!(unix, tcp).map(drop)
        }
        None => unix.await,
    };
    let _ = supervisor.shutdown().await;
    // Kept empty cgroups go with the daemon (the next one would sweep them anyway).
    supervisor.limits().clear_spares();
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(home.tcp_info());
    result?;
    tracing::info!("daemon stopped; managed processes keep running");
    Ok(())
}

/// File descriptors kept free of TCP connections.
const FD_RESERVE: u64 = 256;
/// A ceiling for the soft limit when the hard limit is unlimited.
const FD_CEILING: u64 = 1 << 20;

/// Raises the soft limit on open files to the hard one, so TCP clients cannot use up
/// the descriptors the Unix socket and managed processes need; returns the limit now in
/// force. Children inherit it.
fn raise_file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(FD_CEILING);
    let soft = limit.current.unwrap_or(FD_CEILING);
    if soft >= hard {
        return soft;
    }
    let raised = rustix::process::Rlimit {
        current: Some(hard),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => {
            tracing::info!(from = soft, to = hard, "raised the open-files limit");
            hard
        }
        Err(e) => {
            tracing::warn!(error = %e, soft, hard, "cannot raise the open-files limit");
            soft
        }
    }
}

/// Binds the TCP listener, makes sure a token exists, loads the TLS certificate, and writes
/// `tcp.json` so local clients can find the port (which may have been chosen by the OS).
async fn bind_tcp(
    home: &Home,
    address: SocketAddr,
    tls: Option<&TlsFiles>,
) -> Result<(TcpListener, Option<TlsAcceptor>), DaemonError> {
    token::load_or_create(&home.token_file()).map_err(io("cannot create the token"))?;
    let identity = match tls {
        Some(files) => Some(
            crate::transport::http::tls_acceptor(&files.cert, &files.key)
                .map_err(io("cannot load the TLS certificate"))?,
        ),
        None => None,
    };
    let listener = TcpListener::bind(address)
        .await
        .map_err(io(format!("cannot listen on {address}")))?;
    let bound = listener
        .local_addr()
        .map_err(io("cannot read the TCP address"))?;
    if !bound.ip().is_loopback() && identity.is_none() {
        tracing::warn!(%bound, "listening beyond loopback without TLS: the token travels in clear");
    }
    let info = serde_json::json!({"address": bound.to_string(), "tls": identity.is_some()});
    crate::home::write_private(&home.tcp_info(), info.to_string().as_bytes())
        .map_err(io("cannot write tcp.json"))?;
    tracing::info!(%bound, tls = identity.is_some(), "gRPC on TCP (bearer token required)");
    Ok((listener, identity))
}
