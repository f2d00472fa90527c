//! Shared, demand-driven samples of the machine: one timer per kind of sample (the OS
//! process table, the system figures), however many clients read them.
//!
//! A [`Hub`] refreshes its source only while someone wants it: a one-off read keeps it
//! ticking at its default period for [`IDLE_AFTER`]; a subscriber (a `MonitorSystem`
//! stream) keeps it ticking at the shortest interval any subscriber asked for. With no
//! demand the timer parks, so an idle daemon walks nothing. Readers get an `Arc` of the
//! latest sample from a `watch` channel: answering a read costs no `/proc` walk, and a
//! slow subscriber only ever holds the newest sample, never a growing queue.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use procward_core::sys::system::SystemSampler;
use procward_core::{ProcessInfo, ProcessSampler, SystemInfo};
use tokio::sync::{Notify, watch};
use tokio_stream::Stream;

/// How long a hub keeps ticking after its last one-off read.
pub const IDLE_AFTER: Duration = Duration::from_secs(30);
/// The shortest period a subscriber may ask for.
pub const MIN_PERIOD: Duration = Duration::from_millis(100);
/// How long a cold hub waits between its baseline and first reading, so the first CPU
/// figures cover a real interval.
const WARMUP: Duration = Duration::from_millis(200);
/// How long a read waits for a sample before giving up.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Something a hub samples: a baseline, then readings that measure against the previous.
pub trait Source: Send + 'static {
    /// What one reading yields.
    type Output: Send + Sync + 'static;
    /// Starts a new measuring interval (after the hub was idle).
    fn baseline(&mut self) -> procward_core::Result<()>;
    /// A reading covering the time since the previous call.
    fn read(&mut self) -> procward_core::Result<Self::Output>;
}

/// One reading and when it was taken.
#[derive(Debug)]
pub struct Sample<T> {
    /// The reading.
    pub value: T,
    /// When it was taken (monotonic).
    pub taken: Instant,
    /// When it was taken, Unix milliseconds (for clients).
    pub taken_unix_ms: u64,
}

/// Why a read got no sample.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no {what} sample within {READ_TIMEOUT:?}: {reason}")]
pub struct SamplingError {
    what: &'static str,
    reason: String,
}

type Latest<T> = Option<Arc<Sample<T>>>;

#[derive(Debug)]
struct Demand {
    /// Subscriber id -> the period it asked for.
    subscribers: BTreeMap<u64, Duration>,
    next_id: u64,
    last_read: Option<Instant>,
    last_error: Option<String>,
}

#[derive(Debug)]
struct Shared<T> {
    what: &'static str,
    default_period: Duration,
    latest: watch::Sender<Latest<T>>,
    demand: Mutex<Demand>,
    wake: Notify,
}

impl<T> Shared<T> {
    fn demand(&self) -> std::sync::MutexGuard<'_, Demand> {
        self.demand.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The period to tick at now, or `None` when nobody wants samples.
    fn period(&self) -> Option<Duration> {
        let demand = self.demand();
        if let Some(shortest) = demand.subscribers.values().min() {
            return Some((*shortest).min(self.default_period));
        }
        demand
            .last_read
            .filter(|at| at.elapsed() < IDLE_AFTER)
            .map(|_| self.default_period)
    }
}

/// A demand-driven sampler shared by every reader; cheap to clone.
#[derive(Debug)]
pub struct Hub<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Hub<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> Hub<T> {
    /// Starts the hub's timer task (parked until the first read). `what` names the
    /// samples in errors.
    pub fn spawn<S>(what: &'static str, source: S, default_period: Duration) -> Self
    where
        S: Source<Output = T>,
    {
        let (latest, _) = watch::channel(None);
        let shared = Arc::new(Shared {
            what,
            default_period,
            latest,
            demand: Mutex::new(Demand {
                subscribers: BTreeMap::new(),
                next_id: 0,
                last_read: None,
                last_error: None,
            }),
            wake: Notify::new(),
        });
        tokio::spawn(tick(shared.clone(), source));
        Self { shared }
    }

    /// The latest sample, if it is at most `max_age` old; otherwise waits for the next.
    pub async fn latest(&self, max_age: Duration) -> Result<Arc<Sample<T>>, SamplingError> {
        let mut updates = self.shared.latest.subscribe();
        let was_idle = {
            let mut demand = self.shared.demand();
            let idle = demand.subscribers.is_empty()
                && demand.last_read.is_none_or(|at| at.elapsed() >= IDLE_AFTER);
            demand.last_read = Some(Instant::now());
            idle
        };
        if was_idle {
            self.shared.wake.notify_one();
        }
        let fresh = |latest: &Latest<T>| {
            latest
                .as_ref()
                .is_some_and(|sample| sample.taken.elapsed() <= max_age)
        };
        let wait = updates.wait_for(fresh);
        match tokio::time::timeout(READ_TIMEOUT, wait).await {
            Ok(Ok(sample)) => Ok(sample.clone().expect("checked by wait_for")),
            _ => Err(SamplingError {
                what: self.shared.what,
                reason: self
                    .shared
                    .demand()
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "the sampler did not answer".into()),
            }),
        }
    }

    /// Samples every `interval` (at least [`MIN_PERIOD`]) until the stream is dropped.
    /// The first item is the latest sample when it is recent enough. A consumer that
    /// falls behind skips samples; nothing queues up.
    pub fn subscribe(&self, interval: Duration) -> impl Stream<Item = Arc<Sample<T>>> + use<T> {
        let interval = interval.max(MIN_PERIOD);
        let id = {
            let mut demand = self.shared.demand();
            demand.next_id += 1;
            let id = demand.next_id;
            demand.subscribers.insert(id, interval);
            id
        };
        self.shared.wake.notify_one();
        let guard = Subscription {
            shared: self.shared.clone(),
            id,
        };
        let updates = self.shared.latest.subscribe();
        // A sample a little early still counts, so a subscriber at the hub's own period
        // gets every tick despite timer jitter.
        let due = interval.mul_f64(0.8);
        futures_util::stream::unfold(
            (updates, None::<Instant>, guard),
            move |(mut updates, last, guard)| async move {
                loop {
                    let candidate = updates.borrow_and_update().clone();
                    if let Some(sample) = candidate {
                        let is_due = last.is_none_or(|at| sample.taken.duration_since(at) >= due);
                        let is_recent = last.is_some() || sample.taken.elapsed() <= interval;
                        if is_due && is_recent && last != Some(sample.taken) {
                            let taken = sample.taken;
                            return Some((sample, (updates, Some(taken), guard)));
                        }
                    }
                    updates.changed().await.ok()?;
                }
            },
        )
    }
}

/// Removes its subscriber's demand when the stream is dropped (client gone).
#[derive(Debug)]
struct Subscription<T> {
    shared: Arc<Shared<T>>,
    id: u64,
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        self.shared.demand().subscribers.remove(&self.id);
    }
}

async fn tick<S: Source>(shared: Arc<Shared<S::Output>>, source: S) {
    let source = Arc::new(Mutex::new(source));
    let mut last_reading: Option<Instant> = None;
    loop {
        let period = loop {
            let woken = shared.wake.notified();
            if let Some(period) = shared.period() {
                break period;
            }
            woken.await;
        };
        // After an idle spell the previous reading is too old to measure against.
        let cold = last_reading.is_none_or(|at| at.elapsed() > period * 3);
        let result = {
            let source = source.clone();
            tokio::task::spawn_blocking(move || {
                let mut source = source.lock().unwrap_or_else(|e| e.into_inner());
                if cold {
                    source.baseline()?;
                    std::thread::sleep(WARMUP);
                }
                source.read()
            })
            .await
        };
        last_reading = Some(Instant::now());
        match result {
            Ok(Ok(value)) => {
                shared.demand().last_error = None;
                shared.latest.send_replace(Some(Arc::new(Sample {
                    value,
                    taken: Instant::now(),
                    taken_unix_ms: unix_ms(),
                })));
            }
            Ok(Err(e)) => {
                tracing::warn!(what = shared.what, error = %e, "sampling failed");
                shared.demand().last_error = Some(e.to_string());
            }
            Err(e) => {
                tracing::error!(what = shared.what, error = %e, "sampler panicked");
                shared.demand().last_error = Some("the sampler failed".into());
            }
        }
        // Sleep the period, but start over at once when a faster subscriber arrives.
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shared.wake.notified() => {}
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The OS process table as a [`Source`].
#[derive(Debug, Default)]
pub struct ProcessTable(ProcessSampler);

impl Source for ProcessTable {
    type Output = Vec<ProcessInfo>;
    fn baseline(&mut self) -> procward_core::Result<()> {
        self.0.refresh().map(drop)
    }
    fn read(&mut self) -> procward_core::Result<Vec<ProcessInfo>> {
        self.0.refresh()
    }
}

/// The system figures as a [`Source`].
pub struct SystemFigures(SystemSampler);

impl SystemFigures {
    /// A source with sysinfo's first CPU reading taken.
    pub fn new() -> procward_core::Result<Self> {
        SystemSampler::new().map(Self)
    }
}

impl Source for SystemFigures {
    type Output = SystemInfo;
    fn baseline(&mut self) -> procward_core::Result<()> {
        self.0.refresh().map(drop)
    }
    fn read(&mut self) -> procward_core::Result<SystemInfo> {
        self.0.refresh()
    }
}

/// The daemon's two hubs.
#[derive(Debug, Clone)]
pub struct Sampling {
    /// Every OS process, refreshed every second while in demand.
    pub processes: Hub<Vec<ProcessInfo>>,
    /// System figures, refreshed every second (or faster, for monitors) while in demand.
    pub system: Hub<SystemInfo>,
}

impl Sampling {
    /// Starts both hubs (parked until first used).
    pub fn spawn() -> procward_core::Result<Self> {
        Ok(Self {
            processes: Hub::spawn("process", ProcessTable::default(), Duration::from_secs(1)),
            system: Hub::spawn("system", SystemFigures::new()?, Duration::from_secs(1)),
        })
    }
}
