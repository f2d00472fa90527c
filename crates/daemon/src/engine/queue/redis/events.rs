//! The host's subscription: job events from every host (passed on to this daemon's
//! watchers, and answering `wait`), wake-ups for the worker, and this host's control
//! channel (cancels of jobs it runs). Pub/sub costs nothing while the queue is idle;
//! after a reconnect everything that might have been missed is looked at again (the
//! worker polls, waiters re-read their jobs), since pub/sub does not replay.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::{Control, Shared};
use crate::engine::queue::JobEvent;

/// Subscribes, and resubscribes after each loss with back-off, for the daemon's life.
pub(super) async fn subscribe(shared: Arc<Shared>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match listen(&shared).await {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "queue subscription lost");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One subscription, until the connection ends.
async fn listen(shared: &Shared) -> redis::RedisResult<()> {
    let link = &shared.link;
    let mut pubsub = link.client.get_async_pubsub().await?;
    let (events, wake, control) = (
        link.key(&["events"]),
        link.key(&["wake"]),
        link.key(&["control", &shared.host]),
    );
    pubsub.subscribe(&[&events, &wake, &control]).await?;
    tracing::info!("subscribed to the shared queue");
    // Whatever happened while unsubscribed: look for work, re-read awaited jobs.
    shared.wake.notify_one();
    let awaited: Vec<u64> = shared
        .waiters
        .lock()
        .expect("waiters")
        .keys()
        .copied()
        .collect();
    for id in awaited {
        settle_waiters(shared, id).await;
    }
    let mut messages = pubsub.into_on_message();
    while let Some(message) = messages.next().await {
        let channel = message.get_channel_name();
        let payload: String = message.get_payload().unwrap_or_default();
        if channel == events {
            on_event(shared, &payload).await;
        } else if channel == wake {
            shared.wake.notify_one();
        } else if channel == control {
            on_control(shared, &payload);
        }
    }
    Ok(())
}

async fn on_event(shared: &Shared, payload: &str) {
    let event: JobEvent = match serde_json::from_str(payload) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, payload, "undecodable job event");
            return;
        }
    };
    let (id, last) = (event.id, event.state.is_final());
    let _ = shared.events.send(event);
    if last {
        settle_waiters(shared, id).await;
    }
}

/// Answers the waiters of job `id` if it is final (or gone).
async fn settle_waiters(shared: &Shared, id: u64) {
    if !shared.waiters.lock().expect("waiters").contains_key(&id) {
        return;
    }
    match shared.link.job(id).await {
        Ok(job) if !job.state.is_final() => {}
        result => shared.answer_waiters(id, result),
    }
}

/// `payload` is the id of a job this host runs that a caller cancelled.
fn on_control(shared: &Shared, payload: &str) {
    let Ok(id) = payload.parse::<u64>() else {
        return;
    };
    if let Some(run) = shared.local.lock().expect("local runs").get(&id) {
        let _ = run.control.send(Control::Cancel);
    }
}
