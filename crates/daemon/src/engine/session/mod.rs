//! Live sessions: a process started for streaming clients, in a pseudo-terminal when
//! interactive (pty-process) or with pipes otherwise. Its output is read in batches
//! (by size, or a few milliseconds), numbered into a bounded [`ReplayBuffer`] and
//! broadcast to every watcher. A watcher joins atomically: it gets the replay and a live
//! receiver under one lock, so nothing falls between the two. A slow watcher lags the
//! broadcast channel and skips ahead; it never slows the process or other watchers.
//!
//! This is the engine of the socket.io transport (issue 6); the transport maps its
//! events onto [`Session::spawn`], [`Session::join`], [`Session::queue_input`],
//! [`Session::resize`] and [`Session::terminate`].

pub mod input;
pub mod replay;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procward_core::Signal;
use procward_core::signal::group;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;

pub use replay::{Chunk, ReplayBuffer};

use crate::engine::reaper::OwnedChildren;

/// Largest batch of output sent as one message.
pub const BATCH_BYTES: usize = 64 * 1024;
/// Longest a batch waits for more output before it is sent.
pub const BATCH_DELAY: Duration = Duration::from_millis(4);
/// Output kept for late joiners, per session.
pub const REPLAY_BYTES: usize = 256 * 1024;
/// Batches a watcher may fall behind before it skips ahead; with [`BATCH_BYTES`] this
/// bounds what a session holds for its slowest watcher to 16 MiB.
const LAG_BATCHES: usize = 256;
/// Terminal sizes accepted.
pub const MAX_COLS: u16 = 1000;
/// See [`MAX_COLS`].
pub const MAX_ROWS: u16 = 1000;

/// What to start.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Program (looked up on PATH).
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// In a pseudo-terminal (input, resize, job control) instead of pipes.
    pub interactive: bool,
    /// Terminal width.
    pub cols: u16,
    /// Terminal height.
    pub rows: u16,
}

/// Where a session is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// `running`, `completed` (exit 0) or `failed`.
    pub state: &'static str,
    /// Exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Signal number, when a signal ended it.
    pub signal: Option<i32>,
}

/// What watchers receive.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// A batch of output.
    Output(Chunk),
    /// A change of state (the last one is the exit).
    Status(SessionStatus),
}

/// Why a session could not start or take input.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// Starting the process failed.
    #[error("cannot start '{command}': {source}")]
    Spawn {
        /// The program.
        command: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The session has ended.
    #[error("the session has ended")]
    Ended,
    /// Writing or resizing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

struct Shared {
    replay: ReplayBuffer,
    status: SessionStatus,
}

/// The input side: a PTY (which can also be resized) or a pipe.
enum Input {
    Pty(pty_process::OwnedWritePty),
    Pipe(tokio::process::ChildStdin),
}

/// A running (or finished) session; shared by its watchers.
pub struct Session {
    /// The process (leader of its own process group).
    pub pid: u32,
    /// Whether it runs in a pseudo-terminal.
    pub interactive: bool,
    shared: Mutex<Shared>,
    events: broadcast::Sender<Arc<SessionEvent>>,
    input: tokio::sync::Mutex<Option<Input>>,
    queue: input::InputQueue,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("pid", &self.pid)
            .field("interactive", &self.interactive)
            .finish_non_exhaustive()
    }
}

/// What a joining watcher gets: the replay, whether older output was already dropped, the
/// current status, and the live stream from right after the replay.
pub struct Joined {
    /// Output still held, oldest first.
    pub replay: Vec<Chunk>,
    /// Whether older output was dropped.
    pub missed: bool,
    /// The session's state now.
    pub status: SessionStatus,
    /// Everything after the replay.
    pub live: broadcast::Receiver<Arc<SessionEvent>>,
}

/// pty-process's error as an I/O error.
fn pty_io(e: pty_process::Error) -> std::io::Error {
    match e {
        pty_process::Error::Io(e) => e,
        pty_process::Error::Rustix(errno) => errno.into(),
        other => std::io::Error::other(other.to_string()),
    }
}

fn check_size(cols: u16, rows: u16) -> Result<(), SessionError> {
    if cols == 0 || rows == 0 || cols > MAX_COLS || rows > MAX_ROWS {
        return Err(SessionError::Invalid(format!(
            "terminal size must be 1-{MAX_COLS} columns and 1-{MAX_ROWS} rows (got {cols}x{rows})"
        )));
    }
    Ok(())
}

impl Session {
    /// Starts the process and its output pumps. It is registered with `owned` so the
    /// daemon's reaper leaves its exit status to the session.
    pub fn spawn(spec: SessionSpec, owned: &OwnedChildren) -> Result<Arc<Self>, SessionError> {
        if spec.command.trim().is_empty() {
            return Err(SessionError::Invalid("command is empty".into()));
        }
        let spawn_error = |source| SessionError::Spawn {
            command: spec.command.clone(),
            source,
        };
        let (child, input, readers): (
            _,
            _,
            Vec<(&'static str, Box<dyn AsyncRead + Send + Unpin>)>,
        ) = if spec.interactive {
            check_size(spec.cols, spec.rows)?;
            let (pty, pts) = pty_process::open().map_err(|e| spawn_error(pty_io(e)))?;
            pty.resize(pty_process::Size::new(spec.rows, spec.cols))
                .map_err(|e| spawn_error(pty_io(e)))?;
            let mut command = pty_process::Command::new(&spec.command)
                .args(&spec.args)
                .envs(&spec.env)
                .env("TERM", "xterm-256color");
            if let Some(cwd) = &spec.cwd {
                command = command.current_dir(cwd);
            }
            let child = owned
                .spawn(|| {
                    let child = command.spawn(pts).map_err(pty_io)?;
                    let pid = child.id().unwrap_or_default();
                    Ok((child, pid))
                })
                .map_err(spawn_error)?;
            let (read, write) = pty.into_split();
            (
                child,
                Input::Pty(write),
                vec![("stdout", Box::new(read) as _)],
            )
        } else {
            let mut command = tokio::process::Command::new(&spec.command);
            command
                .args(&spec.args)
                .envs(&spec.env)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .process_group(0);
            if let Some(cwd) = &spec.cwd {
                command.current_dir(cwd);
            }
            let mut child = owned
                .spawn(|| {
                    let child = command.spawn()?;
                    let pid = child.id().unwrap_or_default();
                    Ok((child, pid))
                })
                .map_err(spawn_error)?;
            let stdin = child.stdin.take().expect("piped");
            let stdout = child.stdout.take().expect("piped");
            let stderr = child.stderr.take().expect("piped");
            let readers: Vec<(&'static str, Box<dyn AsyncRead + Send + Unpin>)> =
                vec![("stdout", Box::new(stdout)), ("stderr", Box::new(stderr))];
            (child, Input::Pipe(stdin), readers)
        };
        let pid = child.id().unwrap_or_default();
        let (events, _) = broadcast::channel(LAG_BATCHES);
        let (queue, pending) = input::queue();
        let session = Arc::new(Self {
            pid,
            interactive: spec.interactive,
            shared: Mutex::new(Shared {
                replay: ReplayBuffer::new(REPLAY_BYTES),
                status: SessionStatus {
                    state: "running",
                    exit_code: None,
                    signal: None,
                },
            }),
            events,
            input: tokio::sync::Mutex::new(Some(input)),
            queue,
        });
        tokio::spawn(input::write_in_order(Arc::downgrade(&session), pending));
        let pumps: Vec<_> = readers
            .into_iter()
            .map(|(stream, reader)| tokio::spawn(pump(session.clone(), stream, reader)))
            .collect();
        tokio::spawn(wait(session.clone(), child, pumps, owned.clone()));
        Ok(session)
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The replay and a live receiver, taken together so no output is lost or repeated.
    pub fn join(&self) -> Joined {
        let shared = self.shared();
        let (replay, missed) = shared.replay.snapshot();
        Joined {
            replay,
            missed,
            status: shared.status.clone(),
            live: self.events.subscribe(),
        }
    }

    /// The session's state now.
    pub fn status(&self) -> SessionStatus {
        self.shared().status.clone()
    }

    /// Queues input (keystrokes for a terminal, stdin for pipes) to be written after
    /// everything queued before it: what a transport calls as each input arrives.
    pub fn queue_input(&self, bytes: Vec<u8>) -> Result<(), SessionError> {
        if self.status().state != "running" {
            return Err(SessionError::Ended);
        }
        self.queue.push(bytes)
    }

    /// Writes input now (keystrokes for a terminal, stdin for pipes).
    pub async fn write(&self, bytes: &[u8]) -> Result<(), SessionError> {
        let mut input = self.input.lock().await;
        match input.as_mut() {
            Some(Input::Pty(pty)) => pty.write_all(bytes).await?,
            Some(Input::Pipe(pipe)) => pipe.write_all(bytes).await?,
            None => return Err(SessionError::Ended),
        }
        Ok(())
    }

    /// Changes the terminal size (the process gets SIGWINCH).
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), SessionError> {
        check_size(cols, rows)?;
        match self.input.lock().await.as_ref() {
            Some(Input::Pty(pty)) => pty
                .resize(pty_process::Size::new(rows, cols))
                .map_err(|e| SessionError::Io(pty_io(e))),
            Some(Input::Pipe(_)) => Err(SessionError::Invalid(
                "this session has no terminal to resize (it was not started interactive)".into(),
            )),
            None => Err(SessionError::Ended),
        }
    }

    /// SIGTERM to the session's process group, SIGKILL two seconds later if it lives.
    pub fn terminate(self: &Arc<Self>) {
        if self.status().state != "running" {
            return;
        }
        // Still running means not reaped yet: the group id cannot have been reused.
        group::signal_child_group(self.pid, Signal::TERM);
        let session = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if session.status().state == "running" {
                group::signal_child_group(session.pid, Signal::KILL);
            }
        });
    }

    fn publish(&self, stream: &'static str, bytes: Vec<u8>) {
        let mut shared = self.shared();
        let chunk = shared.replay.push(stream, bytes.into());
        // Sent under the lock, so a joiner sees each chunk once: in its replay or live.
        let _ = self.events.send(Arc::new(SessionEvent::Output(chunk)));
    }
}

/// Reads one stream in batches until EOF (for a PTY, EIO after the process exits).
async fn pump(
    session: Arc<Session>,
    stream: &'static str,
    mut reader: Box<dyn AsyncRead + Send + Unpin>,
) {
    let mut buffer = vec![0u8; BATCH_BYTES];
    loop {
        let mut filled = match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Coalesce what follows within BATCH_DELAY, up to BATCH_BYTES.
        let deadline = tokio::time::Instant::now() + BATCH_DELAY;
        let mut ended = false;
        while filled < BATCH_BYTES {
            match tokio::time::timeout_at(deadline, reader.read(&mut buffer[filled..])).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    ended = true;
                    break;
                }
                Ok(Ok(n)) => filled += n,
                Err(_) => break,
            }
        }
        session.publish(stream, buffer[..filled].to_vec());
        if ended {
            return;
        }
    }
}

/// Waits for the exit and for the pumps to drain, then publishes the final status.
async fn wait(
    session: Arc<Session>,
    mut child: tokio::process::Child,
    pumps: Vec<tokio::task::JoinHandle<()>>,
    owned: OwnedChildren,
) {
    use std::os::unix::process::ExitStatusExt;
    let status = child.wait().await;
    owned.remove(session.pid);
    for pump in pumps {
        let _ = pump.await;
    }
    *session.input.lock().await = None;
    let final_status = match status {
        Ok(s) => SessionStatus {
            state: if s.success() { "completed" } else { "failed" },
            exit_code: s.code(),
            signal: s.signal(),
        },
        Err(_) => SessionStatus {
            state: "failed",
            exit_code: None,
            signal: None,
        },
    };
    let mut shared = session.shared();
    shared.status = final_status.clone();
    let _ = session
        .events
        .send(Arc::new(SessionEvent::Status(final_status)));
}

#[cfg(test)]
mod tests;
