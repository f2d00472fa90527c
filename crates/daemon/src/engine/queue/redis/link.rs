//! The daemon's link to the shared queue's Redis: one multiplexed connection that
//! reconnects by itself (`redis::aio::ConnectionManager`, created lazily so a daemon
//! starts, and supervises, while Redis is down), the scripts, and reading jobs back.

use std::time::Duration;

use procward_core::queue::{Group, Job, JobState};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client, FromRedisValue, Script, ScriptInvocation};

use super::scripts::Scripts;
use crate::engine::error::EngineError;

/// The job's hash fields a read needs, in the order [`decode`] takes them.
const FIELDS: [&str; 6] = ["body", "state", "reason", "run_at", "host", "cancel"];

/// Where the queue lives and how to reach it.
pub(super) struct Link {
    pub client: Client,
    connection: ConnectionManager,
    pub scripts: Scripts,
    /// The key prefix (`[queue] prefix`): several queues can share one Redis.
    pub prefix: String,
    /// The URL without its password, for messages.
    pub shown_url: String,
}

impl Link {
    /// A link to `url` (nothing is connected yet); with `tls_ca`, a `rediss://` server's
    /// certificate is checked against that CA instead of the system's.
    pub(super) fn new(
        url: &str,
        prefix: &str,
        tls_ca: Option<&std::path::Path>,
    ) -> Result<Self, EngineError> {
        // rustls needs one crypto provider for the process; ring is the one the gRPC
        // listener uses too. An error only says one is installed already.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let client = match tls_ca {
            None => Client::open(url),
            Some(path) => {
                let root = std::fs::read(path).map_err(|e| {
                    EngineError::Invalid(format!("[queue] tls_ca {}: {e}", path.display()))
                })?;
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root),
                };
                Client::build_with_tls(url, certificates)
            }
        }
        .map_err(|e| EngineError::Invalid(format!("[queue] url: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(10)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| EngineError::Internal(format!("redis: {e}")))?;
        Ok(Self {
            client,
            connection,
            scripts: Scripts::new(),
            prefix: prefix.to_owned(),
            shown_url: shown_url(url),
        })
    }

    /// A connection to send on (a cheap clone of the shared one).
    pub(super) fn con(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// Key `parts` under the prefix.
    pub(super) fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    /// The error a caller sees when Redis cannot be reached or refuses.
    pub(super) fn unavailable(&self, e: redis::RedisError) -> EngineError {
        EngineError::Unavailable(format!(
            "the job queue is unavailable: Redis at {}: {e} (the daemon keeps retrying; \
             managed processes are not affected)",
            self.shown_url
        ))
    }

    /// Runs `script` with the prefix as its first argument and `args` after it.
    pub(super) async fn run<T: FromRedisValue>(
        &self,
        script: &Script,
        args: impl FnOnce(&mut ScriptInvocation<'_>),
    ) -> Result<T, EngineError> {
        let mut invocation = script.prepare_invoke();
        invocation.arg(&self.prefix);
        args(&mut invocation);
        invocation
            .invoke_async(&mut self.con())
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// One job, as every door shows it.
    pub(super) async fn job(&self, id: u64) -> Result<Job, EngineError> {
        let fields: Vec<Option<String>> = self
            .con()
            .hmget(self.key(&["job", &id.to_string()]), &FIELDS[..])
            .await
            .map_err(|e| self.unavailable(e))?;
        decode(id, fields)?.ok_or_else(|| {
            EngineError::NotFound(format!(
                "no job {id} (`procward queue list` shows the jobs)"
            ))
        })
    }

    /// Every job, by id.
    pub(super) async fn jobs(&self) -> Result<Vec<Job>, EngineError> {
        let ids: Vec<u64> = self
            .con()
            .zrange(self.key(&["jobs"]), 0, -1)
            .await
            .map_err(|e| self.unavailable(e))?;
        let mut jobs = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.hmget(self.key(&["job", &id.to_string()]), &FIELDS[..]);
            }
            let rows: Vec<Vec<Option<String>>> = pipe
                .query_async(&mut self.con())
                .await
                .map_err(|e| self.unavailable(e))?;
            for (id, row) in chunk.iter().zip(rows) {
                jobs.extend(decode(*id, row)?);
            }
        }
        Ok(jobs)
    }

    /// Every group, by name.
    pub(super) async fn groups(&self) -> Result<Vec<Group>, EngineError> {
        let raw: std::collections::BTreeMap<String, String> = self
            .con()
            .hgetall(self.key(&["groups"]))
            .await
            .map_err(|e| self.unavailable(e))?;
        raw.values().map(|g| decode_group(g)).collect()
    }
}

/// A group as the scripts store it.
pub(super) fn decode_group(raw: &str) -> Result<Group, EngineError> {
    serde_json::from_str(raw).map_err(|e| EngineError::Internal(format!("redis: bad group: {e}")))
}

/// A job from its hash fields ([`FIELDS`]); `None` when it does not exist. The scripts
/// own the state, the reason, when a delayed job may start and where it runs; the body
/// (written by the host that changed the job last) everything else.
pub(super) fn decode(id: u64, fields: Vec<Option<String>>) -> Result<Option<Job>, EngineError> {
    let mut fields = fields.into_iter();
    let mut next = || fields.next().flatten();
    let Some(body) = next() else {
        return Ok(None);
    };
    let mut job: Job = serde_json::from_str(&body)
        .map_err(|e| EngineError::Internal(format!("redis: job {id} does not decode: {e}")))?;
    job.id = id;
    if let Some(state) = next() {
        job.state = state
            .parse::<JobState>()
            .map_err(|e| EngineError::Internal(format!("redis: job {id}: {e}")))?;
    }
    job.reason = next().unwrap_or_default();
    job.run_at_ms = next().and_then(|at| at.parse().ok());
    job.host = next().filter(|h| !h.is_empty());
    job.cancel_requested = next().is_some_and(|c| c == "1");
    Ok(Some(job))
}

/// `url` with any password replaced by `***`.
fn shown_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            let hidden = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_owned()
            };
            format!("{}{hidden}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            shown_url("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(
            shown_url("rediss://user:secret@db:6380/1"),
            "rediss://user:***@db:6380/1"
        );
        assert_eq!(shown_url("redis://secret@db"), "redis://***@db");
    }

    #[test]
    fn the_scripts_fields_win_over_the_body() {
        let mut job = Job::new(
            0,
            procward_core::queue::JobSpec::new(vec!["true".into()]),
            5,
        );
        job.reason = "stale".into();
        let body = serde_json::to_string(&job).unwrap();
        let fields = vec![
            Some(body),
            Some("delayed".into()),
            Some("attempt 1 exit 1; retrying".into()),
            Some("99".into()),
            Some("web-2".into()),
            Some("0".into()),
        ];
        let job = decode(7, fields).unwrap().unwrap();
        assert_eq!(job.id, 7);
        assert_eq!(job.state, JobState::Delayed);
        assert_eq!(job.reason, "attempt 1 exit 1; retrying");
        assert_eq!(job.run_at_ms, Some(99));
        assert_eq!(job.host.as_deref(), Some("web-2"));
        assert!(!job.cancel_requested);
        assert!(decode(8, vec![None; 6]).unwrap().is_none());
    }
}
