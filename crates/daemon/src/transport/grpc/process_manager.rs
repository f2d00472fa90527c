//! `procward.v1.ProcessManagerService`: every OS process, system figures, a live monitor,
//! safe kills, and ad-hoc processes that the supervisor runs and logs — each call one
//! engine request ([`crate::engine::system`], [`crate::engine::kills`],
//! [`crate::engine::adhoc`], [`crate::engine::logs`]).
//!
//! Malformed requests are refused with INVALID_ARGUMENT before anything is touched; an
//! action that was allowed but failed (permission denied, a process that survived
//! SIGKILL) is an `ActionResult` with `success: false`.

use std::pin::Pin;

use procward_proto::convert::system::{process_to_proto, system_to_proto};
use procward_proto::v1::{self, process_manager_service_server as server};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::status::{action_result, engine_status};
use crate::engine::Engine;
use crate::engine::adhoc::{AdHocStart, AdHocStarted};
use crate::engine::kills::KillOrder;
use crate::engine::system::ListQuery;

/// The `ProcessManagerService` implementation.
#[derive(Debug, Clone)]
pub struct ProcessManagerService {
    engine: Engine,
}

impl ProcessManagerService {
    /// Serves `engine`'s view of the machine.
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

type Answer<T> = Result<Response<T>, Status>;

/// An ad-hoc start as the `ProcessInfo` it answers with: an already-finished command
/// (one that exits at once) is reported as dead.
fn started_info(started: AdHocStarted) -> v1::ProcessInfo {
    let AdHocStarted { view, process } = started;
    let name = view.spec.name;
    match process {
        Some(p) => process_to_proto(&p, Some(&name)),
        None => v1::ProcessInfo {
            pid: view.pid.unwrap_or_default(),
            name: view.spec.command[0].clone(),
            command: view.spec.command.join(" "),
            status: "dead".into(),
            managed_name: name,
            ..Default::default()
        },
    }
}

#[tonic::async_trait]
impl server::ProcessManagerService for ProcessManagerService {
    async fn get_system_info(
        &self,
        _: Request<v1::GetSystemInfoRequest>,
    ) -> Answer<v1::SystemInfo> {
        let sample = self.engine.system_info().await.map_err(engine_status)?;
        Ok(Response::new(system_to_proto(
            &sample.value,
            sample.taken_unix_ms,
        )))
    }

    async fn list_processes(
        &self,
        request: Request<v1::ListProcessesRequest>,
    ) -> Answer<v1::ListProcessesResponse> {
        let request = request.into_inner();
        let query = ListQuery {
            sort: request.sort,
            user: request.user,
            name: request.name,
            limit: request.limit,
        };
        let listing = self.engine.processes(query).await.map_err(engine_status)?;
        Ok(Response::new(v1::ListProcessesResponse {
            processes: listing
                .processes
                .iter()
                .map(|(p, name)| process_to_proto(p, name.as_deref()))
                .collect(),
            total: listing.total as u32,
            sampled_at_ms: listing.sampled_at_ms,
        }))
    }

    async fn get_process_info(
        &self,
        request: Request<v1::GetProcessInfoRequest>,
    ) -> Answer<v1::ProcessInfo> {
        let (process, name) = self
            .engine
            .process(request.into_inner().pid)
            .await
            .map_err(engine_status)?;
        Ok(Response::new(process_to_proto(&process, name.as_deref())))
    }

    async fn kill_process(
        &self,
        request: Request<v1::KillProcessRequest>,
    ) -> Answer<v1::ActionResult> {
        let caller = super::caller::caller_of(&request);
        let request = request.into_inner();
        let order = KillOrder {
            pid: i64::from(request.pid),
            signal: request.signal,
            expected_start_time: request.expected_start_time,
            expected_start_ticks: request.expected_start_ticks,
            force: request.force,
            timeout_seconds: request.timeout_seconds,
        };
        let report = self
            .engine
            .kill(&caller, order)
            .await
            .map_err(engine_status)?;
        Ok(Response::new(action_result(report)))
    }

    async fn start_process(
        &self,
        request: Request<v1::StartProcessRequest>,
    ) -> Answer<v1::ProcessInfo> {
        let request = request.into_inner();
        let start = AdHocStart {
            command: request.command,
            args: request.args,
            name: request.name,
            env: request.env,
            working_dir: request.working_dir,
        };
        let started = self
            .engine
            .start_adhoc(start)
            .await
            .map_err(engine_status)?;
        Ok(Response::new(started_info(started)))
    }

    async fn get_logs(&self, request: Request<v1::GetLogsRequest>) -> Answer<v1::GetLogsResponse> {
        let request = request.into_inner();
        let (name, lines) = self
            .engine
            .logs_of_pid(request.pid, request.max_lines)
            .await
            .map_err(engine_status)?;
        Ok(Response::new(v1::GetLogsResponse {
            lines: lines
                .into_iter()
                .map(|(stream, content)| v1::LogEntry {
                    stream: stream.as_str().into(),
                    content,
                })
                .collect(),
            name,
        }))
    }

    type MonitorSystemStream = Pin<Box<dyn Stream<Item = Result<v1::SystemInfo, Status>> + Send>>;

    async fn monitor_system(
        &self,
        request: Request<v1::MonitorSystemRequest>,
    ) -> Answer<Self::MonitorSystemStream> {
        let samples = self
            .engine
            .monitor(request.into_inner().interval_seconds)
            .map_err(engine_status)?
            .map(|sample| Ok(system_to_proto(&sample.value, sample.taken_unix_ms)));
        Ok(Response::new(Box::pin(samples)))
    }
}
