//! Managed processes as people and programs read them: `--json` rows with `name` and
//! `command` at the top level (as pm2's `jlist` users expect, `spec` kept whole beside
//! them), and the words for disk conditions (dropped log output, unsaved registry).

use procward_core::supervisor::view::ManagedView;
use serde::Serialize;

/// One managed process in `list --json`, `status --json` and the actions' `--json`.
#[derive(Debug, Serialize)]
pub struct ManagedRow<'a> {
    /// Its name (also `spec.name`).
    pub name: &'a str,
    /// The command line as one string: argv joined by spaces, as `ps` shows it (the exact
    /// argv is `spec.command`).
    pub command: String,
    /// Every field of the view.
    #[serde(flatten)]
    pub view: &'a ManagedView,
}

impl<'a> From<&'a ManagedView> for ManagedRow<'a> {
    fn from(view: &'a ManagedView) -> Self {
        Self {
            name: &view.spec.name,
            command: view.spec.command.join(" "),
            view,
        }
    }
}

/// The rows of several views.
pub fn rows(views: &[ManagedView]) -> Vec<ManagedRow<'_>> {
    views.iter().map(ManagedRow::from).collect()
}

/// `status`'s line on log writes: `ok`, `12345 bytes dropped (disk full)`, or with the
/// current error while writes still fail.
pub fn log_writes(view: &ManagedView) -> String {
    match (view.log_dropped_bytes, view.log_error.as_str()) {
        (0, "") => "ok".to_owned(),
        (n, "") => format!("{n} bytes dropped (disk full)"),
        (n, error) => format!("{n} bytes dropped, failing now: {error}"),
    }
}

/// `status`'s line on limits: each with its value and how it is enforced, then the action
/// (`memory_max 64.0MiB (cgroup), pids_max 20 (poll); on breach: restart`), or `-`.
pub fn limits(view: &ManagedView) -> String {
    use procward_core::resources::{LimitKind, format_size};
    let limits = &view.spec.limits;
    if limits.is_empty() {
        return "-".to_owned();
    }
    let parts: Vec<String> = limits
        .kinds()
        .into_iter()
        .map(|kind| {
            let value = match kind {
                LimitKind::MemoryMax => limits.memory_max.map(format_size),
                LimitKind::MemoryHigh => limits.memory_high.map(format_size),
                LimitKind::CpuMax => limits.cpu_max.map(|c| format!("{c}%")),
                LimitKind::PidsMax => limits.pids_max.map(|p| p.to_string()),
            }
            .unwrap_or_default();
            let how = view
                .limits
                .iter()
                .find(|s| s.limit == kind)
                .map_or("?", |s| s.enforcement.as_str());
            format!("{} {value} ({how})", kind.field())
        })
        .collect();
    format!("{}; on breach: {}", parts.join(", "), limits.on_breach)
}

/// `status`'s line on the last limit breach: `-`, or its words and how many there were.
pub fn limit_breach(view: &ManagedView) -> String {
    match view.limit_breaches {
        0 => "-".to_owned(),
        1 => view.limit_breach.clone(),
        n => format!("{} ({n} breaches)", view.limit_breach),
    }
}

/// `status`'s line on the registry entry: `saved`, or why it is not yet.
pub fn registry(view: &ManagedView) -> String {
    match view.registry_error.as_str() {
        "" => "saved".to_owned(),
        error => format!("not saved yet: {error} (retrying)"),
    }
}

/// The `list` table's NOTE cell: disk conditions worth a look, or empty.
pub fn note(view: &ManagedView) -> String {
    let mut notes = Vec::new();
    if !view.log_error.is_empty() {
        notes.push(format!("logs failing: {}", view.log_error));
    } else if view.log_dropped_bytes > 0 {
        let dropped = super::format::bytes(view.log_dropped_bytes);
        notes.push(format!("logs: {dropped} dropped"));
    }
    if !view.registry_error.is_empty() {
        notes.push(format!("not saved: {}", view.registry_error));
    }
    notes.join("; ")
}
