//! One shared, demand-driven sampler.
//!
//! A [`Hub`] refreshes its source only while someone wants it: a one-off read keeps it
//! ticking at its default period for a while ([`Timing::idle_after`]); a subscriber (a `MonitorSystem`
//! stream) keeps it ticking at the shortest interval any subscriber asked for. With no
//! demand the timer parks, so an idle daemon walks nothing. Readers get an `Arc` of the
//! latest sample from a `watch` channel: answering a read costs no `/proc` walk, and a
//! slow subscriber only ever holds the newest sample, never a growing queue.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Notify, watch};
use tokio_stream::Stream;

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

/// How often a hub samples, and for how long after a read.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The period while only one-off reads want samples.
    pub period: Duration,
    /// How long after the last one-off read the hub keeps ticking (so a client polling
    /// every few seconds is answered from memory), before it parks.
    pub idle_after: Duration,
}

#[derive(Debug)]
struct Shared<T> {
    what: &'static str,
    timing: Timing,
    latest: watch::Sender<Latest<T>>,
    demand: Mutex<Demand>,
    wake: Notify,
}

impl<T> Shared<T> {
    fn demand(&self) -> std::sync::MutexGuard<'_, Demand> {
        self.demand.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The period to tick at now: the shortest any subscriber asked for, or the default
    /// while one-off reads are recent; `None` when nobody wants samples.
    fn period(&self) -> Option<Duration> {
        let demand = self.demand();
        let reading = demand
            .last_read
            .filter(|at| at.elapsed() < self.timing.idle_after)
            .map(|_| self.timing.period);
        let subscribed = demand.subscribers.values().min().copied();
        match (subscribed, reading) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
    pub fn spawn<S>(what: &'static str, source: S, timing: Timing) -> Self
    where
        S: Source<Output = T>,
    {
        let (latest, _) = watch::channel(None);
        let shared = Arc::new(Shared {
            what,
            timing,
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
                && demand
                    .last_read
                    .is_none_or(|at| at.elapsed() >= self.shared.timing.idle_after);
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
    procward_core::sys::unix_ms(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio_stream::StreamExt;

    use super::*;

    /// Counts its readings; each reading is the count so far.
    struct Counter(Arc<AtomicU32>);

    impl Source for Counter {
        type Output = u32;
        fn baseline(&mut self) -> procward_core::Result<()> {
            Ok(())
        }
        fn read(&mut self) -> procward_core::Result<u32> {
            Ok(self.0.fetch_add(1, Ordering::SeqCst) + 1)
        }
    }

    fn hub(idle_after: Duration) -> (Hub<u32>, Arc<AtomicU32>) {
        let reads = Arc::new(AtomicU32::new(0));
        let timing = Timing {
            period: Duration::from_millis(20),
            idle_after,
        };
        (Hub::spawn("test", Counter(reads.clone()), timing), reads)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_nothing_until_asked_and_parks_after_the_last_read() {
        let (hub, reads) = hub(Duration::from_millis(150));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            reads.load(Ordering::SeqCst),
            0,
            "an unused hub never samples"
        );

        let first = hub.latest(Duration::from_secs(1)).await.unwrap();
        assert!(first.value >= 1);
        // Served from memory while fresh: no reading per read.
        let again = hub.latest(Duration::from_secs(5)).await.unwrap();
        assert!(again.value >= first.value);

        tokio::time::sleep(Duration::from_millis(600)).await;
        let parked = reads.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            reads.load(Ordering::SeqCst),
            parked,
            "parked after idle_after"
        );
        let fresh = hub.latest(Duration::from_millis(50)).await.unwrap();
        assert!(fresh.value > parked, "a stale sample is not served");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn subscribers_share_readings_and_release_them_when_dropped() {
        let (hub, reads) = hub(Duration::from_millis(10));
        let mut a = Box::pin(hub.subscribe(Duration::from_millis(100)));
        let mut b = Box::pin(hub.subscribe(Duration::from_millis(300)));
        let mut seen_a = Vec::new();
        for _ in 0..6 {
            seen_a.push(a.next().await.unwrap().value);
        }
        let first_b = b.next().await.unwrap().value;
        let second_b = b.next().await.unwrap().value;
        assert!(seen_a.windows(2).all(|w| w[0] < w[1]), "{seen_a:?}");
        assert!(second_b > first_b);
        // The hub ticks at the shortest interval (100 ms), not once per subscriber.
        let total = reads.load(Ordering::SeqCst);
        assert!(total <= 12, "{total} readings for ~600 ms at 100 ms");

        drop(a);
        drop(b);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = reads.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            reads.load(Ordering::SeqCst),
            after,
            "no subscriber, no sampling"
        );
        assert!(hub.shared.demand().subscribers.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stalled_subscriber_holds_one_sample_not_a_queue() {
        let (hub, _reads) = hub(Duration::from_millis(10));
        let mut slow = Box::pin(hub.subscribe(Duration::from_millis(100)));
        let first = slow.next().await.unwrap().value;
        tokio::time::sleep(Duration::from_millis(800)).await;
        let next = slow.next().await.unwrap().value;
        let after = slow.next().await.unwrap().value;
        assert!(
            next > first + 3,
            "skipped to a recent sample: {first} -> {next}"
        );
        assert!(after > next);
    }
}
