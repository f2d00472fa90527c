//! Machine-wide figures: CPU, memory, disks, temperatures, load, boot time.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sysinfo::{Components, Disks, MemoryRefreshKind, System};

use crate::error::{Error, Result};

/// Machine-wide figures (field names follow the gRPC `SystemInfo`; sizes in bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// Host name.
    pub hostname: String,
    /// Operating system name and version.
    pub os: String,
    /// Kernel version.
    pub kernel: String,
    /// Logical CPUs.
    pub cpu_count: usize,
    /// CPU usage across all cores over the last sample, 0-100.
    pub cpu_percent: f32,
    /// 1, 5 and 15 minute load averages.
    pub load_average: [f64; 3],
    /// Physical memory.
    pub memory_total: u64,
    /// Memory available to new programs without swapping.
    pub memory_available: u64,
    /// Memory in use (total minus available).
    pub memory_used: u64,
    /// `memory_used` as a percentage of `memory_total`.
    pub memory_percent: f32,
    /// Swap size.
    pub swap_total: u64,
    /// Swap in use.
    pub swap_used: u64,
    /// Size of the root file system.
    pub disk_total: u64,
    /// Used space on the root file system.
    pub disk_used: u64,
    /// Space available to unprivileged users on the root file system.
    pub disk_free: u64,
    /// `disk_used` as a percentage of `disk_total`.
    pub disk_percent: f32,
    /// Every real mount (no proc, sysfs, cgroup or other pseudo file systems).
    pub disks: Vec<DiskInfo>,
    /// Sensor label → degrees Celsius; empty where the machine exposes no sensors.
    pub temperatures: BTreeMap<String, f32>,
    /// Boot time in Unix seconds.
    pub boot_time: u64,
    /// Seconds since boot.
    pub uptime_seconds: u64,
}

/// One mounted file system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskInfo {
    /// Where it is mounted.
    pub mount_point: String,
    /// Device or source name.
    pub device: String,
    /// File system type.
    pub file_system: String,
    /// Size in bytes.
    pub total: u64,
    /// Used bytes.
    pub used: u64,
    /// Bytes available to unprivileged users.
    pub free: u64,
    /// `used` as a percentage of `total`.
    pub percent: f32,
}

/// File systems that hold no user data and would only clutter a disk table.
const PSEUDO_FILE_SYSTEMS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "pstore",
    "bpf",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "autofs",
    "binfmt_misc",
    "nsfs",
    "rpc_pipefs",
    "squashfs",
    "ramfs",
];

/// Keeps one `sysinfo::System` alive so CPU usage is measured between refreshes.
pub struct SystemSampler {
    system: System,
}

impl SystemSampler {
    /// A sampler with a first CPU reading taken.
    pub fn new() -> Result<Self> {
        let mut system = System::new().map_err(sysinfo_error)?;
        system.refresh_cpu_usage();
        Ok(Self { system })
    }

    /// Waits at least sysinfo's minimum interval and returns fresh figures.
    pub fn sample(&mut self, interval: Duration) -> Result<SystemInfo> {
        std::thread::sleep(interval.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL));
        self.refresh()
    }

    /// Fresh figures, with CPU usage since the previous refresh.
    pub fn refresh(&mut self) -> Result<SystemInfo> {
        let system = &mut self.system;
        system.refresh_cpu_usage();
        system.refresh_memory_specifics(MemoryRefreshKind::everything());
        let disks = real_disks();
        let root = disks
            .iter()
            .find(|d| d.mount_point == "/")
            .cloned()
            .or_else(root_from_statvfs)
            .unwrap_or_else(|| DiskInfo::sized("/", 0, 0));
        let load = System::load_average().map_err(sysinfo_error)?;
        let (total, available) = (system.total_memory(), system.available_memory());
        let used = total.saturating_sub(available);
        Ok(SystemInfo {
            hostname: System::host_name().unwrap_or_default(),
            os: System::long_os_version().unwrap_or_default(),
            kernel: System::kernel_version().unwrap_or_default(),
            cpu_count: system.cpus().len(),
            cpu_percent: system.global_cpu_usage(),
            load_average: [load.one, load.five, load.fifteen],
            memory_total: total,
            memory_available: available,
            memory_used: used,
            memory_percent: percent(used, total),
            swap_total: system.total_swap(),
            swap_used: system.used_swap(),
            disk_total: root.total,
            disk_used: root.used,
            disk_free: root.free,
            disk_percent: root.percent,
            disks,
            temperatures: temperatures(),
            boot_time: System::boot_time().map_err(sysinfo_error)?,
            uptime_seconds: System::uptime().map_err(sysinfo_error)?,
        })
    }
}

/// CPU and memory only, per core: what a live monitor's header needs on every refresh
/// (no disks, no temperatures, so it stays cheap at one refresh a second).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Load {
    /// Each core's busy percentage since the previous refresh (0 to 100).
    pub cpus: Vec<f32>,
    /// Every core together (0 to 100).
    pub cpu_percent: f32,
    /// Memory in bytes.
    pub memory_total: u64,
    /// Memory in use (total minus available), in bytes.
    pub memory_used: u64,
    /// Swap in bytes.
    pub swap_total: u64,
    /// Swap in use, in bytes.
    pub swap_used: u64,
    /// 1, 5 and 15 minute load averages.
    pub load_average: [f64; 3],
    /// Seconds since boot.
    pub uptime_seconds: u64,
}

impl Load {
    /// Memory in use as a percentage of the total.
    pub fn memory_percent(&self) -> f32 {
        percent(self.memory_used, self.memory_total)
    }
}

impl SystemSampler {
    /// Per-core CPU since the previous refresh, and memory: [`Load`].
    pub fn load(&mut self) -> Result<Load> {
        let system = &mut self.system;
        system.refresh_cpu_usage();
        system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        let load = System::load_average().map_err(sysinfo_error)?;
        let total = system.total_memory();
        Ok(Load {
            cpus: system.cpus().iter().map(|c| c.usage()).collect(),
            cpu_percent: system.global_cpu_usage(),
            memory_total: total,
            memory_used: total.saturating_sub(system.available_memory()),
            swap_total: system.total_swap(),
            swap_used: system.used_swap(),
            load_average: [load.one, load.five, load.fifteen],
            uptime_seconds: System::uptime().map_err(sysinfo_error)?,
        })
    }
}

/// Machine-wide figures with CPU usage over sysinfo's minimum sample (200 ms on Linux).
pub fn system_info() -> Result<SystemInfo> {
    SystemSampler::new()?.sample(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL)
}

impl DiskInfo {
    fn sized(mount_point: &str, total: u64, free: u64) -> Self {
        let used = total.saturating_sub(free);
        DiskInfo {
            mount_point: mount_point.into(),
            device: String::new(),
            file_system: String::new(),
            total,
            used,
            free,
            percent: percent(used, total),
        }
    }
}

fn real_disks() -> Vec<DiskInfo> {
    let Ok(disks) = Disks::new_with_refreshed_list() else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    disks
        .iter()
        .filter(|d| d.total_space() > 0)
        .filter(|d| !PSEUDO_FILE_SYSTEMS.contains(&&*d.file_system().to_string_lossy()))
        .filter(|d| seen.insert(d.mount_point().to_path_buf()))
        .map(|d| DiskInfo {
            device: d.name().to_string_lossy().into_owned(),
            file_system: d.file_system().to_string_lossy().into_owned(),
            ..DiskInfo::sized(
                &d.mount_point().to_string_lossy(),
                d.total_space(),
                d.available_space(),
            )
        })
        .collect()
}

/// The root file system's size when sysinfo lists no disk for `/` (containers, overlays).
fn root_from_statvfs() -> Option<DiskInfo> {
    let stat = rustix::fs::statvfs("/").ok()?;
    let total = stat.f_blocks * stat.f_frsize;
    Some(DiskInfo::sized("/", total, stat.f_bavail * stat.f_frsize))
}

fn temperatures() -> BTreeMap<String, f32> {
    let Ok(components) = Components::new_with_refreshed_list() else {
        return BTreeMap::new();
    };
    components
        .iter()
        .filter_map(|c| Some((c.label().to_owned(), c.temperature()?)))
        .filter(|(_, t)| t.is_finite())
        .collect()
}

fn percent(part: u64, whole: u64) -> f32 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 100.0 / whole as f64) as f32
    }
}

fn sysinfo_error(e: sysinfo::Error) -> Error {
    Error::io(
        "cannot read system information",
        std::io::Error::other(e.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_has_one_figure_per_core() {
        let mut sampler = SystemSampler::new().unwrap();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let load = sampler.load().unwrap();
        assert!(!load.cpus.is_empty());
        assert!(load.cpus.iter().all(|c| (0.0..=100.0).contains(c)));
        assert!(load.memory_total > 0 && load.memory_used <= load.memory_total);
        assert!((0.0..=100.0).contains(&load.memory_percent()));
    }

    #[test]
    fn figures_are_consistent() {
        let info = system_info().unwrap();
        assert!(info.cpu_count >= 1);
        assert!((0.0..=100.0).contains(&info.cpu_percent));
        assert!(info.memory_total > 0 && info.memory_used <= info.memory_total);
        assert!(info.disk_total > 0 && info.disk_used <= info.disk_total);
        assert!(info.boot_time > 1_600_000_000 && info.uptime_seconds > 0);
        assert!(
            info.disks
                .iter()
                .all(|d| !PSEUDO_FILE_SYSTEMS.contains(&d.file_system.as_str()))
        );
    }
}
