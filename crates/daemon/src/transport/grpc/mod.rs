//! The gRPC transport: every service of the daemon, served on the private Unix socket and,
//! when asked, on a TCP listener that requires the bearer token (see [`crate::token`]),
//! optionally over TLS. Both listeners carry the same services, plus the standard health
//! service and server reflection so that generic gRPC tools work.

mod auth;
mod authority;
pub mod caller;

pub use auth::require_bearer;
pub mod ports;
pub mod process_manager;
pub mod queue;
pub mod status;
pub mod supervisor;

use futures_util::TryStreamExt;
use procward_proto::v1::{
    ports_server::PortsServer, process_manager_service_server::ProcessManagerServiceServer,
    queue_server::QueueServer, supervisor_server::SupervisorServer,
};
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::service::Routes;
use tonic::transport::Server;

/// Server reflection over every service the daemon serves (both reflection versions
/// included, so each lists every service on the listener).
fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .include_reflection_service(false)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(procward_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Every service the daemon serves, ready to be put on a listener.
#[derive(Clone)]
pub struct Services {
    routes: Routes,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Services")
    }
}

impl Services {
    /// Bundles the services with health and reflection.
    pub async fn new(
        supervisor: supervisor::SupervisorService,
        engine: crate::engine::Engine,
    ) -> Result<Self, tonic_reflection::server::Error> {
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<SupervisorServer<supervisor::SupervisorService>>()
            .await;
        health
            .set_serving::<ProcessManagerServiceServer<process_manager::ProcessManagerService>>()
            .await;
        health
            .set_serving::<PortsServer<ports::PortsService>>()
            .await;
        health
            .set_serving::<QueueServer<queue::QueueService>>()
            .await;
        // Both versions: grpcurl and grpc-core's tools still ask v1alpha first.
        let reflection = reflection_builder().build_v1()?;
        let reflection_v1alpha = reflection_builder().build_v1alpha()?;
        let routes = Routes::new(SupervisorServer::new(supervisor))
            .add_service(ProcessManagerServiceServer::new(
                process_manager::ProcessManagerService::new(engine.clone()),
            ))
            .add_service(QueueServer::new(queue::QueueService::new(engine.clone())))
            .add_service(PortsServer::new(ports::PortsService::new(engine)))
            .add_service(health_service)
            .add_service(reflection)
            .add_service(reflection_v1alpha);
        Ok(Self { routes })
    }

    /// The gRPC routes as a service, for in-process clients (the MCP endpoint).
    pub fn routes(&self) -> Routes {
        self.routes.clone()
    }

    /// Serves on the Unix socket (private to the user by its permissions) until `stop`,
    /// accepting any `:authority` (see [`authority`]).
    pub async fn serve_unix(
        self,
        listener: UnixListener,
        stop: impl Future<Output = ()>,
    ) -> Result<(), tonic::transport::Error> {
        Server::builder()
            .add_routes(self.routes)
            .serve_with_incoming_shutdown(
                UnixListenerStream::new(listener).map_ok(authority::AuthorityFix::new),
                stop,
            )
            .await
    }
}
