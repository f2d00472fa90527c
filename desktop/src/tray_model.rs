//! The tray menu as plain data: what it lists and what each item does, built from the
//! [`Overview`] and turned into Tauri menus by [`crate::app::tray`]. Kept apart so the
//! labels, the ids and the confirmation rule are tested without a display.

use crate::commands::Overview;
use crate::ports::PortRow;

/// What a menu item does; its id is [`Action::id`], read back with [`Action::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Kill the holder `pid`, pinned to `start_ticks` (0: not known).
    Kill {
        /// The holder.
        pid: u32,
        /// Its start time in clock ticks, as listed.
        start_ticks: u64,
    },
    /// The same as root, through pkexec.
    KillElevated {
        /// The holder.
        pid: u32,
        /// Its start time in clock ticks, as listed.
        start_ticks: u64,
    },
    /// Start, stop or restart a managed process (`start`, `stop`, `restart`).
    Managed {
        /// `start`, `stop` or `restart`.
        action: String,
        /// The process's name.
        name: String,
    },
    /// Show the window.
    Open,
    /// Open the daemon's dashboard in the browser.
    Dashboard,
    /// Read everything again now.
    Refresh,
    /// Leave the app.
    Quit,
}

impl Action {
    /// The menu item id.
    pub fn id(&self) -> String {
        match self {
            Self::Kill { pid, start_ticks } => format!("kill:{pid}:{start_ticks}"),
            Self::KillElevated { pid, start_ticks } => format!("kill-root:{pid}:{start_ticks}"),
            Self::Managed { action, name } => format!("managed:{action}:{name}"),
            Self::Open => "open".into(),
            Self::Dashboard => "dashboard".into(),
            Self::Refresh => "refresh".into(),
            Self::Quit => "quit".into(),
        }
    }

    /// The action of a menu item id; `None` for ids that are not the app's (submenus).
    pub fn parse(id: &str) -> Option<Self> {
        let pid_ticks = |rest: &str| -> Option<(u32, u64)> {
            let (pid, ticks) = rest.split_once(':')?;
            Some((pid.parse().ok()?, ticks.parse().ok()?))
        };
        match id {
            "open" => return Some(Self::Open),
            "dashboard" => return Some(Self::Dashboard),
            "refresh" => return Some(Self::Refresh),
            "quit" => return Some(Self::Quit),
            _ => {}
        }
        if let Some(rest) = id.strip_prefix("kill:") {
            let (pid, start_ticks) = pid_ticks(rest)?;
            return Some(Self::Kill { pid, start_ticks });
        }
        if let Some(rest) = id.strip_prefix("kill-root:") {
            let (pid, start_ticks) = pid_ticks(rest)?;
            return Some(Self::KillElevated { pid, start_ticks });
        }
        let (action, name) = id.strip_prefix("managed:")?.split_once(':')?;
        Some(Self::Managed {
            action: action.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// One item: a label and an action, or a submenu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A clickable item (disabled when `action` is `None`).
    Item {
        /// The label.
        label: String,
        /// What a click does.
        action: Option<Action>,
    },
    /// A submenu.
    Submenu {
        /// Its id (stable across refreshes).
        id: String,
        /// The label.
        label: String,
        /// Its items.
        entries: Vec<Entry>,
    },
    /// A separator line.
    Separator,
}

fn item(label: impl Into<String>, action: Action) -> Entry {
    Entry::Item {
        label: label.into(),
        action: Some(action),
    }
}

/// The whole menu: the ports (each with Kill, and Kill as root for other users'), the
/// managed processes with start/stop/restart when a daemon runs, then the app's items.
pub fn menu(overview: &Overview) -> Vec<Entry> {
    let mut entries = Vec::new();
    if overview.ports.is_empty() {
        entries.push(Entry::Item {
            label: "No listening ports".into(),
            action: None,
        });
    }
    for row in &overview.ports {
        entries.push(port_entry(row));
    }
    if overview.daemon {
        entries.push(Entry::Separator);
        let managed: Vec<Entry> = overview
            .managed
            .iter()
            .map(|m| {
                let act = |action: &str| Action::Managed {
                    action: action.into(),
                    name: m.name.clone(),
                };
                let mut items = Vec::new();
                if m.is_up() {
                    items.push(item("Stop", act("stop")));
                    items.push(item("Restart", act("restart")));
                } else {
                    items.push(item("Start", act("start")));
                }
                let pid = if m.pid == 0 {
                    String::new()
                } else {
                    format!(" ({})", m.pid)
                };
                Entry::Submenu {
                    id: format!("process:{}", m.name),
                    label: format!("{}: {}{pid}", m.name, m.state),
                    entries: items,
                }
            })
            .collect();
        entries.push(Entry::Submenu {
            id: "managed".into(),
            label: format!("Managed processes ({})", managed.len()),
            entries: managed,
        });
    }
    entries.push(Entry::Separator);
    entries.push(item("Open procward", Action::Open));
    if overview.dashboard.is_some() {
        entries.push(item("Open the dashboard", Action::Dashboard));
    }
    entries.push(item("Refresh", Action::Refresh));
    entries.push(item("Quit", Action::Quit));
    entries
}

fn port_entry(row: &PortRow) -> Entry {
    let label = row.label();
    let Some(pid) = row.info.pid else {
        // A holder that cannot be seen cannot be killed from here.
        return Entry::Item {
            label,
            action: None,
        };
    };
    let start_ticks = row.start_ticks.unwrap_or(0);
    let mut entries = vec![item("Kill", Action::Kill { pid, start_ticks })];
    if !row.own {
        entries.push(item(
            "Kill as root…",
            Action::KillElevated { pid, start_ticks },
        ));
    }
    Entry::Submenu {
        id: format!("port:{}:{pid}", row.info.port),
        label,
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::Managed;
    use procward_core::{PortInfo, Protocol};

    fn row(port: u16, pid: u32, own: bool) -> PortRow {
        PortRow {
            info: PortInfo {
                protocol: Protocol::Tcp,
                local_address: "127.0.0.1".into(),
                port,
                pid: Some(pid),
                process_name: Some("python3".into()),
                user: "alice".into(),
                uid: 1000,
                processes: Vec::new(),
                inode: 7,
            },
            start_ticks: Some(918_273),
            managed: None,
            own,
            confirm: !own,
        }
    }

    #[test]
    fn ids_round_trip() {
        for action in [
            Action::Kill {
                pid: 4242,
                start_ticks: 918_273,
            },
            Action::KillElevated {
                pid: 1,
                start_ticks: 0,
            },
            Action::Managed {
                action: "stop".into(),
                name: "web:0".into(),
            },
            Action::Open,
            Action::Dashboard,
            Action::Refresh,
            Action::Quit,
        ] {
            assert_eq!(Action::parse(&action.id()), Some(action));
        }
        for junk in [
            "kill:",
            "kill:x:1",
            "kill:1",
            "port:8080:1",
            "managed:stop",
            "",
        ] {
            assert_eq!(Action::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn ports_then_managed_then_the_app() {
        let overview = Overview {
            ports: vec![row(8080, 4242, true), row(22, 812, false)],
            managed: vec![Managed {
                name: "web".into(),
                state: "stopped".into(),
                pid: 0,
                start_ticks: 0,
                restarts: 0,
                reason: String::new(),
            }],
            daemon: true,
            dashboard: None,
        };
        let entries = menu(&overview);
        let Entry::Submenu {
            label,
            entries: own,
            ..
        } = &entries[0]
        else {
            panic!("{entries:?}")
        };
        assert_eq!(label, ":8080 python3 (4242)");
        assert_eq!(
            own,
            &[item(
                "Kill",
                Action::Kill {
                    pid: 4242,
                    start_ticks: 918_273
                }
            )]
        );
        let Entry::Submenu { entries: other, .. } = &entries[1] else {
            panic!()
        };
        assert_eq!(other.len(), 2, "another user's: Kill and Kill as root");
        let Entry::Submenu {
            label,
            entries: procs,
            ..
        } = &entries[3]
        else {
            panic!("{entries:?}")
        };
        assert_eq!(label, "Managed processes (1)");
        let Entry::Submenu { entries: web, .. } = &procs[0] else {
            panic!()
        };
        assert_eq!(
            web,
            &[item(
                "Start",
                Action::Managed {
                    action: "start".into(),
                    name: "web".into()
                }
            )]
        );
        let labels: Vec<&str> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Item { label, .. } => Some(label.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(labels, ["Open procward", "Refresh", "Quit"]);
    }
}
