//! Conversions of resource limits: `ResourceLimits` in specs and `LimitStatus` in views.
//! Ranges are checked by the daemon (`ProcessSpec::validate`), once for every interface.

use procward_core::resources::{BreachAction, Enforcement, LimitKind, ResourceLimits};
use procward_core::supervisor::view::LimitStatus;

use crate::v1;

/// Core limits as a wire message; `None` when nothing is set, so specs without limits
/// look as they did before limits existed.
pub fn limits_to_proto(limits: &ResourceLimits) -> Option<v1::ResourceLimits> {
    (!limits.is_unset()).then(|| v1::ResourceLimits {
        memory_max: limits.memory_max,
        memory_high: limits.memory_high,
        cpu_max_percent: limits.cpu_max,
        pids_max: limits.pids_max,
        on_breach: match limits.on_breach {
            BreachAction::Restart => v1::BreachAction::Restart,
            BreachAction::Stop => v1::BreachAction::Stop,
            BreachAction::Notify => v1::BreachAction::Notify,
        }
        .into(),
        best_effort: limits.best_effort,
    })
}

/// A wire message as core limits; an unknown `on_breach` number is an error naming it.
pub fn limits_from_proto(limits: Option<v1::ResourceLimits>) -> Result<ResourceLimits, String> {
    let Some(limits) = limits else {
        return Ok(ResourceLimits::default());
    };
    let on_breach = match v1::BreachAction::try_from(limits.on_breach) {
        Ok(v1::BreachAction::Unspecified | v1::BreachAction::Restart) => BreachAction::Restart,
        Ok(v1::BreachAction::Stop) => BreachAction::Stop,
        Ok(v1::BreachAction::Notify) => BreachAction::Notify,
        Err(_) => return Err(format!("on_breach: unknown action {}", limits.on_breach)),
    };
    Ok(ResourceLimits {
        memory_max: limits.memory_max,
        memory_high: limits.memory_high,
        cpu_max: limits.cpu_max_percent,
        pids_max: limits.pids_max,
        on_breach,
        best_effort: limits.best_effort,
    })
}

/// How each limit is enforced, as wire messages.
pub fn statuses_to_proto(statuses: &[LimitStatus]) -> Vec<v1::LimitStatus> {
    statuses
        .iter()
        .map(|s| v1::LimitStatus {
            limit: s.limit.field().to_owned(),
            enforcement: match s.enforcement {
                Enforcement::Cgroup => v1::Enforcement::Cgroup,
                Enforcement::Poll => v1::Enforcement::Poll,
            }
            .into(),
        })
        .collect()
}

/// Wire limit statuses as core ones; entries this build does not know are skipped (a
/// newer daemon may enforce more kinds of limits).
pub fn statuses_from_proto(statuses: Vec<v1::LimitStatus>) -> Vec<LimitStatus> {
    statuses
        .into_iter()
        .filter_map(|s| {
            let limit = match s.limit.as_str() {
                "memory_max" => LimitKind::MemoryMax,
                "memory_high" => LimitKind::MemoryHigh,
                "cpu_max" => LimitKind::CpuMax,
                "pids_max" => LimitKind::PidsMax,
                _ => return None,
            };
            let enforcement = match v1::Enforcement::try_from(s.enforcement) {
                Ok(v1::Enforcement::Cgroup) => Enforcement::Cgroup,
                Ok(v1::Enforcement::Poll) => Enforcement::Poll,
                _ => return None,
            };
            Some(LimitStatus { limit, enforcement })
        })
        .collect()
}

impl v1::BreachAction {
    /// `restart`, `stop` or `notify` (UNSPECIFIED is the default, `restart`).
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Unspecified | Self::Restart => "restart",
            Self::Stop => "stop",
            Self::Notify => "notify",
        }
    }
}

impl v1::Enforcement {
    /// `cgroup` or `poll` (`unspecified` for the value the daemon never sends).
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Cgroup => "cgroup",
            Self::Poll => "poll",
            Self::Unspecified => "unspecified",
        }
    }
}
