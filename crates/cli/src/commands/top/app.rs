//! The UI's state: what was collected, what is selected and how it is shown. Nothing here
//! touches the terminal or the system; [`super::keys`] changes it, [`super::ui`] draws it.

use std::collections::{HashMap, HashSet, VecDeque};

use procward_core::supervisor::view::ManagedView;
use procward_core::sys::Load;
use procward_core::{PortInfo, ProcessInfo};

use super::keys::KeyMap;
pub use super::model::{
    Column, DaemonData, Dialog, KillTarget, ManagedAction, ProcessRow, SignalChoice, Tab,
    signal_menu,
};

/// Lines of a followed log kept in memory.
pub const LOG_LINES: usize = 500;
/// Memory samples kept for the header's graph.
pub const MEMORY_HISTORY: usize = 240;

/// Everything the UI shows and remembers.
#[derive(Debug)]
pub struct App {
    /// The tab on screen.
    pub tab: Tab,
    /// Whether to use colours.
    pub colour: bool,
    /// The terminal's size (columns, rows).
    pub size: (u16, u16),
    /// The keys.
    pub keys: KeyMap,
    /// CPU per core and memory, when sampled.
    pub load: Option<Load>,
    /// Memory use in tenths of a percent, oldest first.
    pub memory_history: VecDeque<u64>,
    /// Every process of the last sample.
    pub processes: Vec<ProcessInfo>,
    /// The visible process rows, sorted, filtered, as a tree when asked.
    pub rows: Vec<ProcessRow>,
    /// Process sort column.
    pub sort: Column,
    /// Largest (or Z) first.
    pub descending: bool,
    /// Case-insensitive filter on name, command, user or PID.
    pub filter: String,
    /// Typing the filter.
    pub filtering: bool,
    /// Tree view.
    pub tree: bool,
    /// Collapsed PIDs in tree view.
    pub collapsed: HashSet<u32>,
    /// Listening sockets, sorted by port.
    pub ports: Vec<PortInfo>,
    /// Start ticks of port holders, as listed with the ports.
    pub port_ticks: HashMap<u32, u64>,
    /// The daemon's data; `None` when no daemon runs.
    pub daemon: Option<DaemonData>,
    /// The managed process whose log is followed.
    pub log_name: Option<String>,
    /// Its last lines.
    pub logs: VecDeque<String>,
    /// Selected row per tab.
    pub selected: [usize; 4],
    /// First visible row per tab.
    pub offset: [usize; 4],
    /// The open dialog.
    pub dialog: Option<Dialog>,
    /// The help overlay is shown.
    pub help: bool,
    /// The last result or error, shown in the footer.
    pub message: Option<String>,
    /// Something changed since the last draw.
    pub dirty: bool,
    /// How long a TERM from the kill dialog waits before KILL (`[kill] timeout`).
    pub grace: std::time::Duration,
}

impl App {
    /// An empty app of this size.
    pub fn new(keys: KeyMap, colour: bool, size: (u16, u16)) -> Self {
        Self {
            tab: Tab::Processes,
            colour,
            size,
            keys,
            load: None,
            memory_history: VecDeque::with_capacity(MEMORY_HISTORY),
            processes: Vec::new(),
            rows: Vec::new(),
            sort: Column::Cpu,
            descending: true,
            filter: String::new(),
            filtering: false,
            tree: false,
            collapsed: HashSet::new(),
            ports: Vec::new(),
            port_ticks: HashMap::new(),
            daemon: None,
            log_name: None,
            logs: VecDeque::new(),
            selected: [0; 4],
            offset: [0; 4],
            dialog: None,
            help: false,
            message: None,
            dirty: true,
            grace: std::time::Duration::from_secs(5),
        }
    }

    /// Rows of the current tab's table.
    pub fn row_count(&self, tab: Tab) -> usize {
        match tab {
            Tab::Processes => self.rows.len(),
            Tab::Managed => self.daemon.as_ref().map_or(0, |d| d.managed.len()),
            Tab::Ports => self.ports.len(),
            Tab::Queue => self.daemon.as_ref().map_or(0, |d| d.jobs.len()),
        }
    }

    /// The selected process, on the Processes tab.
    pub fn selected_process(&self) -> Option<&ProcessInfo> {
        let row = self.rows.get(self.selected[Tab::Processes.index()])?;
        self.processes.get(row.index)
    }

    /// The selected managed process.
    pub fn selected_managed(&self) -> Option<&ManagedView> {
        let daemon = self.daemon.as_ref()?;
        daemon.managed.get(self.selected[Tab::Managed.index()])
    }

    /// The selected socket.
    pub fn selected_port(&self) -> Option<&PortInfo> {
        self.ports.get(self.selected[Tab::Ports.index()])
    }

    /// Recomputes [`App::rows`] after new data, a sort, a filter or a tree change, keeping
    /// the selected PID selected when it is still shown.
    pub fn rebuild_rows(&mut self) {
        // The selected process stays selected as rows move, unless the top row is (then
        // the top row stays selected, as the busiest process changes).
        let keep = self
            .selected_process()
            .filter(|_| self.selected[Tab::Processes.index()] > 0)
            .map(|p| p.pid);
        let needle = self.filter.to_lowercase();
        let shown = |p: &ProcessInfo| {
            needle.is_empty()
                || p.name.to_lowercase().contains(&needle)
                || p.command.to_lowercase().contains(&needle)
                || p.user.to_lowercase().contains(&needle)
                || p.pid.to_string() == needle
        };
        let (sort, descending) = (self.sort, self.descending);
        let order = |a: &usize, b: &usize, procs: &[ProcessInfo]| {
            let o = sort.compare(&procs[*a], &procs[*b]);
            let o = if descending { o.reverse() } else { o };
            o.then(procs[*a].pid.cmp(&procs[*b].pid))
        };
        let procs = &self.processes;
        let mut visible: Vec<usize> = (0..procs.len()).filter(|i| shown(&procs[*i])).collect();
        visible.sort_by(|a, b| order(a, b, procs));
        self.rows = if self.tree {
            tree_rows(procs, &visible, &self.collapsed)
        } else {
            visible
                .into_iter()
                .map(|index| ProcessRow {
                    index,
                    depth: 0,
                    parent: false,
                    collapsed: false,
                })
                .collect()
        };
        if let Some(pid) = keep
            && let Some(at) = self
                .rows
                .iter()
                .position(|r| self.processes[r.index].pid == pid)
        {
            self.selected[Tab::Processes.index()] = at;
        }
        self.clamp();
    }

    /// Keeps every tab's selection inside its rows and in view.
    pub fn clamp(&mut self) {
        for tab in Tab::ALL {
            let i = tab.index();
            let count = self.row_count(tab);
            self.selected[i] = self.selected[i].min(count.saturating_sub(1));
            let height = super::ui::table_height(self, tab).max(1);
            if self.selected[i] < self.offset[i] {
                self.offset[i] = self.selected[i];
            } else if self.selected[i] >= self.offset[i] + height {
                self.offset[i] = self.selected[i] + 1 - height;
            }
            self.offset[i] = self.offset[i].min(count.saturating_sub(height));
        }
    }
}

/// Sorted `visible` rows as a forest: a process whose parent is not visible is a root;
/// children follow their parent, sorted the same way; collapsed parents hide them.
fn tree_rows(
    procs: &[ProcessInfo],
    visible: &[usize],
    collapsed: &HashSet<u32>,
) -> Vec<ProcessRow> {
    let shown: HashSet<u32> = visible.iter().map(|i| procs[*i].pid).collect();
    let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for &i in visible {
        let p = &procs[i];
        if p.ppid != p.pid && shown.contains(&p.ppid) {
            children.entry(p.ppid).or_default().push(i);
        } else {
            roots.push(i);
        }
    }
    let mut rows = Vec::with_capacity(visible.len());
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
    while let Some((index, depth)) = stack.pop() {
        let pid = procs[index].pid;
        let kids = children.get(&pid);
        let folded = collapsed.contains(&pid);
        rows.push(ProcessRow {
            index,
            depth,
            parent: kids.is_some(),
            collapsed: folded && kids.is_some(),
        });
        if let (Some(kids), false) = (kids, folded) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    rows
}
