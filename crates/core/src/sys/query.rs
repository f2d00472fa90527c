//! Filtering, sorting and limiting a process list, shared by every interface.

use std::cmp::Ordering;
use std::str::FromStr;

use super::process::ProcessInfo;
use crate::error::Error;

/// The column a process list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Highest CPU usage first.
    #[default]
    Cpu,
    /// Highest resident memory first.
    Mem,
    /// Lowest PID first.
    Pid,
    /// Alphabetical by name.
    Name,
    /// Longest running first.
    Uptime,
}

impl SortKey {
    /// Every key with its name, for help texts and error messages.
    pub const ALL: [(&'static str, SortKey); 5] = [
        ("cpu", SortKey::Cpu),
        ("mem", SortKey::Mem),
        ("pid", SortKey::Pid),
        ("name", SortKey::Name),
        ("uptime", SortKey::Uptime),
    ];

    /// Orders two processes by this key (ties broken by PID so output is stable).
    pub fn compare(self, a: &ProcessInfo, b: &ProcessInfo) -> Ordering {
        let primary = match self {
            SortKey::Cpu => b.cpu_percent.total_cmp(&a.cpu_percent),
            SortKey::Mem => b.memory_rss.cmp(&a.memory_rss),
            SortKey::Pid => Ordering::Equal,
            SortKey::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            SortKey::Uptime => b.uptime_seconds.cmp(&a.uptime_seconds),
        };
        primary.then(a.pid.cmp(&b.pid))
    }
}

impl FromStr for SortKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        let alias = match wanted.as_str() {
            "memory" | "rss" => "mem",
            "time" | "age" => "uptime",
            other => other,
        };
        Self::ALL
            .iter()
            .find(|(name, _)| *name == alias)
            .map(|(_, key)| *key)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|(n, _)| *n).collect();
                Error::InvalidArgument(format!(
                    "unknown sort key '{s}': use one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// Which processes to keep and in what order.
#[derive(Debug, Clone, Default)]
pub struct ProcessQuery {
    /// Sort column.
    pub sort: SortKey,
    /// Keep only processes of this user (login name or numeric uid).
    pub user: Option<String>,
    /// Keep only processes whose name or command line contains this text (case-insensitive).
    pub name: Option<String>,
    /// Keep at most this many (after sorting).
    pub limit: Option<usize>,
}

impl ProcessQuery {
    /// Whether one process passes the filters.
    pub fn matches(&self, p: &ProcessInfo) -> bool {
        let user_ok = self
            .user
            .as_deref()
            .is_none_or(|u| p.user == u || p.uid.to_string() == u);
        let name_ok = self.name.as_deref().is_none_or(|pattern| {
            let pattern = pattern.to_lowercase();
            p.name.to_lowercase().contains(&pattern) || p.command.to_lowercase().contains(&pattern)
        });
        user_ok && name_ok
    }

    /// Filters, sorts and limits `processes`; returns the kept ones and how many matched
    /// before the limit (so callers can say "N more").
    pub fn apply(&self, processes: Vec<ProcessInfo>) -> (Vec<ProcessInfo>, usize) {
        let (kept, matched) = self.apply_ref(&processes);
        (kept.into_iter().cloned().collect(), matched)
    }

    /// [`ProcessQuery::apply`] over a shared table (the daemon's latest sample), without
    /// copying the processes it drops.
    pub fn apply_ref<'a>(&self, processes: &'a [ProcessInfo]) -> (Vec<&'a ProcessInfo>, usize) {
        let mut kept: Vec<&ProcessInfo> = processes.iter().filter(|p| self.matches(p)).collect();
        let matched = kept.len();
        kept.sort_by(|a, b| self.sort.compare(a, b));
        if let Some(limit) = self.limit {
            kept.truncate(limit);
        }
        (kept, matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::process::ProcessStatus;

    fn proc(pid: u32, name: &str, cpu: f32, rss: u64) -> ProcessInfo {
        ProcessInfo {
            pid,
            ppid: 1,
            name: name.into(),
            command: format!("/usr/bin/{name} --flag"),
            user: "alice".into(),
            uid: 1000,
            status: ProcessStatus::Sleeping,
            cpu_percent: cpu,
            memory_percent: 0.0,
            memory_rss: rss,
            memory_vms: rss * 2,
            threads: 1,
            start_time: 0,
            start_ticks: 0,
            uptime_seconds: u64::from(pid),
            cpu_user_ms: 0,
            cpu_system_ms: 0,
            handles: Default::default(),
        }
    }

    #[test]
    fn sorts_filters_and_limits() {
        let list = vec![
            proc(3, "b", 1.0, 10),
            proc(1, "a", 5.0, 30),
            proc(2, "c", 3.0, 20),
        ];
        let q = ProcessQuery {
            sort: SortKey::Cpu,
            limit: Some(2),
            ..Default::default()
        };
        let (kept, matched) = q.apply(list.clone());
        assert_eq!(matched, 3);
        assert_eq!(kept.iter().map(|p| p.pid).collect::<Vec<_>>(), vec![1, 2]);

        let q = ProcessQuery {
            sort: SortKey::Name,
            name: Some("FLAG".into()),
            ..Default::default()
        };
        assert_eq!(q.apply(list.clone()).0.len(), 3);
        let q = ProcessQuery {
            user: Some("1000".into()),
            name: Some("c".into()),
            ..Default::default()
        };
        assert_eq!(q.apply(list.clone()).0[0].pid, 2);
        let q = ProcessQuery {
            user: Some("bob".into()),
            ..Default::default()
        };
        assert!(q.apply(list).0.is_empty());
    }

    #[test]
    fn sort_keys_parse_and_reject() {
        assert_eq!("MEM".parse::<SortKey>().unwrap(), SortKey::Mem);
        assert_eq!("uptime".parse::<SortKey>().unwrap(), SortKey::Uptime);
        let err = "speed".parse::<SortKey>().unwrap_err().to_string();
        assert!(
            err.contains("unknown sort key 'speed'") && err.contains("cpu, mem"),
            "{err}"
        );
    }
}
