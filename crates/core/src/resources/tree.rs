//! What a process tree uses right now, read in one pass over `/proc`: what the poll
//! enforcer compares with a process's limits when no cgroup holds them.

use std::collections::HashMap;

use crate::sys::tree::descendants;

/// One tree's figures (the root and every descendant).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeUsage {
    /// Resident memory summed over the tree, bytes.
    pub rss: u64,
    /// Threads summed over the tree (what `pids.max` counts: every task).
    pub tasks: u32,
    /// User plus system CPU time summed over the tree, in clock ticks (USER_HZ).
    pub cpu_ticks: u64,
    /// The tree's pids, root first.
    pub pids: Vec<u32>,
}

/// The usage of each tree rooted at `roots` (a root that is gone is left out). One read of
/// every `/proc/PID/stat`; processes that vanish meanwhile are skipped.
pub fn measure_trees(roots: &[u32]) -> HashMap<u32, TreeUsage> {
    let page = procfs::page_size();
    let mut table = Vec::new();
    let mut stats: HashMap<u32, (u64, u32, u64)> = HashMap::new();
    if let Ok(all) = procfs::process::all_processes() {
        for process in all.flatten() {
            let Ok(stat) = process.stat() else { continue };
            let pid = stat.pid as u32;
            table.push((pid, stat.ppid.max(0) as u32));
            let tasks = u32::try_from(stat.num_threads).unwrap_or(1);
            stats.insert(pid, (stat.rss * page, tasks, stat.utime + stat.stime));
        }
    }
    let mut out = HashMap::new();
    for &root in roots {
        if !stats.contains_key(&root) {
            continue;
        }
        let mut pids = vec![root];
        pids.extend(descendants(&table, root));
        let mut usage = TreeUsage::default();
        for pid in &pids {
            if let Some(&(rss, tasks, ticks)) = stats.get(pid) {
                usage.rss += rss;
                usage.tasks += tasks;
                usage.cpu_ticks += ticks;
            }
        }
        usage.pids = pids;
        out.insert(root, usage);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_real_tree() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .unwrap();
        let root = child.id();
        let mut usage = TreeUsage::default();
        for _ in 0..100 {
            usage = measure_trees(&[root]).remove(&root).unwrap();
            if usage.pids.len() == 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(usage.pids.len(), 3, "{usage:?}");
        assert_eq!(usage.pids[0], root);
        assert!(usage.tasks >= 3);
        assert!(usage.rss > 0);
        for pid in &usage.pids[1..] {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(measure_trees(&[u32::MAX - 1]).is_empty());
    }
}
