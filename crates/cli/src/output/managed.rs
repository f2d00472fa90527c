//! Managed processes as people and programs read them: `--json` rows with `name` and
//! `command` at the top level (as pm2's `jlist` users expect, `spec` kept whole beside
//! them), and the words for disk conditions (dropped log output, unsaved registry).

use procward_core::supervisor::view::ManagedView;
use procward_core::sys::Metrics;
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
    limits_of(&view.spec.limits, &view.limits)
}

/// The words of [`limits`] for any limits and how each is enforced (a job's too).
pub fn limits_of(
    limits: &procward_core::resources::ResourceLimits,
    statuses: &[procward_core::supervisor::view::LimitStatus],
) -> String {
    use procward_core::resources::{LimitKind, format_size};
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
            let how = statuses
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

/// The HEALTH column: the liveness verdict, then readiness (`healthy, ready`); `-`
/// without checks.
pub fn checks(view: &ManagedView) -> String {
    use procward_core::supervisor::view::Health;
    let readiness = match view.readiness {
        Health::None => "",
        Health::Healthy => "ready",
        Health::Starting => "not ready yet",
        Health::Unhealthy => "not ready",
    };
    let shown: Vec<&str> = [view.health.as_str(), readiness]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if shown.is_empty() {
        "-".into()
    } else {
        shown.join(", ")
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

/// `status`'s metrics lines (main process, then its tree), when measured: unreadable
/// values show as `-`.
pub fn metrics_rows(view: &ManagedView) -> Vec<(&'static str, String)> {
    metrics_rows_of(view.metrics.as_ref(), view.tree.as_ref())
}

/// The metrics lines of any measured process (a managed one or a running job) and, when
/// known, its tree.
pub fn metrics_rows_of(
    main: Option<&Metrics>,
    tree: Option<&Metrics>,
) -> Vec<(&'static str, String)> {
    let Some(main) = main else {
        return Vec::new();
    };
    let mut rows = vec![
        ("threads", main.threads.to_string()),
        ("open fds", maybe(main.open_fds)),
        ("cpu time", cpu_time(main)),
        ("disk io", disk_io(main)),
        ("syscall io", syscall_io(main)),
    ];
    if let Some(tree) = tree {
        rows.push((
            "tree",
            format!(
                "{} processes, cpu {:.1}%, memory {}, {} threads, {} fds, {}, {}",
                tree.processes,
                tree.cpu_percent,
                super::format::bytes(tree.memory_rss),
                tree.threads,
                maybe(tree.open_fds),
                cpu_time(tree),
                disk_io(tree),
            ),
        ));
    }
    rows
}

fn maybe(value: Option<u32>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn maybe_bytes(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_owned(), super::format::bytes)
}

fn cpu_time(m: &Metrics) -> String {
    format!(
        "user {}, system {}",
        super::format::millis(m.cpu_user_ms),
        super::format::millis(m.cpu_system_ms)
    )
}

fn disk_io(m: &Metrics) -> String {
    format!(
        "read {}, written {}",
        maybe_bytes(m.io_read_bytes),
        maybe_bytes(m.io_write_bytes)
    )
}

fn syscall_io(m: &Metrics) -> String {
    format!(
        "read {}, written {}",
        maybe_bytes(m.io_rchar),
        maybe_bytes(m.io_wchar)
    )
}
