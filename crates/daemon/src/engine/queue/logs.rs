//! A job's logs as a stream: one attempt's tail, or (following) every line of the job as
//! it runs, moving on to each retry's files, until the job has ended.

use std::path::PathBuf;

use procward_core::logs::follow::{FollowStart, Follower};
use tokio::sync::{broadcast, mpsc};

use crate::engine::logs::{FOLLOW_POLL, Lines, LogLine, LogStream, STREAM_BUFFER, send_tails};
use crate::engine::{Engine, EngineError};

/// A job logs request.
#[derive(Debug, Clone)]
pub struct JobLogsQuery {
    /// The job.
    pub id: u64,
    /// One attempt (1-based); `None`: the latest, and when following every later one.
    pub attempt: Option<u32>,
    /// Its standard output (neither stream set: both).
    pub stdout: bool,
    /// Its standard error.
    pub stderr: bool,
    /// How many lines of the past.
    pub lines: Lines,
    /// Keep sending new lines until the job (or the attempt asked for) has ended.
    pub follow: bool,
}

impl Engine {
    /// The logs of a job `query` asks for. A follow of a job that has not started yet
    /// waits for its first attempt; it ends once the job has ended, after its last line.
    pub async fn job_logs(
        &self,
        query: JobLogsQuery,
    ) -> Result<mpsc::Receiver<LogLine>, EngineError> {
        // Subscribed before reading the job, so no event falls between the two.
        let mut events = self.queue().subscribe();
        let job = self.queue().get(query.id).await?;
        let latest = job.last_attempt().map_or(0, |a| a.number);
        // On a shared queue a job may run on any host: a follow, or an attempt whose
        // files are not here, reads the copy of its output in Redis.
        let here = self
            .queue()
            .home
            .attempt_dir(query.id, query.attempt.unwrap_or(latest))
            .exists();
        if self.queue().is_shared() && (query.follow || !here) {
            return self.queue().shared_logs(query).await;
        }
        if let Some(n) = query.attempt
            && (n == 0 || n > latest)
        {
            return Err(EngineError::NotFound(format!(
                "job {} has no attempt {n} (it has had {latest})",
                query.id
            )));
        }
        let home = self.queue().home.clone();
        let paths = move |attempt: u32| -> Vec<(LogStream, PathBuf)> {
            let dir = home.attempt_dir(query.id, attempt);
            let both = !query.stdout && !query.stderr;
            let mut streams = Vec::new();
            if query.stdout || both {
                streams.push((LogStream::Stdout, dir.join("stdout.log")));
            }
            if query.stderr || both {
                streams.push((LogStream::Stderr, dir.join("stderr.log")));
            }
            streams
        };
        let mut attempt = query.attempt.unwrap_or(latest);
        let lines = match query.lines {
            Lines::All => usize::MAX,
            Lines::Last(n) => n,
        };
        let mut ended = job.state.is_final() || query.attempt.is_some_and(|n| n < latest);
        let queue = self.queue().clone();
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            let open = |attempt: u32, from: FollowStart| -> Vec<(LogStream, Follower)> {
                paths(attempt)
                    .into_iter()
                    .filter_map(|(stream, path)| Some((stream, Follower::open(&path, from).ok()?)))
                    .collect()
            };
            // Following everything: read the files once, from their start, so no line
            // is sent twice (by the tail and again by the follower) or missed.
            let whole = query.follow && !ended && lines == usize::MAX;
            let mut followers = match (query.follow && !ended && attempt > 0, whole) {
                (true, true) => open(attempt, FollowStart::Start),
                (true, false) => open(attempt, FollowStart::End),
                (false, _) => Vec::new(),
            };
            if whole && !drain(&mut followers, &tx).await {
                return;
            }
            if attempt > 0 && !whole {
                let streams = paths(attempt);
                let sender = tx.clone();
                let sent =
                    tokio::task::spawn_blocking(move || send_tails(&streams, lines, &sender));
                if !matches!(sent.await, Ok(true)) {
                    return;
                }
            }
            while query.follow && !ended && !tx.is_closed() {
                tokio::time::sleep(FOLLOW_POLL).await;
                // What happened to the job since the last look.
                let mut next_attempt = None;
                loop {
                    match events.try_recv() {
                        Ok(event) if event.id == query.id => {
                            if event.state.is_final() {
                                ended = true;
                            }
                            if event.attempt > attempt {
                                next_attempt = Some(event.attempt);
                            }
                        }
                        Ok(_) => {}
                        Err(broadcast::error::TryRecvError::Lagged(_)) => {
                            match queue.get(query.id).await {
                                Ok(job) => {
                                    ended |= job.state.is_final();
                                    let n = job.last_attempt().map_or(0, |a| a.number);
                                    if n > attempt {
                                        next_attempt = Some(n);
                                    }
                                }
                                Err(_) => ended = true,
                            }
                        }
                        Err(_) => break,
                    }
                }
                if !drain(&mut followers, &tx).await {
                    return;
                }
                if let Some(next) = next_attempt {
                    if query.attempt.is_some() {
                        break; // the attempt asked for is over
                    }
                    attempt = next;
                    followers = open(attempt, FollowStart::Start);
                    if !drain(&mut followers, &tx).await {
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }
}

/// Sends every new line of `followers`; false once the receiver is gone.
async fn drain(followers: &mut [(LogStream, Follower)], tx: &mpsc::Sender<LogLine>) -> bool {
    for (stream, follower) in followers.iter_mut() {
        for line in follower.read_new().unwrap_or_default() {
            let line = LogLine {
                stream: *stream,
                line,
                process: String::new(),
            };
            if tx.send(line).await.is_err() {
                return false;
            }
        }
    }
    true
}
