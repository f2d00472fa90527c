//! Parent/child structure of the process table: for `ps --tree` and for tree kills.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::process::ProcessInfo;
use super::query::SortKey;

/// A process with its children, for tree views.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessNode {
    /// The process itself.
    #[serde(flatten)]
    pub info: ProcessInfo,
    /// Its children, sorted like the roots.
    pub children: Vec<ProcessNode>,
}

impl ProcessNode {
    /// Builds a forest: a process whose parent is not in `processes` becomes a root.
    pub fn forest(processes: Vec<ProcessInfo>, sort: SortKey) -> Vec<ProcessNode> {
        let present: HashSet<u32> = processes.iter().map(|p| p.pid).collect();
        let mut by_parent: HashMap<u32, Vec<ProcessInfo>> = HashMap::new();
        let mut roots = Vec::new();
        for p in processes {
            if p.ppid != p.pid && present.contains(&p.ppid) {
                by_parent.entry(p.ppid).or_default().push(p);
            } else {
                roots.push(p);
            }
        }
        build(roots, &mut by_parent, sort)
    }

    /// Depth-first rows with their depth, for indented tables.
    pub fn flatten(nodes: &[ProcessNode]) -> Vec<(usize, &ProcessInfo)> {
        fn walk<'a>(
            nodes: &'a [ProcessNode],
            depth: usize,
            out: &mut Vec<(usize, &'a ProcessInfo)>,
        ) {
            for node in nodes {
                out.push((depth, &node.info));
                walk(&node.children, depth + 1, out);
            }
        }
        let mut out = Vec::new();
        walk(nodes, 0, &mut out);
        out
    }
}

fn build(
    mut level: Vec<ProcessInfo>,
    by_parent: &mut HashMap<u32, Vec<ProcessInfo>>,
    sort: SortKey,
) -> Vec<ProcessNode> {
    level.sort_by(|a, b| sort.compare(a, b));
    level
        .into_iter()
        .map(|info| {
            let children = by_parent.remove(&info.pid).unwrap_or_default();
            ProcessNode {
                children: build(children, by_parent, sort),
                info,
            }
        })
        .collect()
}

/// Every descendant of `root` in a `(pid, ppid)` table, parents before children.
pub fn descendants(table: &[(u32, u32)], root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(pid, ppid) in table {
        if pid != ppid {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = Vec::new();
    let mut seen = HashSet::from([root]);
    let mut queue = std::collections::VecDeque::from([root]);
    while let Some(pid) = queue.pop_front() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or_default() {
            if seen.insert(child) {
                out.push(child);
                queue.push_back(child);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_are_breadth_first_and_cycle_safe() {
        let table = [
            (1, 0),
            (10, 1),
            (11, 10),
            (12, 10),
            (13, 11),
            (20, 1),
            (30, 30),
        ];
        assert_eq!(descendants(&table, 10), vec![11, 12, 13]);
        assert!(descendants(&table, 13).is_empty());
        assert!(descendants(&table, 30).is_empty());
    }
}

/// Every descendant of `root`, breadth first, from the kernel's per-thread lists of
/// children (`/proc/PID/task/TID/children`): the cost follows the size of the tree, not of
/// the whole process table, which matters when `list --json` measures fifty trees on a
/// machine of thousands of processes. `None` where the kernel keeps no such lists
/// (`CONFIG_PROC_CHILDREN` off); the caller then walks the table with [`descendants`].
/// The lists are a snapshot: a child forked meanwhile may be missed, which is fine for
/// metrics and why kills walk the table instead. `single_threaded_root`: the root is known
/// to have one thread, so only its main thread's list is read.
pub fn descendants_from_children_lists(root: u32, single_threaded_root: bool) -> Option<Vec<u32>> {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*SUPPORTED.get_or_init(|| std::path::Path::new("/proc/thread-self/children").exists()) {
        return None;
    }
    let mut out = Vec::new();
    let mut seen = HashSet::from([root]);
    let mut queue = std::collections::VecDeque::from([root]);
    while let Some(pid) = queue.pop_front() {
        let lists: Vec<std::path::PathBuf> = if pid == root && single_threaded_root {
            vec![format!("/proc/{pid}/task/{pid}/children").into()]
        } else {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue; // gone meanwhile
            };
            tasks.flatten().map(|t| t.path().join("children")).collect()
        };
        for list in lists {
            let Ok(text) = std::fs::read_to_string(list) else {
                continue;
            };
            for child in text.split_ascii_whitespace().filter_map(|s| s.parse().ok()) {
                if seen.insert(child) {
                    out.push(child);
                    queue.push_back(child);
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod children_lists {
    use super::*;

    #[test]
    fn the_children_lists_find_the_same_tree_as_the_table() {
        use std::os::unix::process::CommandExt;
        // A group of its own, so the whole tree can be ended with one signal.
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & (sleep 30 & wait) & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let root = shell.id();
        let table = || super::super::process::parent_table().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while descendants(&table(), root).len() < 4 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut from_table = descendants(&table(), root);
        let listed = descendants_from_children_lists(root, false);
        // Only this test's own processes are signalled: the shell's group.
        let group = rustix::process::Pid::from_raw(root as i32).unwrap();
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = shell.wait();
        let Some(mut listed) = listed else {
            eprintln!("skipped: no /proc/PID/task/TID/children here");
            return;
        };
        from_table.sort_unstable();
        listed.sort_unstable();
        assert_eq!(from_table.len(), 4, "{from_table:?}");
        assert_eq!(listed, from_table);
    }
}
