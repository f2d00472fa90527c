//! `Flush`: empties a managed process's logs while it runs. The live files are truncated
//! in place (the shim appends with `O_APPEND`, so its next line lands at the start of the
//! emptied file, and its writer notices the shrink before it next rotates); rotated files
//! are removed.

use std::path::Path;

use procward_core::logs::writer::rotated_path;

use crate::engine::Engine;
use crate::engine::actions::engine_outcome;
use crate::engine::audit::{Caller, Outcome, Target};
use crate::engine::error::EngineError;

/// How far past the configured count rotated files are looked for (a count lowered
/// since they were written leaves them until the next rotation).
const ROTATED_SLACK: u32 = 100;

impl Engine {
    /// Empties the logs of the managed process `name` (every replica of a set) for
    /// `caller` (recorded as `flush`); returns the bytes they held.
    pub async fn flush_logs(&self, caller: &Caller, name: &str) -> Result<u64, EngineError> {
        let result = self.flush(name).await;
        let (outcome, message) = match &result {
            Ok(bytes) => (Outcome::Ok, format!("flush done: {bytes} bytes removed")),
            Err(e) => (engine_outcome(e), e.to_string()),
        };
        self.audit
            .record(caller, "flush", Target::name(name), outcome, message);
        result
    }

    async fn flush(&self, name: &str) -> Result<u64, EngineError> {
        let mut removed = 0;
        for view in self.supervisor.status_all(name).await? {
            removed += self.flush_one_process(view).await?;
        }
        Ok(removed)
    }

    async fn flush_one_process(
        &self,
        view: procward_core::supervisor::view::ManagedView,
    ) -> Result<u64, EngineError> {
        let name = view.spec.name.clone();
        let max = view.spec.logs.max_files + ROTATED_SLACK;
        let logs = [view.stdout_log.clone(), view.stderr_log.clone()];
        tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for log in &logs {
                removed += flush_one(Path::new(log), max)?;
            }
            Ok::<u64, std::io::Error>(removed)
        })
        .await?
        .map_err(|e| EngineError::Internal(format!("cannot empty the logs of '{name}': {e}")))
    }
}

/// Truncates `live` and removes its rotated files; the bytes they held.
fn flush_one(live: &Path, max: u32) -> std::io::Result<u64> {
    let mut removed = 0;
    for k in 1..=max {
        let rotated = rotated_path(live, k);
        match std::fs::metadata(&rotated) {
            Ok(meta) => {
                std::fs::remove_file(&rotated)?;
                removed += meta.len();
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    match std::fs::OpenOptions::new().write(true).open(live) {
        Ok(file) => {
            removed += file.metadata()?.len();
            file.set_len(0)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(removed)
}
