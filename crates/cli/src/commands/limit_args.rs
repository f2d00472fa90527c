//! The `Limits` flags `start` and `queue add` share, parsed by core's [`LimitInputs`] so
//! every door takes the same units.

use procward_core::resources::LimitInputs;

/// `--memory-max`, `--memory-high`, `--cpu-max`, `--pids-max`, `--on-breach`,
/// `--best-effort`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Hard memory ceiling of the whole tree, e.g. 512M [default: none].
    #[arg(long, value_name = "SIZE", help_heading = "Limits")]
    pub memory_max: Option<String>,
    /// Soft memory ceiling (reclaimed above it; polled: notify only), e.g. 400M.
    #[arg(long, value_name = "SIZE", help_heading = "Limits")]
    pub memory_high: Option<String>,
    /// CPU ceiling in percent of one core, e.g. 150% [default: none].
    #[arg(long, value_name = "PERCENT", help_heading = "Limits")]
    pub cpu_max: Option<String>,
    /// Most processes and threads of the tree at once (holds a fork bomb).
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub pids_max: Option<String>,
    /// What a breach does: restart, stop or notify [default: restart].
    #[arg(long, value_name = "ACTION", help_heading = "Limits")]
    pub on_breach: Option<String>,
    /// Accept hard limits this machine can only poll (they can overshoot).
    #[arg(long, help_heading = "Limits")]
    pub best_effort: bool,
}

impl LimitArgs {
    /// The flags as core's text form of limits.
    pub fn inputs(&self) -> LimitInputs {
        LimitInputs {
            memory_max: self.memory_max.clone(),
            memory_high: self.memory_high.clone(),
            cpu_max: self.cpu_max.clone(),
            pids_max: self.pids_max.clone(),
            on_breach: self.on_breach.clone(),
            best_effort: self.best_effort,
        }
    }
}
