//! Tools for the whole machine: OS processes, system figures, ports, and kills.

use std::os::unix::fs::MetadataExt;

use procward_proto::v1;
use serde_json::{Value, json};

use super::{Answer, Outcome, ToolError};
use crate::args::{KillArgs, ListSystemArgs, NoArgs, PidArgs, PortsArgs};
use crate::policy::{KillScope, Policy};
use crate::summary::{bytes, clip};
use procward_proto::client::Backend;

/// Default and most rows of `list_system_processes`.
const DEFAULT_LIMIT: u32 = 25;
const MAX_LIMIT: u32 = 500;
/// Longest command line shown per process.
const COMMAND_CHARS: usize = 80;

/// A pid an assistant may name: refuses 0, 1, negatives and values `kill(2)` would
/// turn negative, with the reason.
fn checked_pid(pid: i64) -> Result<u32, ToolError> {
    let why = match pid {
        ..0 => "negative pids address process groups (-1 means every process)",
        0 => "pid 0 means the caller's whole process group",
        1 => "pid 1 is init; signalling it can take the machine down",
        p if p > i64::from(i32::MAX) => {
            "values above 2147483647 wrap to negative in kill(2) (4294967295 becomes -1)"
        }
        p => return Ok(p as u32),
    };
    Err(ToolError(format!(
        "refused pid {pid}: {why}. Nothing was signalled"
    )))
}

fn process(p: &v1::ProcessInfo) -> Value {
    let mut value = json!({
        "pid": p.pid,
        "name": p.name,
        "user": p.user,
        "cpu_percent": crate::summary::tenths(p.cpu_percent),
        "memory_rss": p.memory_rss,
        "start_time": p.start_time,
        "start_ticks": p.start_ticks,
        "command": clip(&p.command, COMMAND_CHARS),
    });
    if !p.managed_name.is_empty() {
        value["managed_name"] = json!(p.managed_name);
    }
    value
}

pub async fn list(mut b: Backend, args: ListSystemArgs) -> Outcome {
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ToolError(format!(
            "limit must be between 1 and {MAX_LIMIT} (got {limit}); filter by name or user to see fewer"
        )));
    }
    let sort = args.sort.clone().unwrap_or_else(|| "cpu".into());
    let request = v1::ListProcessesRequest {
        name: args.name,
        user: args.user,
        sort: Some(sort.clone()),
        limit: Some(limit),
    };
    let answer = b
        .manager
        .list_processes(request)
        .await
        .map_err(|s| ToolError::status(&s, "sort must be cpu, mem, pid, name or uptime"))?
        .into_inner();
    let shown = answer.processes.len();
    let more = (answer.total as usize).saturating_sub(shown);
    let top: Vec<String> = answer
        .processes
        .iter()
        .take(5)
        .map(|p| {
            format!(
                "{} {} {:.1}% {}",
                p.pid,
                p.name,
                p.cpu_percent,
                bytes(p.memory_rss)
            )
        })
        .collect();
    let mut summary = format!("{shown} of {} processes by {sort}", answer.total);
    if more > 0 {
        summary.push_str(&format!(
            " ({more} more: raise limit, or filter by name or user)"
        ));
    }
    if !top.is_empty() {
        summary.push_str(&format!(". First: {}", top.join("; ")));
    }
    Ok(Answer {
        summary,
        data: json!({
            "processes": answer.processes.iter().map(process).collect::<Vec<_>>(),
            "total": answer.total,
            "more": more,
        }),
    })
}

pub async fn info(mut b: Backend, args: PidArgs) -> Outcome {
    if args.pid <= 0 || args.pid > i64::from(i32::MAX) {
        return Err(ToolError(format!(
            "pid must be between 1 and 2147483647 (got {})",
            args.pid
        )));
    }
    let p = b
        .manager
        .get_process_info(v1::GetProcessInfoRequest {
            pid: args.pid as u32,
        })
        .await
        .map_err(|s| ToolError::status(&s, "list_system_processes shows the running pids"))?
        .into_inner();
    let mut data = process(&p);
    data["command"] = json!(p.command);
    data["ppid"] = json!(p.ppid);
    data["status"] = json!(p.status);
    data["threads"] = json!(p.threads);
    data["memory_percent"] = json!(crate::summary::tenths(p.memory_percent));
    data["memory_vms"] = json!(p.memory_vms);
    data["uptime_seconds"] = json!(p.uptime_seconds);
    // Null when the kernel refuses them (another user's process), never 0.
    data["open_fds"] = json!(p.open_fds);
    data["io_read_bytes"] = json!(p.io_read_bytes);
    data["io_write_bytes"] = json!(p.io_write_bytes);
    data["io_rchar"] = json!(p.io_rchar);
    data["io_wchar"] = json!(p.io_wchar);
    data["cpu_user_ms"] = json!(p.cpu_user_ms);
    data["cpu_system_ms"] = json!(p.cpu_system_ms);
    let managed = if p.managed_name.is_empty() {
        String::new()
    } else {
        format!(", managed as '{}'", p.managed_name)
    };
    Ok(Answer {
        summary: format!(
            "pid {} {} ({}), user {}, {:.1}% CPU, {}, up {}s{managed}: {}",
            p.pid,
            p.name,
            p.status,
            p.user,
            p.cpu_percent,
            bytes(p.memory_rss),
            p.uptime_seconds,
            clip(&p.command, COMMAND_CHARS)
        ),
        data,
    })
}

pub async fn machine(mut b: Backend, _: NoArgs) -> Outcome {
    let s = b
        .manager
        .get_system_info(v1::GetSystemInfoRequest {})
        .await
        .map_err(|s| ToolError::status(&s, ""))?
        .into_inner();
    Ok(Answer {
        summary: format!(
            "{}: CPU {:.1}% of {} cores, load {:?}, memory {} of {} used ({:.1}%), disk / {} of {} used ({:.1}%), up {}s",
            s.hostname,
            s.cpu_percent,
            s.cpu_count,
            s.load_average,
            bytes(s.memory_used),
            bytes(s.memory_total),
            s.memory_percent,
            bytes(s.disk_used),
            bytes(s.disk_total),
            s.disk_percent,
            s.uptime_seconds
        ),
        data: json!({
            "hostname": s.hostname, "cpu_percent": s.cpu_percent, "cpu_count": s.cpu_count,
            "load_average": s.load_average, "memory_total": s.memory_total,
            "memory_available": s.memory_available, "memory_used": s.memory_used,
            "memory_percent": s.memory_percent, "disk_total": s.disk_total,
            "disk_used": s.disk_used, "disk_free": s.disk_free, "disk_percent": s.disk_percent,
            "temperatures": s.temperatures, "boot_time": s.boot_time,
            "uptime_seconds": s.uptime_seconds,
        }),
    })
}

fn port_number(port: i64) -> Result<u32, ToolError> {
    if (1..=65535).contains(&port) {
        Ok(port as u32)
    } else {
        Err(ToolError(format!(
            "port must be between 1 and 65535 (got {port})"
        )))
    }
}

pub async fn ports(mut b: Backend, args: PortsArgs) -> Outcome {
    let port = args.port.map(port_number).transpose()?.unwrap_or(0);
    let request = v1::ListPortsRequest {
        protocol: args.protocol.unwrap_or_default(),
        port,
    };
    let ports = b
        .ports
        .list_ports(request)
        .await
        .map_err(|s| ToolError::status(&s, "protocol must be tcp or udp"))?
        .into_inner()
        .ports;
    let lines: Vec<String> = ports
        .iter()
        .take(30)
        .map(|p| {
            let holders: Vec<_> = p
                .processes
                .iter()
                .map(|h| format!("{} {}", h.pid, h.name))
                .collect();
            let holders = if holders.is_empty() {
                format!("user {} (process not visible)", p.user)
            } else {
                holders.join(", ")
            };
            format!("{}/{} {}: {holders}", p.port, p.protocol, p.address)
        })
        .collect();
    let summary = if ports.is_empty() {
        "No listening sockets match.".to_owned()
    } else {
        format!("{} sockets: {}", ports.len(), lines.join("; "))
    };
    let data: Vec<Value> = ports
        .iter()
        .map(|p| {
            json!({
                "protocol": p.protocol, "address": p.address, "port": p.port, "user": p.user,
                "processes": p.processes.iter().map(|h| json!({"pid": h.pid, "name": h.name})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Answer {
        summary,
        data: json!({ "ports": data }),
    })
}

/// The effective uid of this process (the user procward acts as).
fn own_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Refuses a target the policy does not allow, saying which setting decides.
fn allowed(policy: &Policy, p: &v1::ProcessInfo) -> Result<(), ToolError> {
    match policy.kill {
        KillScope::Any => Ok(()),
        KillScope::Managed if !p.managed_name.is_empty() => Ok(()),
        KillScope::Managed => Err(ToolError(format!(
            "refused: pid {} ({}) is not a process procward manages, and this server may only kill managed ones (kill scope 'managed'). Nothing was signalled",
            p.pid, p.name
        ))),
        KillScope::Own if Some(p.uid) == own_uid() => Ok(()),
        KillScope::Own => Err(ToolError(format!(
            "refused: pid {} ({}) belongs to user {}, and this server may only kill its own user's processes (kill scope 'own'). Nothing was signalled",
            p.pid, p.name, p.user
        ))),
    }
}

fn action(result: v1::ActionResult, what: &str) -> Outcome {
    if result.success {
        return Ok(Answer {
            summary: format!("{what}: {}", result.message),
            data: json!({"success": true, "message": result.message}),
        });
    }
    let error = result.error.unwrap_or_default();
    let hint = match error.code.as_str() {
        "permission_denied" => " It belongs to another user; procward will not escalate from here",
        "survived" => {
            " It ignored SIGKILL (probably stuck in the kernel, state D); it may end when its I/O returns"
        }
        _ => "",
    };
    Err(ToolError(format!(
        "{what} failed: {}.{hint}",
        error.message
    )))
}

pub async fn kill(mut b: Backend, policy: &Policy, args: KillArgs) -> Outcome {
    let timeout_seconds = args.timeout_seconds;
    match (args.pid, args.port) {
        (Some(pid), None) => {
            let pid = checked_pid(pid)?;
            let target = b
                .manager
                .get_process_info(v1::GetProcessInfoRequest { pid })
                .await
                .map_err(|s| ToolError::status(&s, "The process may have exited already; list_system_processes shows what runs"))?
                .into_inner();
            allowed(policy, &target)?;
            let request = v1::KillProcessRequest {
                pid,
                expected_start_time: args.expected_start_time,
                expected_start_ticks: args.expected_start_ticks,
                signal: args.signal,
                timeout_seconds,
                force: args.force,
            };
            let result = b
                .manager
                .kill_process(request)
                .await
                .map_err(|s| ToolError::status(&s, "Nothing was signalled"))?
                .into_inner();
            action(result, &format!("kill pid {pid} ({})", target.name))
        }
        (None, Some(port)) => {
            let port = port_number(port)?;
            if args.expected_start_time.is_some()
                || args.expected_start_ticks.is_some()
                || args.signal.is_some()
            {
                return Err(ToolError(
                    "expected_start_time, expected_start_ticks and signal apply to a pid; a kill by port sends SIGTERM then SIGKILL to every holder".into(),
                ));
            }
            let sockets = b
                .ports
                .list_ports(v1::ListPortsRequest {
                    protocol: String::new(),
                    port,
                })
                .await
                .map_err(|s| ToolError::status(&s, ""))?
                .into_inner()
                .ports;
            if sockets.is_empty() {
                return Err(ToolError(format!(
                    "no process listens on port {port}; list_ports shows the open ports. Nothing was signalled"
                )));
            }
            for holder in sockets.iter().flat_map(|s| &s.processes) {
                let info = b
                    .manager
                    .get_process_info(v1::GetProcessInfoRequest { pid: holder.pid })
                    .await
                    .map_err(|s| ToolError::status(&s, ""))?
                    .into_inner();
                allowed(policy, &info)?;
            }
            let request = v1::KillPortRequest {
                port,
                protocol: String::new(),
                force: args.force,
                timeout_seconds,
            };
            let result = b
                .ports
                .kill_port(request)
                .await
                .map_err(|s| ToolError::status(&s, "Nothing was signalled"))?
                .into_inner();
            action(result, &format!("kill port {port}"))
        }
        (Some(_), Some(_)) => Err(ToolError("give pid or port, not both".into())),
        (None, None) => Err(ToolError(
            "give the pid to kill, or the port whose listeners to kill".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangerous_pids_are_refused_with_a_reason() {
        for pid in [-1, 0, 1, 4_294_967_295, i64::from(i32::MAX) + 1] {
            let err = checked_pid(pid).unwrap_err();
            assert!(err.0.contains("Nothing was signalled"), "{err}");
        }
        assert_eq!(checked_pid(42).unwrap(), 42);
    }
}
