//! The machine as the engine serves it: system figures, a live monitor, every OS process
//! (with procward's name for those it manages) and listening ports.
//!
//! Reads are answered from the shared samples ([`super::sampling`]), never by a `/proc`
//! walk per call; a sample older than [`MAX_AGE`] is not served, a read waits for a fresh
//! one instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use procward_core::{PortInfo, ProcessInfo, ProcessQuery, ProcessSampler, SortKey, SystemInfo};
use tokio_stream::Stream;

use super::Engine;
use super::checks::{family, pid_to_read, port_number, seconds};
use super::error::EngineError;
use super::sampling::{Hub, Sample};

/// Samples older than this are not served; a read waits for a fresh one instead.
const MAX_AGE: Duration = Duration::from_secs(2);
/// Fastest monitor interval.
const MIN_INTERVAL: f64 = 0.1;

/// Which processes to list, as a caller writes it (text fields, blank meaning "any").
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// cpu, memory, pid or name (blank: the default order).
    pub sort: Option<String>,
    /// Only this user's processes.
    pub user: Option<String>,
    /// Only processes whose name contains this.
    pub name: Option<String>,
    /// At most this many (0: all).
    pub limit: Option<u32>,
}

/// A process and, when procward manages it, its managed name.
pub type Named = (ProcessInfo, Option<String>);

/// The answer to [`Engine::processes`].
#[derive(Debug, Clone)]
pub struct Listing {
    /// The processes kept by the query, in its order.
    pub processes: Vec<Named>,
    /// How many matched before the limit.
    pub total: usize,
    /// When the sample was taken (Unix ms).
    pub sampled_at_ms: u64,
}

/// A sample at most [`MAX_AGE`] old from `hub`, or why there is none.
async fn fresh<T: Send + Sync + 'static>(hub: &Hub<T>) -> Result<Arc<Sample<T>>, EngineError> {
    hub.latest(MAX_AGE)
        .await
        .map_err(|e| EngineError::Unavailable(e.to_string()))
}

impl Engine {
    /// Managed processes by their current pid (remembered for [`Engine::logs_of_pid`]).
    pub(super) async fn managed_pids(&self) -> Result<HashMap<u32, String>, EngineError> {
        let views = self.supervisor.list().await?;
        let managed: HashMap<_, _> = views
            .into_iter()
            .filter_map(|v| Some((v.pid?, v.spec.name)))
            .collect();
        self.pids
            .remember(managed.iter().map(|(pid, name)| (*pid, name.clone())));
        Ok(managed)
    }

    /// System figures at most two seconds old.
    pub async fn system_info(&self) -> Result<Arc<Sample<SystemInfo>>, EngineError> {
        fresh(&self.sampling.system).await
    }

    /// System figures every `interval_seconds` (0.1 to 3600), from the one shared sampler.
    pub fn monitor(
        &self,
        interval_seconds: f64,
    ) -> Result<impl Stream<Item = Arc<Sample<SystemInfo>>> + use<>, EngineError> {
        let interval = seconds("interval_seconds", interval_seconds, MIN_INTERVAL)?;
        Ok(self.sampling.system.subscribe(interval))
    }

    /// Every OS process that `query` keeps.
    pub async fn processes(&self, query: ListQuery) -> Result<Listing, EngineError> {
        let sort = match query.sort.as_deref().map(str::trim) {
            None | Some("") => SortKey::default(),
            Some(key) => key.parse()?,
        };
        let query = ProcessQuery {
            sort,
            user: query.user.filter(|u| !u.is_empty()),
            name: query.name.filter(|n| !n.is_empty()),
            limit: query.limit.filter(|l| *l > 0).map(|l| l as usize),
        };
        let sample = fresh(&self.sampling.processes).await?;
        let managed = self.managed_pids().await?;
        let (kept, total) = query.apply_ref(&sample.value);
        Ok(Listing {
            processes: kept
                .into_iter()
                .map(|p| (p.clone(), managed.get(&p.pid).cloned()))
                .collect(),
            total,
            sampled_at_ms: sample.taken_unix_ms,
        })
    }

    /// One process, read afresh when the sample's process of that pid is not the one
    /// holding it now (by kernel start time).
    pub async fn process(&self, pid: u32) -> Result<Named, EngineError> {
        let pid = pid_to_read(pid)?;
        let sample = fresh(&self.sampling.processes).await?;
        let process = match sample.value.iter().find(|p| p.pid == pid) {
            Some(p) if procward_core::sys::process::start_ticks_of(pid) == Some(p.start_ticks) => {
                Some(p.clone())
            }
            _ => {
                tokio::task::spawn_blocking(move || {
                    ProcessSampler::new().refresh_some(&[pid]).pop()
                })
                .await?
            }
        };
        let mut process =
            process.ok_or_else(|| EngineError::NotFound(format!("no process with pid {pid}")))?;
        // One process: its descriptors and I/O counters are worth two more reads.
        process = tokio::task::spawn_blocking(move || {
            process.read_handles();
            process
        })
        .await?;
        let managed = self.managed_pids().await?;
        let name = managed.get(&pid).cloned();
        Ok((process, name))
    }

    /// Listening sockets of `protocol` (tcp, udp, tcp6, udp6, or empty for all), on `port`
    /// only unless it is 0.
    pub async fn ports(&self, protocol: &str, port: u32) -> Result<Vec<PortInfo>, EngineError> {
        let family = family(protocol)?;
        let only = match port {
            0 => None,
            port => Some(port_number(port)?),
        };
        let ports = tokio::task::spawn_blocking(procward_core::get_ports).await??;
        Ok(ports
            .into_iter()
            .filter(|p| p.protocol.is(&family) && only.is_none_or(|o| o == p.port))
            .collect())
    }
}
