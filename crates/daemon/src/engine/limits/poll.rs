//! The poll enforcer: about once a second, the tree of every running managed process and
//! job attempt with a limit no cgroup enforces is measured ([`measure_trees`]) and a
//! breach applied through the supervisor or the queue (restart, stop, or notify), the
//! same way whichever limit it was.
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
use crate::engine::queue::Queue;
use crate::engine::queue::limits::JobBreach;
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

/// Whose tree is measured: a managed process or a job's running attempt.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owner {
    Managed(String),
    Job { id: u64, attempt: u32 },
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::Managed(name) => f.write_str(name),
            Owner::Job { id, .. } => write!(f, "job {id}"),
        }
    }
}

/// One tree to measure this round.
struct Watched {
    owner: Owner,
    pid: u32,
    limits: ResourceLimits,
}

/// Starts the enforcer on the current runtime; it runs until the supervisor shuts down.
pub fn spawn(supervisor: Supervisor, queue: Queue, limits: Limits) {
    tokio::spawn(async move {
        let mut tracks: HashMap<(Owner, u32), Track> = HashMap::new();
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(watched) = watched(&supervisor, &queue, &limits).await else {
                return;
            };
            tracks.retain(|(owner, pid), _| {
                watched.iter().any(|w| w.owner == *owner && w.pid == *pid)
            });
            if watched.is_empty() {
                continue;
            }
            let roots: Vec<u32> = watched.iter().map(|w| w.pid).collect();
            let usage = tokio::task::spawn_blocking(move || measure_trees(&roots))
                .await
                .unwrap_or_default();
            for w in watched {
                let Some(tree) = usage.get(&w.pid) else {
                    continue;
                };
                let track = tracks.entry((w.owner.clone(), w.pid)).or_default();
                let Some(breach) = judge(&w.limits, &limits, tree, track) else {
                    continue;
                };
                let mut action = w.limits.on_breach;
                if breach.limit == LimitKind::MemoryHigh {
                    // A soft limit only notifies when it is polled.
                    action = BreachAction::Notify;
                }
                if action == BreachAction::Notify && !track.reported.insert(breach.limit) {
                    continue;
                }
                tracing::warn!(owner = %w.owner, note = %breach.note, %action, "limit breached");
                apply(&supervisor, &queue, &limits, &w.owner, breach, action).await;
            }
        }
    });
}

/// The trees with a polled limit this round: cheap when nothing is polled (the specs and
/// the queue's running attempts, no /proc reads). `None` once the supervisor has stopped.
async fn watched(supervisor: &Supervisor, queue: &Queue, limits: &Limits) -> Option<Vec<Watched>> {
    let specs = supervisor.specs().await.ok()?;
    let mut watched = Vec::new();
    if specs.iter().any(|s| has_polled(&s.limits, limits)) {
        // One listing for all (one status each costs far more with many processes).
        let views = supervisor.list().await.ok()?;
        watched.extend(views.iter().filter(|v| polled(v, limits)).map(|v| Watched {
            owner: Owner::Managed(v.spec.name.clone()),
            pid: v.pid.unwrap_or_default(),
            limits: v.spec.limits.clone(),
        }));
    }
    let jobs = queue.polled().await.unwrap_or_default();
    watched.extend(jobs.into_iter().map(|j| Watched {
        owner: Owner::Job {
            id: j.id,
            attempt: j.attempt,
        },
        pid: j.pid,
        limits: j.limits,
    }));
    Some(watched)
}

/// Applies a breach through whoever owns the tree, and records it in the audit log.
async fn apply(
    supervisor: &Supervisor,
    queue: &Queue,
    limits: &Limits,
    owner: &Owner,
    breach: Breach,
    action: BreachAction,
) {
    match owner {
        Owner::Managed(name) => {
            let applied = supervisor.breach(name, &breach.note, action).await;
            if let Err(e) = &applied {
                tracing::error!(%name, error = %e, "cannot apply a limit breach");
            }
            limits.record_breach(name, &breach.note, action, applied.is_ok());
        }
        // The queue records its own breaches (it also finds OOM kills in its units).
        Owner::Job { id, attempt } => {
            let breach = JobBreach {
                id: *id,
                attempt: *attempt,
                limit: breach.limit,
                note: breach.note,
                action,
            };
            if let Err(e) = queue.breach(breach).await {
                tracing::debug!(id, error = %e, "job breach not applied");
            }
        }
    }
}

/// Whether `spec` has a limit that is polled here.
pub(crate) fn has_polled(spec: &ResourceLimits, limits: &Limits) -> bool {
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
