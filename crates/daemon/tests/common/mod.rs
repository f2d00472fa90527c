//! An engine in a temp home, without a daemon binary or a socket: the seam the in-process
//! tests drive. The shims it launches are `procward-shim shim`, so that binary must
//! be built (`cargo test --workspace` builds it first; or set `PROCWARD_BIN`).

#![allow(dead_code)] // each test file uses its own part

use std::path::PathBuf;
use std::time::{Duration, Instant};

use procward_daemon::Home;
use procward_daemon::engine::queue::{QueueBackend, RedisConfig};
use procward_daemon::engine::reaper::{self, OwnedChildren};
use procward_daemon::engine::{Engine, EngineConfig};

pub mod redis_server;

/// The queue backend the suite runs against: the embedded one, or with
/// `PROCWARD_TEST_REDIS_URL` set a Redis one under a key prefix of the fixture's own (so
/// tests share one redis-server without meeting).
pub fn test_backend() -> QueueBackend {
    match std::env::var("PROCWARD_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => QueueBackend::Redis(redis_config(&url, &unique("t"), "test")),
        _ => QueueBackend::Embedded,
    }
}

/// A Redis backend at `url` under `prefix`, as host `host`, with a 3 s lease (so a lost
/// host is noticed within a test).
pub fn redis_config(url: &str, prefix: &str, host: &str) -> RedisConfig {
    RedisConfig {
        url: url.to_owned(),
        prefix: prefix.to_owned(),
        host: host.to_owned(),
        lease: Duration::from_secs(3),
        tls_ca: None,
        serve: Vec::new(),
    }
}

/// `stem` and a random suffix.
pub fn unique(stem: &str) -> String {
    format!("{stem}-{:016x}", getrandom::u64().expect("random"))
}

/// The binary that runs shims (`procward-shim`, built with the `procward` package).
pub fn shim_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("PROCWARD_SHIM_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join("debug/procward-shim");
    assert!(
        path.is_file(),
        "{} is missing: build it first (`cargo build -p procward`) or set PROCWARD_SHIM_BIN",
        path.display()
    );
    path
}

/// An engine over its own temp home; stops and deletes every managed process when dropped.
pub struct Fixture {
    /// The engine under test.
    pub engine: Engine,
    /// Its home.
    pub home: Home,
    /// Children it spawns.
    pub owned: OwnedChildren,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// A fresh engine (the test must run on a multi-thread runtime).
    pub fn new() -> Self {
        Self::prepared(|_| {})
    }

    /// An engine over a home that `prepare` filled first (registry records, as a previous
    /// daemon left them), so the engine starts by restoring them.
    pub fn prepared(prepare: impl FnOnce(&Home)) -> Self {
        Self::with_backend(prepare, test_backend())
    }

    /// An engine whose queue is on `backend`.
    pub fn with_backend(prepare: impl FnOnce(&Home), backend: QueueBackend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = Home::at(dir.path().join("home"));
        home.create().expect("home");
        prepare(&home);
        let owned = OwnedChildren::default();
        reaper::start(owned.clone()).expect("subreaper");
        let mut config = EngineConfig::default();
        config.queue.backend = backend;
        let engine = Engine::launch_with(home.clone(), shim_bin(), owned.clone(), config)
            .expect("engine starts");
        Self {
            engine,
            home,
            owned,
            _dir: dir,
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let supervisor = self.engine.supervisor().clone();
        let queue = self.engine.queue().clone();
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async move {
                for view in supervisor.list().await.unwrap_or_default() {
                    let _ = supervisor.delete(&view.spec.name).await;
                }
                let _ = queue.pause(None, true).await;
                for job in queue.list(Default::default()).await.unwrap_or_default() {
                    if !job.state.is_final() {
                        let _ = queue.cancel(job.id).await;
                    }
                }
            })
        });
    }
}

/// A job running `sh -c script`.
pub fn sh(script: &str) -> procward_core::queue::JobSpec {
    procward_core::queue::JobSpec::new(vec!["sh".into(), "-c".into(), script.into()])
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Polls `check` every 20 ms until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
