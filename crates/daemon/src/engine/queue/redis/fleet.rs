//! The fleet view: every daemon on the shared queue registers itself (host, version,
//! load, jobs it runs) with each lease renewal, under a key that expires after two
//! leases, so `procward hosts` shows who is there and who went quiet.

use std::collections::BTreeMap;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::Shared;
use crate::engine::error::EngineError;
use crate::engine::queue::actor::now_ms;

/// How long a host that went quiet is still listed (as gone).
const KEEP_GONE_MS: u64 = 24 * 3600 * 1000;

/// One daemon as it registered itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// Its name (`[queue] host`, default the machine's host name).
    pub host: String,
    /// procward's version there.
    pub version: String,
    /// The daemon's pid there.
    pub pid: u32,
    /// When it last registered (Unix milliseconds).
    pub seen_ms: u64,
    /// Its one-minute load average.
    pub load: f64,
    /// Its CPUs.
    pub cpus: u32,
    /// Jobs of the shared queue it runs now.
    pub jobs_running: u32,
    /// Whether its registration is current (`false`: it stopped registering).
    #[serde(default)]
    pub alive: bool,
    /// Its managed processes, as of its last registration (`procward list --all-hosts`).
    #[serde(default)]
    pub managed: Vec<HostProcess>,
}

/// A managed process as the fleet view shows it: enough to see what runs where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostProcess {
    /// Its name.
    pub name: String,
    /// Its state (`running`, `stopped`, ...).
    pub state: String,
    /// Its main process while it runs.
    pub pid: Option<u32>,
    /// Automatic restarts so far.
    pub restarts: u32,
    /// Milliseconds since the current run started.
    pub uptime_ms: u64,
    /// CPU (percent of one core).
    pub cpu_percent: f32,
    /// Resident memory of its main process, in bytes.
    pub memory_rss: u64,
}

impl HostProcess {
    /// The fleet view's summary of a managed process.
    pub fn of(view: &procward_core::supervisor::view::ManagedView) -> Self {
        Self {
            name: view.spec.name.clone(),
            state: view.state.to_string(),
            pid: view.pid,
            restarts: view.restarts,
            uptime_ms: view.uptime_ms,
            cpu_percent: view.cpu_percent,
            memory_rss: view.memory_rss,
        }
    }
}

impl HostInfo {
    /// This daemon, now, running `jobs_running` jobs.
    pub fn here(host: &str, jobs_running: u32) -> Self {
        Self {
            host: host.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            seen_ms: now_ms(),
            load: <procfs::LoadAverage as procfs::Current>::current()
                .map_or(0.0, |l| f64::from(l.one)),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            jobs_running,
            alive: true,
            managed: Vec::new(),
        }
    }
}

/// This machine's host name: the default name of its daemon among the hosts.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Registers this host (errors are logged: the next renewal tries again).
pub(super) async fn register(shared: &Shared) {
    let running = shared.local.lock().expect("local runs").len() as u32;
    let mut info = HostInfo::here(&shared.host, running);
    info.managed = shared.managed.lock().expect("managed").clone();
    let Ok(json) = serde_json::to_string(&info) else {
        return;
    };
    let link = &shared.link;
    let ttl = (shared.lease.as_millis() as u64 * 2).max(1000);
    let result: redis::RedisResult<()> = redis::pipe()
        .pset_ex(link.key(&["host", &shared.host]), &json, ttl)
        .ignore()
        .hset(link.key(&["hosts"]), &shared.host, &json)
        .ignore()
        .query_async(&mut link.con())
        .await;
    if let Err(e) = result {
        tracing::debug!(error = %e, "cannot register this host");
    }
}

/// Every host registered in the last day, by name: alive while its registration is
/// current.
pub(super) async fn hosts(shared: &Shared) -> Result<Vec<HostInfo>, EngineError> {
    let link = &shared.link;
    let mut con = link.con();
    let last: BTreeMap<String, String> = con
        .hgetall(link.key(&["hosts"]))
        .await
        .map_err(|e| link.unavailable(e))?;
    let mut hosts = Vec::new();
    let now = now_ms();
    for (name, json) in last {
        let Ok(mut info) = serde_json::from_str::<HostInfo>(&json) else {
            continue;
        };
        if now.saturating_sub(info.seen_ms) > KEEP_GONE_MS {
            let _: redis::RedisResult<()> = con.hdel(link.key(&["hosts"]), &name).await;
            continue;
        }
        info.alive = con
            .exists(link.key(&["host", &name]))
            .await
            .map_err(|e| link.unavailable(e))?;
        hosts.push(info);
    }
    Ok(hosts)
}
