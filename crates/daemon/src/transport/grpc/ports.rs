//! `procward.v1.Ports`: listening sockets with their processes, and kill by port, as the
//! engine serves them.

use procward_proto::convert::system::port_to_proto;
use procward_proto::v1::{self, ports_server};
use tonic::{Request, Response, Status};

use super::status::{action_result, engine_status};
use crate::engine::Engine;

/// The `Ports` service implementation.
#[derive(Debug, Clone)]
pub struct PortsService {
    engine: Engine,
}

impl PortsService {
    /// Serves `engine`'s ports.
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

#[tonic::async_trait]
impl ports_server::Ports for PortsService {
    async fn list_ports(
        &self,
        request: Request<v1::ListPortsRequest>,
    ) -> Result<Response<v1::ListPortsResponse>, Status> {
        let request = request.into_inner();
        let ports = self
            .engine
            .ports(&request.protocol, request.port)
            .await
            .map_err(engine_status)?;
        Ok(Response::new(v1::ListPortsResponse {
            ports: ports.iter().map(port_to_proto).collect(),
        }))
    }

    async fn kill_port(
        &self,
        request: Request<v1::KillPortRequest>,
    ) -> Result<Response<v1::ActionResult>, Status> {
        let caller = super::caller::caller_of(&request);
        let request = request.into_inner();
        let report = self
            .engine
            .kill_port(
                &caller,
                request.port,
                &request.protocol,
                request.force,
                request.timeout_seconds,
            )
            .await
            .map_err(engine_status)?;
        Ok(Response::new(action_result(report)))
    }
}
