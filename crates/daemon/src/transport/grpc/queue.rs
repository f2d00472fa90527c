//! `procward.v1.Queue`: the job queue as the engine serves it. Requests are converted
//! (crates/proto) and checked by the queue itself; errors keep the engine's words.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use procward_proto::convert::metrics_to_proto;
use procward_proto::convert::queue::{
    group_to_proto, job_spec_from_proto, job_state_from_proto, job_to_proto,
    schedule_spec_from_proto, schedule_to_proto,
};
use procward_proto::v1::{self, queue_server};
use tokio_stream::wrappers::BroadcastStream;
use tonic::{Request, Response, Status};

use super::status::engine_status;
use crate::engine::Engine;
use crate::engine::actor::entry::unix_ms;
use crate::engine::logs::Lines;
use crate::engine::queue::logs::JobLogsQuery;
use crate::engine::queue::{CleanFilter, HostInfo, HostProcess, JobEvent, JobFilter, Queue};

type Answer<T> = Result<Response<T>, Status>;
type Streamed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The `Queue` service implementation.
#[derive(Debug, Clone)]
pub struct QueueService {
    engine: Engine,
}

impl QueueService {
    /// Serves `engine`'s queue.
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }

    fn queue(&self) -> &Queue {
        self.engine.queue()
    }
}

fn job(job: procward_core::queue::Job) -> Response<v1::Job> {
    Response::new(job_to_proto(&job))
}

fn groups(groups: Vec<procward_core::queue::Group>) -> Response<v1::GroupsResponse> {
    Response::new(v1::GroupsResponse {
        groups: groups.iter().map(group_to_proto).collect(),
    })
}

fn event_to_proto(event: &JobEvent) -> v1::JobEvent {
    v1::JobEvent {
        id: event.id,
        group: event.group.clone(),
        state: v1::JobState::from(event.state).into(),
        attempt: event.attempt,
        exit_code: event.exit_code,
        reason: event.reason.clone(),
    }
}

/// `Hosts` answers with the fleet view; the field names are HostInfo's, so the JSON a
/// client prints from either is the same.
impl From<&HostInfo> for v1::QueueHost {
    fn from(info: &HostInfo) -> Self {
        Self {
            host: info.host.clone(),
            version: info.version.clone(),
            pid: info.pid,
            seen_ms: info.seen_ms,
            load: info.load,
            cpus: info.cpus,
            jobs_running: info.jobs_running,
            alive: info.alive,
            managed: info
                .managed
                .iter()
                .map(|p| v1::HostProcess {
                    name: p.name.clone(),
                    state: p.state.clone(),
                    pid: p.pid,
                    restarts: p.restarts,
                    uptime_ms: p.uptime_ms,
                    cpu_percent: p.cpu_percent,
                    memory_rss: p.memory_rss,
                })
                .collect(),
        }
    }
}

/// The CLI reads `Hosts` back into the engine's type (one model for its table and JSON).
impl From<v1::QueueHost> for HostInfo {
    fn from(host: v1::QueueHost) -> Self {
        Self {
            host: host.host,
            version: host.version,
            pid: host.pid,
            seen_ms: host.seen_ms,
            load: host.load,
            cpus: host.cpus,
            jobs_running: host.jobs_running,
            alive: host.alive,
            managed: host
                .managed
                .into_iter()
                .map(|p| HostProcess {
                    name: p.name,
                    state: p.state,
                    pid: p.pid,
                    restarts: p.restarts,
                    uptime_ms: p.uptime_ms,
                    cpu_percent: p.cpu_percent,
                    memory_rss: p.memory_rss,
                })
                .collect(),
        }
    }
}

#[tonic::async_trait]
impl queue_server::Queue for QueueService {
    async fn add(&self, request: Request<v1::AddJobRequest>) -> Answer<v1::Job> {
        let spec = request
            .into_inner()
            .spec
            .ok_or_else(|| Status::invalid_argument("spec: missing"))?;
        let now = unix_ms(std::time::SystemTime::now());
        let spec = job_spec_from_proto(spec, now).map_err(Status::invalid_argument)?;
        self.queue().add(spec).await.map(job).map_err(engine_status)
    }

    async fn list(&self, request: Request<v1::ListJobsRequest>) -> Answer<v1::ListJobsResponse> {
        let request = request.into_inner();
        let states = request
            .states
            .into_iter()
            .map(job_state_from_proto)
            .collect::<Result<_, _>>()
            .map_err(Status::invalid_argument)?;
        let filter = JobFilter {
            group: request.group,
            states,
        };
        let jobs = self.queue().list(filter).await.map_err(engine_status)?;
        Ok(Response::new(v1::ListJobsResponse {
            jobs: jobs.iter().map(job_to_proto).collect(),
        }))
    }

    async fn get(&self, request: Request<v1::JobRequest>) -> Answer<v1::Job> {
        let id = request.into_inner().id;
        let (found, measured) = self
            .queue()
            .get_with_metrics(id)
            .await
            .map_err(engine_status)?;
        let mut wire = job_to_proto(&found);
        if let Some(m) = measured {
            wire.metrics = Some(metrics_to_proto(&m.main));
            wire.tree = Some(metrics_to_proto(&m.tree));
        }
        Ok(Response::new(wire))
    }

    async fn cancel(&self, request: Request<v1::JobRequest>) -> Answer<v1::Job> {
        let caller = super::caller::caller_of(&request);
        let id = request.into_inner().id;
        self.engine
            .cancel_job(&caller, id)
            .await
            .map(job)
            .map_err(engine_status)
    }

    async fn retry(&self, request: Request<v1::JobRequest>) -> Answer<v1::Job> {
        let id = request.into_inner().id;
        self.queue().retry(id).await.map(job).map_err(engine_status)
    }

    async fn wait(&self, request: Request<v1::JobRequest>) -> Answer<v1::Job> {
        let id = request.into_inner().id;
        self.queue().wait(id).await.map(job).map_err(engine_status)
    }

    async fn pause(&self, request: Request<v1::GroupRequest>) -> Answer<v1::GroupsResponse> {
        let group = request.into_inner().group;
        self.queue()
            .pause(group, true)
            .await
            .map(groups)
            .map_err(engine_status)
    }

    async fn resume(&self, request: Request<v1::GroupRequest>) -> Answer<v1::GroupsResponse> {
        let group = request.into_inner().group;
        self.queue()
            .pause(group, false)
            .await
            .map(groups)
            .map_err(engine_status)
    }

    async fn clean(&self, request: Request<v1::CleanRequest>) -> Answer<v1::CleanResponse> {
        let request = request.into_inner();
        let filter = CleanFilter {
            completed: request.completed,
            failed: request.failed,
            older_than: request.older_than_ms.map(std::time::Duration::from_millis),
        };
        let removed = self.queue().clean(filter).await.map_err(engine_status)?;
        Ok(Response::new(v1::CleanResponse { removed }))
    }

    async fn put_group(&self, request: Request<v1::PutGroupRequest>) -> Answer<v1::QueueGroup> {
        let request = request.into_inner();
        let group = self
            .queue()
            .put_group(request.name, request.parallel)
            .await
            .map_err(engine_status)?;
        Ok(Response::new(group_to_proto(&group)))
    }

    async fn list_groups(
        &self,
        _request: Request<v1::ListGroupsRequest>,
    ) -> Answer<v1::GroupsResponse> {
        self.queue()
            .groups()
            .await
            .map(groups)
            .map_err(engine_status)
    }

    type LogsStream = Streamed<v1::LogLine>;

    async fn logs(&self, request: Request<v1::JobLogsRequest>) -> Answer<Self::LogsStream> {
        let request = request.into_inner();
        let query = JobLogsQuery {
            id: request.id,
            attempt: request.attempt,
            stdout: request.stdout,
            stderr: request.stderr,
            lines: request
                .lines
                .map_or(Lines::All, |n| Lines::Last(n as usize)),
            follow: request.follow,
        };
        let lines = self.engine.job_logs(query).await.map_err(engine_status)?;
        let lines = super::status::log_lines(lines);
        Ok(Response::new(Box::pin(lines)))
    }

    type WatchStream = Streamed<v1::JobEvent>;

    async fn watch(&self, request: Request<v1::WatchRequest>) -> Answer<Self::WatchStream> {
        let request = request.into_inner();
        let events = BroadcastStream::new(self.queue().subscribe()).filter_map(move |event| {
            let keep = match &event {
                Ok(e) => {
                    request.id.is_none_or(|id| id == e.id)
                        && request.group.as_ref().is_none_or(|g| g == &e.group)
                }
                Err(_) => true,
            };
            let item = keep.then(|| {
                event.map(|e| event_to_proto(&e)).map_err(|_| {
                    Status::data_loss("events were dropped for a slow watcher: Get the jobs again")
                })
            });
            std::future::ready(item)
        });
        Ok(Response::new(Box::pin(events)))
    }

    async fn add_schedule(
        &self,
        request: Request<v1::AddScheduleRequest>,
    ) -> Answer<v1::QueueSchedule> {
        let spec =
            schedule_spec_from_proto(request.into_inner()).map_err(Status::invalid_argument)?;
        let schedule = self
            .queue()
            .add_schedule(spec)
            .await
            .map_err(engine_status)?;
        Ok(Response::new(schedule_to_proto(&schedule)))
    }

    async fn list_schedules(
        &self,
        _request: Request<v1::ListSchedulesRequest>,
    ) -> Answer<v1::ListSchedulesResponse> {
        let schedules = self.queue().schedules().await.map_err(engine_status)?;
        Ok(Response::new(v1::ListSchedulesResponse {
            schedules: schedules.iter().map(schedule_to_proto).collect(),
        }))
    }

    async fn remove_schedule(
        &self,
        request: Request<v1::ScheduleRequest>,
    ) -> Answer<v1::QueueSchedule> {
        let name = request.into_inner().name;
        let schedule = self
            .queue()
            .remove_schedule(name)
            .await
            .map_err(engine_status)?;
        Ok(Response::new(schedule_to_proto(&schedule)))
    }

    async fn hosts(&self, _request: Request<v1::HostsRequest>) -> Answer<v1::HostsResponse> {
        let hosts = self.engine.hosts().await.map_err(engine_status)?;
        Ok(Response::new(v1::HostsResponse {
            hosts: hosts.iter().map(v1::QueueHost::from).collect(),
        }))
    }
}
