//! Running a daemon: take the home's lock, restore the registry, serve gRPC on the Unix
//! socket until SIGTERM, SIGINT or a `Shutdown` call.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use procward_proto::v1::supervisor_server::SupervisorServer;
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;
use tokio_stream::wrappers::UnixListenerStream;

use crate::facade::Supervisor;
use crate::grpc::SupervisorService;
use crate::home::Home;
use crate::lock::{DaemonLock, LockError};
use crate::reaper::OwnedChildren;
use crate::registry::Registry;
use crate::{actor, logging, reaper};

/// How to run a daemon.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Its state folder.
    pub home: Home,
    /// The procward binary that runs shims (`procward shim`).
    pub exe: PathBuf,
    /// Also log to stderr (a foreground daemon on a terminal).
    pub log_to_stderr: bool,
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
    let records = Registry::synchronous(home.registry_dir())
        .load()
        .map_err(io("cannot read the registry"))?;
    tracing::info!(home = %home.root().display(), processes = records.len(), pid = std::process::id(), "daemon starting");
    let supervisor = Supervisor::new(actor::spawn(home.clone(), options.exe, owned, records));

    let socket = home.socket();
    let _ = std::fs::remove_file(&socket); // stale: the lock proves no daemon serves it
    let listener =
        UnixListener::bind(&socket).map_err(io(format!("cannot bind {}", socket.display())))?;
    std::fs::set_permissions(&socket, Permissions::from_mode(0o600))
        .map_err(io("cannot protect the socket"))?;

    let shutdown = Arc::new(Notify::new());
    let service = SupervisorService::new(supervisor.clone(), home.clone(), shutdown.clone());
    let mut terminate = signal(SignalKind::terminate()).map_err(io("cannot handle SIGTERM"))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(io("cannot handle SIGINT"))?;
    let stop = async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            _ = shutdown.notified() => tracing::info!("shutdown requested"),
        }
    };
    tonic::transport::Server::builder()
        .add_service(SupervisorServer::new(service))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), stop)
        .await?;
    let _ = supervisor.shutdown().await;
    let _ = std::fs::remove_file(&socket);
    tracing::info!("daemon stopped; managed processes keep running");
    Ok(())
}
