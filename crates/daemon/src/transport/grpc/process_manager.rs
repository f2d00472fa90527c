//! `procward.v1.ProcessManagerService`: every OS process, system figures, a live monitor,
//! safe kills, and ad-hoc processes that the supervisor runs and logs.
//!
//! Reads are answered from the shared samples ([`crate::engine::sampling`]), never by a `/proc`
//! walk per call. Malformed requests are refused with INVALID_ARGUMENT before anything
//! is touched; an action that was allowed but failed (permission denied, a process that
//! survived SIGKILL) is an `ActionResult` with `success: false`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use procward_core::signal::validate_pid;
use procward_core::{Escalation, KillRequest, ProcessQuery, ProcessSampler, Signal, SortKey};
use procward_proto::convert::system::{process_to_proto, system_to_proto};
use procward_proto::v1::{self, process_manager_service_server as server};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::ports::PortsService;
use super::supervisor::MAX_LOG_LINES;
use super::{core_status, kill_result, start};
use crate::engine::kill_policy::{KillError, KillPolicy, Verdict};
use crate::engine::pids::PidBook;
use crate::engine::sampling::{Hub, Sample, Sampling};
use crate::engine::supervisor::Supervisor;

/// Samples older than this are not served; a read waits for a fresh one instead.
const MAX_AGE: Duration = Duration::from_secs(2);
/// Default grace period of `KillProcess` before SIGKILL.
const DEFAULT_KILL_TIMEOUT: Duration = Duration::from_secs(5);
/// Bounds of `MonitorSystem.interval_seconds` and `KillProcess.timeout_seconds`.
const MIN_INTERVAL: f64 = 0.1;
const MAX_SECONDS: f64 = 3600.0;

/// The `ProcessManagerService` implementation.
#[derive(Debug, Clone)]
pub struct ProcessManagerService {
    supervisor: Supervisor,
    sampling: Sampling,
    pids: PidBook,
    policy: KillPolicy,
}

impl ProcessManagerService {
    /// Serves the machine through `sampling`, and managed processes through `supervisor`.
    pub fn new(supervisor: Supervisor, sampling: Sampling, pids: PidBook) -> Self {
        Self {
            policy: KillPolicy::new(supervisor.clone()),
            supervisor,
            sampling,
            pids,
        }
    }

    /// The `Ports` service, killing by port under the same [`KillPolicy`].
    pub fn ports(&self) -> PortsService {
        PortsService::new(self.policy.clone())
    }

    /// Managed processes by their current pid (and remembers them for `GetLogs`).
    async fn managed_pids(&self) -> Result<HashMap<u32, String>, Status> {
        let views = self.supervisor.list().await.map_err(|e| e.to_status())?;
        let managed: HashMap<_, _> = views
            .into_iter()
            .filter_map(|v| Some((v.pid?, v.spec.name)))
            .collect();
        self.pids
            .remember(managed.iter().map(|(pid, name)| (*pid, name.clone())));
        Ok(managed)
    }
}

type Answer<T> = Result<Response<T>, Status>;

/// A sample at most [`MAX_AGE`] old from `hub`, or UNAVAILABLE saying why there is none.
async fn fresh<T: Send + Sync + 'static>(hub: &Hub<T>) -> Result<Arc<Sample<T>>, Status> {
    hub.latest(MAX_AGE)
        .await
        .map_err(|e| Status::unavailable(e.to_string()))
}

/// A pid to look at: 0 and values that are not PIDs are refused.
fn pid_to_read(pid: u32) -> Result<u32, Status> {
    if pid == 0 || pid > i32::MAX as u32 {
        return Err(Status::invalid_argument(format!(
            "pid must be between 1 and {} (got {pid})",
            i32::MAX
        )));
    }
    Ok(pid)
}

/// Seconds as a duration within `min..=MAX_SECONDS`, or INVALID_ARGUMENT naming `field`.
pub(super) fn seconds(field: &str, value: f64, min: f64) -> Result<Duration, Status> {
    if !value.is_finite() || value < min || value > MAX_SECONDS {
        return Err(Status::invalid_argument(format!(
            "{field} must be between {min} and {MAX_SECONDS} seconds (got {value})"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

/// `KillProcessRequest.signal`: absent means SIGTERM; an empty (or blank) string is a
/// mistake, not a default, and is refused naming the field.
fn signal_field(signal: Option<&str>) -> Result<Signal, Status> {
    match signal {
        None => Ok(Signal::TERM),
        Some(text) if text.trim().is_empty() => Err(Status::invalid_argument(
            "signal must be a signal name or number (TERM, HUP, KILL, 9, ...), not empty; \
             leave it out for SIGTERM",
        )),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|e: procward_core::Error| Status::invalid_argument(format!("signal: {e}"))),
    }
}

/// What the kill policy did, as an `ActionResult`: refusals and unknown targets are
/// statuses (the request was wrong), a kill that ran and failed is `success: false`.
pub(super) fn verdict_result(
    verdict: Result<Verdict, KillError>,
) -> Result<v1::ActionResult, Status> {
    match verdict {
        Ok(Verdict::Signalled(outcome)) => kill_result(Ok(outcome)),
        Ok(stopped) => Ok(v1::ActionResult {
            success: true,
            error: None,
            message: stopped.message(),
        }),
        Err(KillError::Core(e)) => kill_result(Err(e)),
        Err(KillError::Supervisor(e)) => Err(e.to_status()),
    }
}

/// The escalation a kill request asks for.
pub(super) fn escalation(force: bool, timeout: Option<f64>) -> Result<Escalation, Status> {
    if force {
        return Ok(Escalation::KillAfter(Duration::ZERO));
    }
    let timeout = match timeout {
        Some(value) => seconds("timeout_seconds", value, 0.0)?,
        None => DEFAULT_KILL_TIMEOUT,
    };
    Ok(Escalation::KillAfter(timeout))
}

#[tonic::async_trait]
impl server::ProcessManagerService for ProcessManagerService {
    async fn get_system_info(
        &self,
        _: Request<v1::GetSystemInfoRequest>,
    ) -> Answer<v1::SystemInfo> {
        let sample = fresh(&self.sampling.system).await?;
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
        let sort = match request.sort.as_deref().map(str::trim) {
            None | Some("") => SortKey::default(),
            Some(key) => key.parse().map_err(|e| core_status(&e))?,
        };
        let query = ProcessQuery {
            sort,
            user: request.user.filter(|u| !u.is_empty()),
            name: request.name.filter(|n| !n.is_empty()),
            limit: request.limit.filter(|l| *l > 0).map(|l| l as usize),
        };
        let sample = fresh(&self.sampling.processes).await?;
        let managed = self.managed_pids().await?;
        let (kept, total) = query.apply_ref(&sample.value);
        Ok(Response::new(v1::ListProcessesResponse {
            processes: kept
                .into_iter()
                .map(|p| process_to_proto(p, managed.get(&p.pid).map(String::as_str)))
                .collect(),
            total: total as u32,
            sampled_at_ms: sample.taken_unix_ms,
        }))
    }

    async fn get_process_info(
        &self,
        request: Request<v1::GetProcessInfoRequest>,
    ) -> Answer<v1::ProcessInfo> {
        let pid = pid_to_read(request.into_inner().pid)?;
        let sample = fresh(&self.sampling.processes).await?;
        // Newer than the sample (or gone since): read it directly.
        let process = match sample.value.iter().find(|p| p.pid == pid) {
            Some(p) if procward_core::sys::process::start_ticks_of(pid) == Some(p.start_ticks) => {
                Some(p.clone())
            }
            _ => tokio::task::spawn_blocking(move || {
                ProcessSampler::new().refresh_some(&[pid]).pop()
            })
            .await
            .map_err(|e| Status::internal(e.to_string()))?,
        };
        let process =
            process.ok_or_else(|| Status::not_found(format!("no process with pid {pid}")))?;
        let managed = self.managed_pids().await?;
        let name = managed.get(&pid).map(String::as_str);
        Ok(Response::new(process_to_proto(&process, name)))
    }

    async fn kill_process(
        &self,
        request: Request<v1::KillProcessRequest>,
    ) -> Answer<v1::ActionResult> {
        let request = request.into_inner();
        let pid = validate_pid(i64::from(request.pid)).map_err(|e| core_status(&e))?;
        let signal = signal_field(request.signal.as_deref())?;
        let escalation = escalation(request.force, request.timeout_seconds)?;
        let kill = KillRequest {
            pid,
            expected_start_time: request.expected_start_time,
            expected_start_ticks: request.expected_start_ticks,
            signal,
            escalation,
        };
        let verdict = self.policy.kill(kill, request.force).await;
        verdict_result(verdict).map(Response::new)
    }

    async fn start_process(
        &self,
        request: Request<v1::StartProcessRequest>,
    ) -> Answer<v1::ProcessInfo> {
        let started = start::start(&self.supervisor, request.into_inner()).await?;
        let name = started.spec.name.clone();
        let Some(pid) = started.pid else {
            // Already over (a command that exits at once): report it as gone.
            return Ok(Response::new(v1::ProcessInfo {
                name: started.spec.command[0].clone(),
                command: started.spec.command.join(" "),
                status: "dead".into(),
                managed_name: name,
                ..Default::default()
            }));
        };
        self.pids.remember([(pid, name.clone())]);
        let process =
            tokio::task::spawn_blocking(move || ProcessSampler::new().refresh_some(&[pid]))
                .await
                .map_err(|e| Status::internal(e.to_string()))?;
        let info = match process.first() {
            Some(p) => process_to_proto(p, Some(&name)),
            None => v1::ProcessInfo {
                pid,
                name: started.spec.command[0].clone(),
                command: started.spec.command.join(" "),
                status: "dead".into(),
                managed_name: name,
                ..Default::default()
            },
        };
        Ok(Response::new(info))
    }

    async fn get_logs(&self, request: Request<v1::GetLogsRequest>) -> Answer<v1::GetLogsResponse> {
        let request = request.into_inner();
        let pid = pid_to_read(request.pid)?;
        if request.max_lines == 0 || request.max_lines > MAX_LOG_LINES {
            return Err(Status::invalid_argument(format!(
                "max_lines must be between 1 and {MAX_LOG_LINES} (got {})",
                request.max_lines
            )));
        }
        let current = self.managed_pids().await?;
        let name = current
            .get(&pid)
            .cloned()
            .or_else(|| self.pids.name_of(pid))
            .ok_or_else(|| {
                Status::not_found(format!(
                    "pid {pid} is not a process procward started, so it has no logs \
                     (StartProcess starts one; ListProcesses shows managed_name)"
                ))
            })?;
        let view = self
            .supervisor
            .status(&name)
            .await
            .map_err(|e| e.to_status())?;
        let max_lines = request.max_lines as usize;
        let lines = tokio::task::spawn_blocking(move || {
            let mut lines = Vec::new();
            for (stream, path) in [("stdout", &view.stdout_log), ("stderr", &view.stderr_log)] {
                let tail = procward_core::logs::tail::tail_lossy(path.as_ref(), max_lines)
                    .unwrap_or_default();
                lines.extend(tail.into_iter().map(|content| v1::LogEntry {
                    stream: stream.into(),
                    content,
                }));
            }
            let excess = lines.len().saturating_sub(max_lines);
            lines.drain(..excess);
            lines
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(v1::GetLogsResponse { lines, name }))
    }

    type MonitorSystemStream = Pin<Box<dyn Stream<Item = Result<v1::SystemInfo, Status>> + Send>>;

    async fn monitor_system(
        &self,
        request: Request<v1::MonitorSystemRequest>,
    ) -> Answer<Self::MonitorSystemStream> {
        let interval = seconds(
            "interval_seconds",
            request.into_inner().interval_seconds,
            MIN_INTERVAL,
        )?;
        let samples = self
            .sampling
            .system
            .subscribe(interval)
            .map(|sample| Ok(system_to_proto(&sample.value, sample.taken_unix_ms)));
        Ok(Response::new(Box::pin(samples)))
    }
}
