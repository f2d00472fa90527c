//! The latest system CPU and memory figures, readable without waiting, for the spawn gate
//! (the queue's scheduler is synchronous and must not wait for a sample).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;

use crate::engine::sampling::Sampling;

/// Latest (cpu %, used memory %), `None` until measured.
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<Mutex<(Option<f32>, Option<f32>)>>);

impl Gauge {
    /// A gauge nobody feeds: every figure unmeasured (no CPU or memory maximum set).
    pub fn idle() -> Self {
        Self::default()
    }

    /// A gauge fed every second from the system hub (keeping it sampling while the daemon
    /// runs: only started when a CPU or memory maximum is configured).
    pub fn spawn(sampling: &Sampling) -> Self {
        let gauge = Self::default();
        let feed = gauge.clone();
        let mut samples = Box::pin(sampling.system.subscribe(Duration::from_secs(1)));
        tokio::spawn(async move {
            // The first sample has no CPU interval behind it: only memory is trusted.
            let mut first = true;
            while let Some(sample) = samples.next().await {
                let info = &sample.value;
                let cpu = (!first).then_some(info.cpu_percent);
                *feed.0.lock().expect("gauge lock") = (cpu, Some(info.memory_percent));
                first = false;
            }
        });
        gauge
    }

    /// The latest (system CPU %, used memory %).
    pub fn percents(&self) -> (Option<f32>, Option<f32>) {
        *self.0.lock().expect("gauge lock")
    }
}
