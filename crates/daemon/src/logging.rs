//! The daemon's own log: tracing events written to `daemon.log`, size-rotated by the same
//! writer that captures managed processes' output.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use procward_core::logs::writer::RotatingWriter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

/// Size of one daemon log file before it rotates.
const DAEMON_LOG_BYTES: u64 = 5 * 1024 * 1024;
/// Rotated daemon log files kept.
const DAEMON_LOG_FILES: u32 = 3;

/// Shares one rotating file between tracing's writers.
#[derive(Clone)]
struct SharedLog(Arc<Mutex<RotatingWriter>>);

/// One formatted event, handed to the rotating writer whole when dropped.
struct EventBuffer {
    log: Arc<Mutex<RotatingWriter>>,
    bytes: Vec<u8>,
}

impl io::Write for EventBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        if let Ok(mut log) = self.log.lock() {
            let _ = log.write(&self.bytes);
        }
    }
}

impl<'a> MakeWriter<'a> for SharedLog {
    type Writer = EventBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer {
            log: self.0.clone(),
            bytes: Vec::with_capacity(256),
        }
    }
}

/// Sends tracing output to `path` (level from `PROCWARD_LOG`, default info), and also to
/// stderr when `to_stderr` (a foreground daemon on a terminal).
pub fn init(path: &Path, to_stderr: bool) -> io::Result<()> {
    let writer = RotatingWriter::open(path, DAEMON_LOG_BYTES, DAEMON_LOG_FILES)?;
    let filter = EnvFilter::try_from_env("PROCWARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = SharedLog(Arc::new(Mutex::new(writer)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    let result = if to_stderr {
        builder.with_writer(file.and(io::stderr)).try_init()
    } else {
        builder.with_writer(file).try_init()
    };
    // A second init (tests running several daemons in one process) keeps the first.
    let _ = result;
    Ok(())
}
