//! The UI's vocabulary: tabs, columns, rows, kill targets, signals, dialogs and the
//! daemon's data.

use std::cmp::Ordering;

use procward_core::queue::Job;
use procward_core::supervisor::view::ManagedView;
use procward_core::{ProcessInfo, Signal};

/// The four tabs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    /// Every OS process.
    Processes,
    /// The daemon's managed processes, with the log pane.
    Managed,
    /// Listening sockets and their holders.
    Ports,
    /// The daemon's queue jobs.
    Queue,
}

impl Tab {
    /// Every tab, in display order.
    pub const ALL: [Tab; 4] = [Tab::Processes, Tab::Managed, Tab::Ports, Tab::Queue];

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Processes => "Processes",
            Tab::Managed => "Managed",
            Tab::Ports => "Ports",
            Tab::Queue => "Queue",
        }
    }

    /// Its position in [`Tab::ALL`].
    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// A column of the process table (sortable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Process id.
    Pid,
    /// Owner.
    User,
    /// CPU % (per core, may exceed 100).
    Cpu,
    /// Resident memory as % of RAM.
    Mem,
    /// Resident memory in bytes.
    Rss,
    /// Thread count.
    Threads,
    /// Kernel state.
    State,
    /// Command line.
    Command,
}

impl Column {
    /// Every column, in display order.
    pub const ALL: [Column; 8] = [
        Column::Pid,
        Column::User,
        Column::Cpu,
        Column::Mem,
        Column::Rss,
        Column::Threads,
        Column::State,
        Column::Command,
    ];

    /// Its header.
    pub fn title(self) -> &'static str {
        match self {
            Column::Pid => "PID",
            Column::User => "USER",
            Column::Cpu => "CPU%",
            Column::Mem => "MEM%",
            Column::Rss => "RSS",
            Column::Threads => "THR",
            Column::State => "STATE",
            Column::Command => "COMMAND",
        }
    }

    /// Whether a fresh sort on it starts with the largest (numbers) or A (text).
    pub fn descending_first(self) -> bool {
        matches!(
            self,
            Column::Cpu | Column::Mem | Column::Rss | Column::Threads
        )
    }

    /// Orders two processes by this column (ascending).
    pub fn compare(self, a: &ProcessInfo, b: &ProcessInfo) -> Ordering {
        match self {
            Column::Pid => a.pid.cmp(&b.pid),
            Column::User => a.user.cmp(&b.user),
            Column::Cpu => a.cpu_percent.total_cmp(&b.cpu_percent),
            Column::Mem => a.memory_percent.total_cmp(&b.memory_percent),
            Column::Rss => a.memory_rss.cmp(&b.memory_rss),
            Column::Threads => a.threads.cmp(&b.threads),
            Column::State => a.status.as_str().cmp(b.status.as_str()),
            Column::Command => a.command.cmp(&b.command),
        }
    }
}

/// One visible row of the process table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessRow {
    /// Index into [`App::processes`].
    pub index: usize,
    /// Depth in the tree (0 outside tree view).
    pub depth: usize,
    /// Whether it has children (tree view).
    pub parent: bool,
    /// Whether its children are hidden (tree view).
    pub collapsed: bool,
}

/// A process a kill names: its PID pinned to the start it had when listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillTarget {
    /// The PID.
    pub pid: u32,
    /// Its start in clock ticks after boot, as listed (`None`: not known).
    pub start_ticks: Option<u64>,
    /// Its name, for the dialog.
    pub name: String,
}

/// A signal in the kill dialog's menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalChoice {
    /// The signal sent first.
    pub signal: Signal,
    /// Whether SIGKILL follows after the grace period if the process is still alive.
    pub escalate: bool,
}

/// The kill dialog's menu, TERM (then KILL) first.
pub fn signal_menu() -> Vec<SignalChoice> {
    let plain = |name: &str| SignalChoice {
        signal: name.parse().unwrap_or(Signal::TERM),
        escalate: false,
    };
    let mut menu = vec![SignalChoice {
        signal: Signal::TERM,
        escalate: true,
    }];
    menu.extend(
        ["INT", "HUP", "KILL", "QUIT", "USR1", "USR2", "STOP", "CONT"]
            .iter()
            .map(|n| plain(n)),
    );
    menu
}

/// A managed-process action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedAction {
    /// Start a stopped process (the daemon's restart of it).
    Start,
    /// Stop it.
    Stop,
    /// Restart it.
    Restart,
    /// Stop it and forget it.
    Delete,
}

impl ManagedAction {
    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            ManagedAction::Start => "start",
            ManagedAction::Stop => "stop",
            ManagedAction::Restart => "restart",
            ManagedAction::Delete => "delete",
        }
    }
}

/// A modal dialog.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// Which signal to send to these processes.
    Kill {
        /// What to kill (a port may have several holders).
        targets: Vec<KillTarget>,
        /// What the dialog says it is killing (`PID 42 (sleep)`, `port 8080`).
        what: String,
        /// The highlighted entry of [`signal_menu`].
        choice: usize,
    },
    /// Confirm a destructive managed action.
    Confirm {
        /// The action.
        action: ManagedAction,
        /// The managed process.
        name: String,
    },
}

/// The daemon's side, when one runs.
#[derive(Debug, Clone, Default)]
pub struct DaemonData {
    /// Managed processes, by name.
    pub managed: Vec<ManagedView>,
    /// Queue jobs, newest first.
    pub jobs: Vec<Job>,
}
