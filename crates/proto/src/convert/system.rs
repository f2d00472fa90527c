//! Conversions for the `ProcessManagerService` and `Ports` services: OS processes,
//! system figures and ports, from core types to wire messages.

use procward_core::{PortInfo, ProcessInfo, SystemInfo};

use crate::v1;

/// An OS process as a wire message; `managed_name` names the managed process it is, if
/// any.
pub fn process_to_proto(process: &ProcessInfo, managed_name: Option<&str>) -> v1::ProcessInfo {
    v1::ProcessInfo {
        pid: process.pid,
        name: process.name.clone(),
        command: process.command.clone(),
        status: process.status.as_str().to_owned(),
        cpu_percent: process.cpu_percent,
        memory_percent: process.memory_percent,
        memory_rss: process.memory_rss,
        memory_vms: process.memory_vms,
        uptime_seconds: process.uptime_seconds,
        threads: process.threads,
        ppid: process.ppid,
        user: process.user.clone(),
        uid: process.uid,
        start_time: process.start_time,
        start_ticks: process.start_ticks,
        managed_name: managed_name.unwrap_or_default().to_owned(),
        cpu_user_ms: process.cpu_user_ms,
        cpu_system_ms: process.cpu_system_ms,
        open_fds: process.handles.open_fds,
        io_read_bytes: process.handles.io_read_bytes,
        io_write_bytes: process.handles.io_write_bytes,
        io_rchar: process.handles.io_rchar,
        io_wchar: process.handles.io_wchar,
    }
}

/// System figures as a wire message, stamped with when they were sampled.
pub fn system_to_proto(info: &SystemInfo, sampled_at_ms: u64) -> v1::SystemInfo {
    v1::SystemInfo {
        cpu_percent: info.cpu_percent,
        memory_total: info.memory_total,
        memory_available: info.memory_available,
        memory_used: info.memory_used,
        memory_percent: info.memory_percent,
        disk_total: info.disk_total,
        disk_used: info.disk_used,
        disk_free: info.disk_free,
        disk_percent: info.disk_percent,
        temperatures: info
            .temperatures
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        boot_time: info.boot_time,
        uptime_seconds: info.uptime_seconds,
        cpu_count: info.cpu_count as u32,
        load_average: info.load_average.to_vec(),
        hostname: info.hostname.clone(),
        sampled_at_ms,
    }
}

/// A listening socket as a wire message.
pub fn port_to_proto(port: &PortInfo) -> v1::PortInfo {
    v1::PortInfo {
        protocol: port.protocol.as_str().to_owned(),
        address: port.local_address.clone(),
        port: u32::from(port.port),
        processes: port
            .processes
            .iter()
            .map(|p| v1::PortHolder {
                pid: p.pid,
                name: p.name.clone(),
            })
            .collect(),
        user: port.user.clone(),
        uid: port.uid,
    }
}
