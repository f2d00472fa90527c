//! The poll enforcer: about once a second, the tree of every running managed process with
//! a limit no cgroup enforces is measured ([`measure_trees`]) and a breach applied through
//! the supervisor (restart, stop, or notify), the same way whichever limit it was.
//!
//! Polling overshoots by what a process allocates between two readings; that is why a
//! hard limit enforced this way needs `best_effort`. CPU is judged over three readings in a
//! row, so a start-up burst is not a breach.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use procward_core::resources::tree::{TreeUsage, measure_trees};
use procward_core::resources::{BreachAction, Enforcement, LimitKind, ResourceLimits, format_size};
use procward_core::supervisor::state::State;
use procward_core::supervisor::view::ManagedView;

use super::Limits;
use crate::engine::supervisor::Supervisor;

/// How often trees are measured.
pub const PERIOD: Duration = Duration::from_secs(1);
/// Readings in a row over `cpu_max` that make a breach.
const CPU_READINGS: u32 = 3;

/// A limit a tree went over, in words for the status and the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    /// Which limit.
    pub limit: LimitKind,
    /// e.g. `memory_max 64.0MiB: the tree used 70.2MiB`.
    pub note: String,
}

/// What the enforcer remembers between readings, per process run (its pid).
#[derive(Debug, Default)]
struct Track {
    cpu: Option<(Instant, u64)>,
    cpu_over: u32,
    /// Notify-only breaches already reported for this run (not repeated every second).
    reported: HashSet<LimitKind>,
}

/// Starts the enforcer on the current runtime; it runs until the supervisor shuts down.
pub fn spawn(supervisor: Supervisor, limits: Limits) {
    tokio::spawn(async move {
        let mut tracks: HashMap<(String, u32), Track> = HashMap::new();
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Cheap when nothing is polled: the specs only, no /proc reads.
            let Ok(specs) = supervisor.specs().await else {
                return;
            };
            if !specs.iter().any(|s| has_polled(&s.limits, &limits)) {
                tracks.clear();
                continue;
            }
            // One listing for all (one status each costs far more with many processes).
            let Ok(views) = supervisor.list().await else {
                return;
            };
            let watched: Vec<&ManagedView> = views.iter().filter(|v| polled(v, &limits)).collect();
            tracks.retain(|(name, pid), _| {
                watched
                    .iter()
                    .any(|v| v.spec.name == *name && v.pid == Some(*pid))
            });
            if watched.is_empty() {
                continue;
            }
            let roots: Vec<u32> = watched.iter().filter_map(|v| v.pid).collect();
            let usage = tokio::task::spawn_blocking(move || measure_trees(&roots))
                .await
                .unwrap_or_default();
            for view in watched {
                let Some(pid) = view.pid else { continue };
                let Some(tree) = usage.get(&pid) else {
                    continue;
                };
                let track = tracks.entry((view.spec.name.clone(), pid)).or_default();
                let Some(breach) = judge(&view.spec.limits, &limits, tree, track) else {
                    continue;
                };
                let mut action = view.spec.limits.on_breach;
                if breach.limit == LimitKind::MemoryHigh {
                    // A soft limit only notifies when it is polled.
                    action = BreachAction::Notify;
                }
                if action == BreachAction::Notify && !track.reported.insert(breach.limit) {
                    continue;
                }
                tracing::warn!(name = %view.spec.name, note = %breach.note, %action, "limit breached");
                let applied = supervisor
                    .breach(&view.spec.name, &breach.note, action)
                    .await;
                if let Err(e) = &applied {
                    tracing::error!(name = %view.spec.name, error = %e, "cannot apply a limit breach");
                }
                limits.record_breach(&view.spec.name, &breach.note, action, applied.is_ok());
            }
        }
    });
}

/// Whether `spec` has a limit that is polled here.
fn has_polled(spec: &ResourceLimits, limits: &Limits) -> bool {
    spec.kinds()
        .into_iter()
        .any(|k| limits.enforcement(k) == Enforcement::Poll)
}

/// Whether `view` runs with a limit that is polled here.
fn polled(view: &ManagedView, limits: &Limits) -> bool {
    view.pid.is_some()
        && matches!(view.state, State::Running | State::Starting)
        && has_polled(&view.spec.limits, limits)
}

/// The first polled limit `tree` is over, if any (memory, then processes, then CPU).
fn judge(
    spec: &ResourceLimits,
    limits: &Limits,
    tree: &TreeUsage,
    track: &mut Track,
) -> Option<Breach> {
    let polled = |kind| limits.enforcement(kind) == Enforcement::Poll;
    let cpu = cpu_percent(track, tree.cpu_ticks);
    if let Some(max) = spec.cpu_max.filter(|_| polled(LimitKind::CpuMax)) {
        track.cpu_over = match cpu {
            Some(p) if p > f64::from(max) => track.cpu_over + 1,
            Some(_) => 0,
            None => track.cpu_over,
        };
    }
    let memory = |kind, max: Option<u64>| {
        let max = max.filter(|_| polled(kind))?;
        (tree.rss > max).then(|| Breach {
            limit: kind,
            note: format!(
                "{} {}: the tree used {}",
                kind.field(),
                format_size(max),
                format_size(tree.rss)
            ),
        })
    };
    if let Some(breach) = memory(LimitKind::MemoryMax, spec.memory_max) {
        return Some(breach);
    }
    if let Some(max) = spec.pids_max.filter(|_| polled(LimitKind::PidsMax))
        && tree.tasks > max
    {
        return Some(Breach {
            limit: LimitKind::PidsMax,
            note: format!("pids_max {max}: the tree had {} tasks", tree.tasks),
        });
    }
    if let Some(max) = spec.cpu_max.filter(|_| polled(LimitKind::CpuMax))
        && track.cpu_over >= CPU_READINGS
    {
        track.cpu_over = 0;
        return Some(Breach {
            limit: LimitKind::CpuMax,
            note: format!(
                "cpu_max {max}%: the tree used {:.0}% for {CPU_READINGS} s",
                cpu.unwrap_or_default()
            ),
        });
    }
    memory(LimitKind::MemoryHigh, spec.memory_high)
}

/// The tree's CPU use since the previous reading, in percent of one core.
fn cpu_percent(track: &mut Track, ticks: u64) -> Option<f64> {
    let now = Instant::now();
    let previous = track.cpu.replace((now, ticks));
    let (then, before) = previous?;
    let seconds = now.duration_since(then).as_secs_f64();
    if seconds <= 0.0 {
        return None;
    }
    let hz = procfs::ticks_per_second().max(1) as f64;
    Some(ticks.saturating_sub(before) as f64 / hz / seconds * 100.0)
}
