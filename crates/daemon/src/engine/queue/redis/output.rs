//! A job's output across hosts: while an attempt runs, the host running it copies each
//! new line of its logs into the job's Redis stream (`P:out:ID`, the latest 10,000 lines
//! kept, removed with the job), so `procward queue logs ID [-f]` on any host shows (and
//! follows) the output of a job that runs on another. The logs' files stay where the job
//! ran; a follow reads the stream with blocking reads, not by polling.

use std::time::Duration;

use procward_core::logs::follow::{FollowStart, Follower};
use redis::AsyncCommands;
use redis::streams::{StreamId, StreamReadOptions, StreamReadReply};
use tokio::sync::{mpsc, oneshot};

use super::Shared;
use crate::engine::error::EngineError;
use crate::engine::logs::{LogLine, LogStream, STREAM_BUFFER};
use crate::engine::queue::logs::JobLogsQuery;

/// Lines kept per job (older ones are trimmed).
const KEPT: usize = 10_000;
/// How often a running attempt's new lines are copied.
const SHIP_EVERY: Duration = Duration::from_millis(200);
/// How long a follow's blocking read waits before looking whether the job has ended.
const BLOCK_MS: usize = 1000;

/// Copies attempt `number` of job `id`'s new lines to its stream until `done` fires (then
/// once more, so the last lines are in).
pub(super) fn ship(
    shared: &std::sync::Arc<Shared>,
    id: u64,
    number: u32,
    done: oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<()> {
    let shared = shared.clone();
    tokio::spawn(async move {
        let dir = shared.home.attempt_dir(id, number);
        let mut followers: Vec<(&str, Follower)> = [("o", "stdout.log"), ("e", "stderr.log")]
            .into_iter()
            .filter_map(|(tag, file)| {
                Some((
                    tag,
                    Follower::open(&dir.join(file), FollowStart::Start).ok()?,
                ))
            })
            .collect();
        let key = shared.link.key(&["out", &id.to_string()]);
        let mut done = done;
        loop {
            let last = tokio::select! {
                _ = &mut done => true,
                _ = tokio::time::sleep(SHIP_EVERY) => false,
            };
            let mut pipe = redis::pipe();
            let mut any = false;
            for (tag, follower) in &mut followers {
                for line in follower.read_new().unwrap_or_default() {
                    pipe.cmd("XADD")
                        .arg(&key)
                        .arg("MAXLEN")
                        .arg("~")
                        .arg(KEPT)
                        .arg("*")
                        .arg("a")
                        .arg(number)
                        .arg("s")
                        .arg(*tag)
                        .arg("l")
                        .arg(line)
                        .ignore();
                    any = true;
                }
            }
            if any {
                let sent: redis::RedisResult<()> = pipe.query_async(&mut shared.link.con()).await;
                if let Err(e) = sent {
                    tracing::debug!(id, error = %e, "cannot copy the job's output");
                }
            }
            if last {
                return;
            }
        }
    })
}

/// The logs `query` asks for of a job that ran (or runs) on another host, from its
/// stream: the last lines of the attempt, and while following every new line (of later
/// attempts too, unless one attempt was asked for) until the job has ended.
pub(super) async fn read(
    shared: &Shared,
    query: JobLogsQuery,
) -> Result<mpsc::Receiver<LogLine>, EngineError> {
    let job = shared.link.job(query.id).await?;
    let latest = job.last_attempt().map_or(0, |a| a.number);
    if let Some(n) = query.attempt
        && (n == 0 || n > latest)
    {
        return Err(EngineError::NotFound(format!(
            "job {} has no attempt {n} (it has had {latest})",
            query.id
        )));
    }
    let key = shared.link.key(&["out", &query.id.to_string()]);
    let link_client = shared.link.client.clone();
    let mut con = shared.link.con();
    let entries: redis::streams::StreamRangeReply = con
        .xrange_all(&key)
        .await
        .map_err(|e| shared.link.unavailable(e))?;
    let attempt = query.attempt.unwrap_or(latest);
    let wanted = move |entry: &StreamId, following: bool| -> Option<LogLine> {
        let number: u32 = entry.get("a")?;
        let ok = match (query.attempt, following) {
            (Some(n), _) => number == n,
            (None, false) => number == attempt,
            (None, true) => number >= attempt,
        };
        let stream = match entry.get::<String>("s")?.as_str() {
            "o" => LogStream::Stdout,
            _ => LogStream::Stderr,
        };
        let both = !query.stdout && !query.stderr;
        let shown = both
            || (query.stdout && stream == LogStream::Stdout)
            || (query.stderr && stream == LogStream::Stderr);
        (ok && shown).then(|| LogLine {
            stream,
            line: entry.get("l").unwrap_or_default(),
            process: String::new(),
        })
    };
    let past: Vec<LogLine> = entries
        .ids
        .iter()
        .filter_map(|e| wanted(e, false))
        .collect();
    let keep = match query.lines {
        crate::engine::logs::Lines::All => past.len(),
        crate::engine::logs::Lines::Last(n) => n.min(past.len()),
    };
    let mut last_id = entries
        .ids
        .last()
        .map_or_else(|| "0".to_owned(), |e| e.id.clone());
    let ended = job.state.is_final() || query.attempt.is_some_and(|n| n < latest);
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let job_key = shared.link.key(&["job", &query.id.to_string()]);
    let manager = shared.link.con();
    tokio::spawn(async move {
        let skip = past.len() - keep;
        for line in past.into_iter().skip(skip) {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        if !query.follow || ended {
            return;
        }
        // A connection of its own: a blocking read would hold up the shared one.
        // Its answers may take the whole block: a response timeout past it.
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(
            Duration::from_millis(BLOCK_MS as u64) + Duration::from_secs(5),
        ));
        let Ok(mut blocking) = link_client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        else {
            return;
        };
        let options = StreamReadOptions::default().block(BLOCK_MS).count(500);
        let mut finished = false;
        while !tx.is_closed() {
            let reply: redis::RedisResult<Option<StreamReadReply>> =
                blocking.xread_options(&[&key], &[&last_id], &options).await;
            let Ok(reply) = reply else {
                // Redis is unreachable: try again; the follow ends with the job.
                if finished {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                finished = has_ended(manager.clone(), &job_key).await;
                continue;
            };
            let entries: Vec<StreamId> = reply
                .into_iter()
                .flat_map(|r| r.keys)
                .flat_map(|k| k.ids)
                .collect();
            if let Some(last) = entries.last() {
                last_id = last.id.clone();
            }
            for entry in &entries {
                if let Some(line) = wanted(entry, true)
                    && tx.send(line).await.is_err()
                {
                    return;
                }
            }
            if finished && entries.is_empty() {
                return;
            }
            // Once the job has ended, one more read picks up its last lines.
            if entries.is_empty() && has_ended(manager.clone(), &job_key).await {
                finished = true;
            }
        }
    });
    Ok(rx)
}

/// Whether the job at `job_key` has ended (or is gone); `false` when Redis cannot say.
async fn has_ended(mut con: redis::aio::ConnectionManager, job_key: &str) -> bool {
    let state: redis::RedisResult<Option<String>> = con.hget(job_key, "state").await;
    match state {
        Ok(None) => true,
        Ok(Some(state)) => state
            .parse::<procward_core::queue::JobState>()
            .is_ok_and(|s| s.is_final()),
        Err(_) => false,
    }
}
