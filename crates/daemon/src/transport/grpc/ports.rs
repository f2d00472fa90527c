//! `procward.v1.Ports`: listening sockets with their processes, and kill by port.

use procward_proto::convert::system::port_to_proto;
use procward_proto::v1::{self, ports_server};
use tonic::{Request, Response, Status};

use super::core_status;
use super::process_manager::{escalation, verdict_result};
use crate::engine::kill_policy::{KillError, KillPolicy};

/// The `Ports` service implementation.
#[derive(Debug, Clone)]
pub struct PortsService {
    policy: KillPolicy,
}

impl PortsService {
    /// Kills by port under `policy` (the daemon's one kill policy).
    pub fn new(policy: KillPolicy) -> Self {
        Self { policy }
    }
}

fn family(protocol: &str) -> Result<String, Status> {
    let family = protocol.trim().to_ascii_lowercase();
    match family.as_str() {
        "" | "tcp" | "udp" | "tcp6" | "udp6" => Ok(family),
        other => Err(Status::invalid_argument(format!(
            "protocol must be tcp, udp, tcp6, udp6 or empty (got '{other}')"
        ))),
    }
}

fn port_number(port: u32) -> Result<u16, Status> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Status::invalid_argument(format!("port must be 1-65535 (got {port})")))
}

#[tonic::async_trait]
impl ports_server::Ports for PortsService {
    async fn list_ports(
        &self,
        request: Request<v1::ListPortsRequest>,
    ) -> Result<Response<v1::ListPortsResponse>, Status> {
        let request = request.into_inner();
        let family = family(&request.protocol)?;
        let only = match request.port {
            0 => None,
            port => Some(port_number(port)?),
        };
        let ports = tokio::task::spawn_blocking(procward_core::get_ports)
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| core_status(&e))?;
        Ok(Response::new(v1::ListPortsResponse {
            ports: ports
                .iter()
                .filter(|p| p.protocol.is(&family) && only.is_none_or(|o| o == p.port))
                .map(port_to_proto)
                .collect(),
        }))
    }

    async fn kill_port(
        &self,
        request: Request<v1::KillPortRequest>,
    ) -> Result<Response<v1::ActionResult>, Status> {
        let request = request.into_inner();
        let port = port_number(request.port)?;
        let family = family(&request.protocol)?;
        let escalation = escalation(request.force, request.timeout_seconds)?;
        let results = self
            .policy
            .kill_port(port, family, escalation)
            .await
            .map_err(|e| match e {
                KillError::Core(e) => core_status(&e),
                KillError::Supervisor(e) => e.to_status(),
            })?;
        // One result for the port: the first failure, else every outcome in one message.
        let mut messages = Vec::new();
        for (_, verdict) in results {
            let answer = verdict_result(verdict)?;
            if !answer.success {
                return Ok(Response::new(answer));
            }
            messages.push(answer.message);
        }
        Ok(Response::new(v1::ActionResult {
            success: true,
            error: None,
            message: messages.join("; "),
        }))
    }
}
