//! `procward.v1.Supervisor`: managed processes, their logs and the daemon itself, each
//! call one engine request (specs converted from the proto here, validated once by the
//! supervisor).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use procward_proto::convert::{spec_from_proto, view_to_proto};
use procward_proto::v1::{self, supervisor_server};
use tokio::sync::Notify;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::caller::caller_of;
use super::status::{engine_status, supervisor_status};
use crate::engine::Engine;
use crate::engine::logs::{Lines, LogsQuery};
use crate::engine::supervisor::Supervisor;
use crate::home::Home;

/// `LogsRequest.lines` meaning every line kept (`procward logs --lines all`); any other
/// count is the last that many lines, 0 none.
pub const ALL_LOG_LINES: u32 = u32::MAX;

/// The `procward.v1.Supervisor` service.
#[derive(Debug, Clone)]
pub struct SupervisorService {
    engine: Engine,
    home: Home,
    started: Instant,
    shutdown: Arc<Notify>,
    tcp: Option<(String, bool)>,
}

impl SupervisorService {
    /// Serves `engine`'s managed processes; the `Shutdown` call notifies `shutdown`.
    pub fn new(engine: Engine, home: Home, shutdown: Arc<Notify>) -> Self {
        Self {
            engine,
            home,
            started: Instant::now(),
            shutdown,
            tcp: None,
        }
    }

    /// Reports the TCP listener's address (and whether it uses TLS) in `DaemonInfo`.
    pub fn with_tcp(mut self, address: String, tls: bool) -> Self {
        self.tcp = Some((address, tls));
        self
    }

    fn supervisor(&self) -> &Supervisor {
        self.engine.supervisor()
    }
}

type Answer<T> = Result<Response<T>, Status>;

fn one(
    view: Result<
        procward_core::supervisor::view::ManagedView,
        crate::engine::error::SupervisorError,
    >,
) -> Answer<v1::ManagedProcess> {
    view.map(|v| Response::new(view_to_proto(&v)))
        .map_err(|e| supervisor_status(&e))
}

fn many(
    views: Result<
        Vec<procward_core::supervisor::view::ManagedView>,
        crate::engine::error::SupervisorError,
    >,
) -> Answer<v1::ReplicasResponse> {
    let views = views.map_err(|e| supervisor_status(&e))?;
    Ok(Response::new(v1::ReplicasResponse {
        processes: views.iter().map(view_to_proto).collect(),
    }))
}

#[tonic::async_trait]
impl supervisor_server::Supervisor for SupervisorService {
    async fn start(&self, request: Request<v1::StartRequest>) -> Answer<v1::ManagedProcess> {
        let request = request.into_inner();
        let spec = request
            .spec
            .ok_or_else(|| Status::invalid_argument("missing spec"))?;
        let spec = spec_from_proto(spec).map_err(Status::invalid_argument)?;
        one(self.supervisor().start(spec, request.replace).await)
    }

    async fn stop(&self, request: Request<v1::NameRequest>) -> Answer<v1::ManagedProcess> {
        let caller = caller_of(&request);
        one(self.engine.stop(&caller, &request.into_inner().name).await)
    }

    async fn restart(&self, request: Request<v1::NameRequest>) -> Answer<v1::ManagedProcess> {
        let caller = caller_of(&request);
        one(self
            .engine
            .restart(&caller, &request.into_inner().name)
            .await)
    }

    async fn delete(&self, request: Request<v1::NameRequest>) -> Answer<v1::DeleteResponse> {
        let caller = caller_of(&request);
        let name = request.into_inner().name;
        self.engine
            .delete(&caller, &name)
            .await
            .map_err(|e| supervisor_status(&e))?;
        Ok(Response::new(v1::DeleteResponse { name }))
    }

    async fn reload(&self, request: Request<v1::NameRequest>) -> Answer<v1::ReplicasResponse> {
        let caller = caller_of(&request);
        let name = request.into_inner().name;
        many(self.engine.reload(&caller, &name).await)
    }

    async fn scale(&self, request: Request<v1::ScaleRequest>) -> Answer<v1::ReplicasResponse> {
        let caller = caller_of(&request);
        let request = request.into_inner();
        many(
            self.engine
                .scale(&caller, &request.name, request.instances)
                .await,
        )
    }

    async fn pause(&self, request: Request<v1::NameRequest>) -> Answer<v1::ManagedProcess> {
        one(self.supervisor().pause(&request.into_inner().name).await)
    }

    async fn resume(&self, request: Request<v1::NameRequest>) -> Answer<v1::ManagedProcess> {
        one(self.supervisor().resume(&request.into_inner().name).await)
    }

    async fn signal(&self, request: Request<v1::SignalRequest>) -> Answer<v1::ManagedProcess> {
        let caller = caller_of(&request);
        let request = request.into_inner();
        let signal = request
            .signal
            .parse()
            .map_err(|e: procward_core::Error| Status::invalid_argument(e.to_string()))?;
        one(self.engine.signal(&caller, &request.name, signal).await)
    }

    async fn list(&self, request: Request<v1::ListRequest>) -> Answer<v1::ListResponse> {
        let supervisor = self.supervisor();
        let views = if request.into_inner().metrics {
            supervisor.list_with_metrics().await
        } else {
            supervisor.list().await
        };
        let views = views.map_err(|e| supervisor_status(&e))?;
        Ok(Response::new(v1::ListResponse {
            processes: views.iter().map(view_to_proto).collect(),
        }))
    }

    async fn audit_log(
        &self,
        request: Request<v1::AuditLogRequest>,
    ) -> Answer<v1::AuditLogResponse> {
        let request = request.into_inner();
        let audit = self.engine.audit();
        let listing = audit
            .read(request.since_unix_ms, request.limit as usize)
            .await
            .map_err(|e| Status::internal(format!("cannot read the audit log: {e}")))?;
        let entries_json = listing
            .entries
            .iter()
            .filter_map(|e| serde_json::to_string(e).ok())
            .collect();
        Ok(Response::new(v1::AuditLogResponse {
            entries_json,
            unreadable: listing.unreadable as u32,
            write_failures: audit.failures(),
        }))
    }

    async fn status(&self, request: Request<v1::NameRequest>) -> Answer<v1::ManagedProcess> {
        one(self.supervisor().status(&request.into_inner().name).await)
    }

    type LogsStream = Pin<Box<dyn Stream<Item = Result<v1::LogLine, Status>> + Send>>;

    async fn logs(&self, request: Request<v1::LogsRequest>) -> Answer<Self::LogsStream> {
        let request = request.into_inner();
        let query = LogsQuery {
            name: request.name,
            stdout: request.stdout,
            stderr: request.stderr,
            lines: match request.lines {
                ALL_LOG_LINES => Lines::All,
                n => Lines::Last(n as usize),
            },
            follow: request.follow,
            since_ms: request.since_ms,
        };
        let lines = self.engine.logs(query).await.map_err(engine_status)?;
        let lines = super::status::log_lines(lines);
        Ok(Response::new(Box::pin(lines)))
    }

    async fn flush(&self, request: Request<v1::NameRequest>) -> Answer<v1::FlushResponse> {
        let caller = caller_of(&request);
        let name = request.into_inner().name;
        let bytes_removed = self
            .engine
            .flush_logs(&caller, &name)
            .await
            .map_err(engine_status)?;
        Ok(Response::new(v1::FlushResponse {
            name,
            bytes_removed,
        }))
    }

    async fn up(&self, request: Request<v1::UpRequest>) -> Answer<v1::UpResponse> {
        // Converted here, checked (every spec, names, dependencies) by the supervisor.
        let specs = request
            .into_inner()
            .specs
            .into_iter()
            .map(spec_from_proto)
            .collect::<Result<Vec<_>, _>>()
            .map_err(Status::invalid_argument)?;
        let views = self
            .supervisor()
            .up(specs)
            .await
            .map_err(|e| supervisor_status(&e))?;
        Ok(Response::new(v1::UpResponse {
            processes: views.iter().map(view_to_proto).collect(),
        }))
    }

    async fn down(&self, request: Request<v1::DownRequest>) -> Answer<v1::DownResponse> {
        let views = self
            .supervisor()
            .down(request.into_inner().names)
            .await
            .map_err(|e| supervisor_status(&e))?;
        Ok(Response::new(v1::DownResponse {
            processes: views.iter().map(view_to_proto).collect(),
        }))
    }

    async fn daemon_info(
        &self,
        _: Request<v1::DaemonInfoRequest>,
    ) -> Answer<v1::DaemonInfoResponse> {
        let managed = self
            .supervisor()
            .list()
            .await
            .map_err(|e| supervisor_status(&e))?
            .len() as u32;
        let memory_rss = procward_core::ProcessSampler::new()
            .refresh_some(&[std::process::id()])
            .first()
            .map_or(0, |p| p.memory_rss);
        Ok(Response::new(v1::DaemonInfoResponse {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").into(),
            home: self.home.root().display().to_string(),
            socket: self.home.socket().display().to_string(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
            managed,
            memory_rss,
            tcp_address: self.tcp.as_ref().map(|t| t.0.clone()).unwrap_or_default(),
            tls: self.tcp.as_ref().is_some_and(|t| t.1),
            limits: self.supervisor().limits().describe(),
        }))
    }

    async fn shutdown(&self, _: Request<v1::ShutdownRequest>) -> Answer<v1::ShutdownResponse> {
        self.shutdown.notify_one();
        Ok(Response::new(v1::ShutdownResponse {}))
    }
}
