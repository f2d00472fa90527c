//! `audit_log`: the daemon's audit log, read-only (listed in read-only mode too).

use std::time::{SystemTime, UNIX_EPOCH};

use procward_proto::client::Backend;
use procward_proto::v1;
use serde_json::{Value, json};

use super::{Answer, Outcome, ToolError};
use crate::args::AuditArgs;

/// Entries shown when no limit is given, and the most ever shown.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

pub async fn list(mut b: Backend, args: AuditArgs) -> Outcome {
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ToolError(format!(
            "limit must be between 1 and {MAX_LIMIT} (got {limit})"
        )));
    }
    let since_unix_ms = match args.since_minutes {
        Some(minutes) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default();
            now.saturating_sub(minutes.saturating_mul(60_000))
        }
        None => 0,
    };
    let answer = b
        .supervisor
        .audit_log(v1::AuditLogRequest {
            since_unix_ms,
            limit,
        })
        .await
        .map_err(|s| ToolError::status(&s, ""))?
        .into_inner();
    let entries: Vec<Value> = answer
        .entries_json
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let mut summary = format!("{} audit entries, oldest first", entries.len());
    for e in &entries {
        summary.push_str(&format!(
            "\n{} {} {} {} {} -> {}",
            e["time"].as_str().unwrap_or_default(),
            e["interface"].as_str().unwrap_or_default(),
            e["caller"].as_str().unwrap_or_default(),
            e["action"].as_str().unwrap_or_default(),
            e["target"],
            e["result"].as_str().unwrap_or_default(),
        ));
    }
    Ok(Answer {
        summary,
        data: json!({
            "entries": entries,
            "unreadable": answer.unreadable,
            "write_failures": answer.write_failures,
        }),
    })
}
