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
