//! Shared, demand-driven samples of the machine: one timer per kind of sample (the OS
//! process table, the system figures), however many clients read them. See [`hub`].

pub mod hub;

use std::time::Duration;

use procward_core::sys::system::SystemSampler;
use procward_core::{ProcessInfo, ProcessSampler, SystemInfo};

pub use hub::{Hub, Sample, SamplingError, Source, Timing};

/// Both hubs sample every second while used, and park 30 s after the last read.
const TIMING: Timing = Timing {
    period: Duration::from_secs(1),
    idle_after: Duration::from_secs(30),
};

/// The OS process table as a [`Source`].
#[derive(Debug, Default)]
pub struct ProcessTable(ProcessSampler);

impl Source for ProcessTable {
    type Output = Vec<ProcessInfo>;
    fn baseline(&mut self) -> procward_core::Result<()> {
        self.0.refresh().map(drop)
    }
    fn read(&mut self) -> procward_core::Result<Vec<ProcessInfo>> {
        self.0.refresh()
    }
}

/// The system figures as a [`Source`]. The sampler (whose first reading walks
/// `/proc/stat` and `/proc/cpuinfo`) is made on first demand, not at daemon start: a
/// daemon nobody asks for system figures never pays for it, and starts faster.
#[derive(Default)]
pub struct SystemFigures(Option<SystemSampler>);

impl SystemFigures {
    fn sampler(&mut self) -> procward_core::Result<&mut SystemSampler> {
        match &mut self.0 {
            Some(sampler) => Ok(sampler),
            empty => Ok(empty.insert(SystemSampler::new()?)),
        }
    }
}

impl Source for SystemFigures {
    type Output = SystemInfo;
    fn baseline(&mut self) -> procward_core::Result<()> {
        self.sampler()?.refresh().map(drop)
    }
    fn read(&mut self) -> procward_core::Result<SystemInfo> {
        self.sampler()?.refresh()
    }
}

/// The daemon's two hubs.
#[derive(Debug, Clone)]
pub struct Sampling {
    /// Every OS process, refreshed every second while in demand.
    pub processes: Hub<Vec<ProcessInfo>>,
    /// System figures, refreshed every second (or faster, for monitors) while in demand.
    pub system: Hub<SystemInfo>,
}

impl Sampling {
    /// Starts both hubs (parked until first used).
    pub fn spawn() -> Self {
        Self {
            processes: Hub::spawn("process", ProcessTable::default(), TIMING),
            system: Hub::spawn("system", SystemFigures::default(), TIMING),
        }
    }
}
