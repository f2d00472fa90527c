//! Managed processes' logs: the last lines, then (when following) new ones as they are
//! written, as one stream per request (timestamped lines interleaved by time and
//! filtered by `since`: [`merge`]); the bounded tail by pid that `GetLogs` and MCP
//! `get_logs` serve; and emptying them ([`flush`]).

use std::path::PathBuf;
use std::time::Duration;

use procward_core::logs::follow::{FollowStart, Follower};
use procward_core::logs::tail::{tail_lines, tail_lossy};
use tokio::sync::mpsc;

use super::Engine;
use super::checks::pid_to_read;
use super::error::EngineError;

mod flush;
mod merge;

/// Most lines a tail by pid (answered in one message) may ask for; streams have no limit.
pub const MAX_LOG_LINES: u32 = 100_000;
/// How often a follow checks the log files for new lines.
pub(crate) const FOLLOW_POLL: Duration = Duration::from_millis(50);
/// Lines buffered per stream before the reader waits for the consumer.
pub(crate) const STREAM_BUFFER: usize = 256;

/// Which of a process's two logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// Its standard output.
    Stdout,
    /// Its standard error.
    Stderr,
}

impl LogStream {
    /// The stream's name on the wire (`stdout`, `stderr`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// One line of a log, without its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Where it was written.
    pub stream: LogStream,
    /// Its bytes (not necessarily UTF-8).
    pub line: Vec<u8>,
    /// The replica it came from when the logs of a set were asked for; empty otherwise.
    pub process: String,
}

/// How many lines a tail wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// The last this many (0: none, only what follows).
    Last(usize),
    /// Every line kept.
    All,
}

/// A logs request.
#[derive(Debug, Clone)]
pub struct LogsQuery {
    /// The managed process.
    pub name: String,
    /// Its standard output (neither stream set: both).
    pub stdout: bool,
    /// Its standard error.
    pub stderr: bool,
    /// How many lines of the past.
    pub lines: Lines,
    /// Keep sending new lines until the receiver is dropped.
    pub follow: bool,
    /// Only lines stamped at or after this Unix millisecond (timestamped logs only).
    pub since_ms: Option<u64>,
}

impl Engine {
    /// The logs `query` asks for, as a stream: stdout's tail, then stderr's, then (when
    /// following) new lines of either as they appear. Followers open before the tail is
    /// read, so no line falls between the two. For a set of replicas, every replica's
    /// lines as they are read (each replica's in order), each naming its replica.
    pub async fn logs(&self, query: LogsQuery) -> Result<mpsc::Receiver<LogLine>, EngineError> {
        let members = self.supervisor.members(&query.name).await?;
        if members.len() == 1 {
            let query = LogsQuery {
                name: members[0].clone(),
                ..query
            };
            return self.logs_of(query).await;
        }
        let mut sources = Vec::with_capacity(members.len());
        for member in members {
            let query = LogsQuery {
                name: member.clone(),
                ..query.clone()
            };
            sources.push((member, self.logs_of(query).await?));
        }
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        for (member, mut source) in sources {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(mut line) = source.recv().await {
                    line.process.clone_from(&member);
                    if tx.send(line).await.is_err() {
                        return;
                    }
                }
            });
        }
        Ok(rx)
    }

    /// [`Self::logs`] of one process, by its exact name.
    async fn logs_of(&self, query: LogsQuery) -> Result<mpsc::Receiver<LogLine>, EngineError> {
        let view = self.supervisor.status(&query.name).await?;
        let stamped = view.spec.logs.timestamps;
        if query.since_ms.is_some() && !stamped {
            return Err(EngineError::Refused(format!(
                "'{}' does not timestamp its log lines, so they cannot be read since a time: \
                 start it with --timestamps (or logs = {{ timestamps = true }} in procward.toml)",
                query.name
            )));
        }
        let both = !query.stdout && !query.stderr;
        let mut streams = Vec::new();
        if query.stdout || both {
            streams.push((LogStream::Stdout, PathBuf::from(&view.stdout_log)));
        }
        if query.stderr || both {
            streams.push((LogStream::Stderr, PathBuf::from(&view.stderr_log)));
        }
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let lines = match query.lines {
            Lines::All => usize::MAX,
            Lines::Last(n) => n,
        };
        let (follow, since) = (query.follow, query.since_ms);
        tokio::spawn(async move {
            let mut followers = Vec::new();
            if follow {
                for (stream, path) in &streams {
                    if let Ok(follower) = Follower::open(path, FollowStart::End) {
                        followers.push((*stream, follower));
                    }
                }
            }
            let sender = tx.clone();
            // Streamed from the files on a blocking thread: any count, little memory.
            // Timestamped lines come interleaved by time; others stream by stream.
            let sent = tokio::task::spawn_blocking(move || match stamped {
                true => merge::send_merged(&streams, lines, since, &sender),
                false => send_tails(&streams, lines, &sender),
            });
            if !matches!(sent.await, Ok(true)) {
                return;
            }
            while follow && !tx.is_closed() {
                let mut batch = Vec::new();
                for (stream, follower) in &mut followers {
                    for line in follower.read_new().unwrap_or_default() {
                        batch.push(LogLine {
                            stream: *stream,
                            line,
                            process: String::new(),
                        });
                    }
                }
                if stamped {
                    batch = merge::by_time(batch);
                }
                for line in batch {
                    if tx.send(line).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(FOLLOW_POLL).await;
            }
        });
        Ok(rx)
    }

    /// The last `max_lines` (1 to [`MAX_LOG_LINES`]) lines of the managed process that
    /// runs, or last ran, as `pid` (stdout's, then stderr's, as text), with its name.
    pub async fn logs_of_pid(
        &self,
        pid: u32,
        max_lines: u32,
    ) -> Result<(String, Vec<(LogStream, String)>), EngineError> {
        let pid = pid_to_read(pid)?;
        if max_lines == 0 || max_lines > MAX_LOG_LINES {
            return Err(EngineError::Invalid(format!(
                "max_lines must be between 1 and {MAX_LOG_LINES} (got {max_lines})"
            )));
        }
        let current = self.managed_pids().await?;
        let name = current
            .get(&pid)
            .cloned()
            .or_else(|| self.pids.name_of(pid))
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "pid {pid} is not a process procward started, so it has no logs \
                     (StartProcess starts one; ListProcesses shows managed_name)"
                ))
            })?;
        let view = self.supervisor.status(&name).await?;
        let max_lines = max_lines as usize;
        let lines = tokio::task::spawn_blocking(move || {
            let mut lines = Vec::new();
            for (stream, path) in [
                (LogStream::Stdout, &view.stdout_log),
                (LogStream::Stderr, &view.stderr_log),
            ] {
                let tail = tail_lossy(path.as_ref(), max_lines).unwrap_or_default();
                lines.extend(tail.into_iter().map(|content| (stream, content)));
            }
            let excess = lines.len().saturating_sub(max_lines);
            lines.drain(..excess);
            lines
        })
        .await?;
        Ok((name, lines))
    }
}

/// Sends the last `lines` lines of each stream, in order; false once the receiver is gone.
pub(crate) fn send_tails(
    streams: &[(LogStream, PathBuf)],
    lines: usize,
    tx: &mpsc::Sender<LogLine>,
) -> bool {
    for (stream, path) in streams {
        let Ok(tail) = tail_lines(path, lines) else {
            continue;
        };
        for line in tail.map_while(Result::ok) {
            let line = LogLine {
                stream: *stream,
                line,
                process: String::new(),
            };
            if tx.blocking_send(line).is_err() {
                return false;
            }
        }
    }
    true
}
