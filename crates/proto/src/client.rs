//! Typed clients of all the daemon's services over one transport: its Unix socket (the
//! CLI's `procward mcp`, a separate process) or in-process (the daemon's own MCP and
//! socket.io transports call its gRPC routes directly, with no socket in between). Either
//! way every interface goes through the same validated API.

use crate::v1::ports_client::PortsClient;
use crate::v1::process_manager_service_client::ProcessManagerServiceClient;
use crate::v1::queue_client::QueueClient;
use crate::v1::supervisor_client::SupervisorClient;
use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint, Uri};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt as _};

/// Any gRPC transport: a tonic `Channel`, or the daemon's routes in-process.
pub type Transport = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, TransportError>;

/// A transport failure (the daemon went away, the socket closed).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(Box<dyn std::error::Error + Send + Sync>);

/// Largest answer accepted from the daemon (a full process listing is far below it).
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// gRPC clients of the daemon's services over one transport; cheap to clone.
#[derive(Debug, Clone)]
pub struct Backend {
    /// Managed processes.
    pub supervisor: SupervisorClient<Transport>,
    /// Every OS process and the system.
    pub manager: ProcessManagerServiceClient<Transport>,
    /// Listening ports.
    pub ports: PortsClient<Transport>,
    /// The job queue.
    pub queue: QueueClient<Transport>,
    transport: Transport,
}

impl Backend {
    /// Clients over `service` (a `tonic::transport::Channel`, or `tonic::service::Routes`).
    pub fn new<S, E>(service: S) -> Self
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let transport = BoxCloneSyncService::new(service.map_err(|e: E| TransportError(e.into())));
        Self::over(transport)
    }

    /// The same clients, sending `headers` (request metadata) with every call: how a
    /// client names itself to the daemon (`x-procward-client`), for its audit log.
    pub fn with_headers(&self, headers: Vec<(http::HeaderName, http::HeaderValue)>) -> Self {
        let headers = std::sync::Arc::new(headers);
        let labelled = tower::ServiceBuilder::new()
            .map_request(move |mut request: http::Request<Body>| {
                for (name, value) in headers.iter() {
                    request.headers_mut().insert(name.clone(), value.clone());
                }
                request
            })
            .service(self.transport.clone());
        Self::over(BoxCloneSyncService::new(labelled))
    }

    fn over(transport: Transport) -> Self {
        Self {
            supervisor: SupervisorClient::new(transport.clone())
                .max_decoding_message_size(MAX_MESSAGE),
            manager: ProcessManagerServiceClient::new(transport.clone())
                .max_decoding_message_size(MAX_MESSAGE),
            ports: PortsClient::new(transport.clone()).max_decoding_message_size(MAX_MESSAGE),
            queue: QueueClient::new(transport.clone()).max_decoding_message_size(MAX_MESSAGE),
            transport,
        }
    }
}

/// A channel to the daemon listening on the Unix `socket` (`Home::socket`), naming the
/// caller with `user_agent` (e.g. `procward-cli/0.1.0`, recorded as a claim in the
/// daemon's audit log). Every local client connects this one way.
pub async fn connect_unix(socket: &Path, user_agent: &str) -> Result<Channel, TransportError> {
    let socket: PathBuf = socket.to_path_buf();
    // The URI is required by tonic but unused: the connector below picks the socket.
    let endpoint = Endpoint::try_from("http://procward.invalid")
        .and_then(|e| e.user_agent(user_agent.to_owned()))
        .map_err(|e| TransportError(e.into()))?;
    endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?)) }
        }))
        .await
        .map_err(|e| TransportError(e.into()))
}
