//! Input as a plain state machine: [`App::handle`] takes one [`Event`] (a key, a click,
//! new data) and returns the [`Effect`]s for the run loop to carry out. No terminal, no
//! I/O: the tests drive it directly.

use procward_core::sys::Load;
use procward_core::{PortInfo, ProcessInfo};
use ratatui::crossterm::event::{Event as Term, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{
    App, Column, DaemonData, Dialog, KillTarget, LOG_LINES, MEMORY_HISTORY, ManagedAction,
    SignalChoice, Tab, signal_menu,
};

/// The keys of the actions that `[top.keys]` may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    /// Open the kill dialog.
    pub kill: char,
    /// Start typing a filter.
    pub filter: char,
    /// Toggle the process tree.
    pub tree: char,
    /// Show the keys.
    pub help: char,
    /// Quit.
    pub quit: char,
}

impl Default for KeyMap {
    fn default() -> Self {
        Self {
            kill: 'k',
            filter: '/',
            tree: 't',
            help: '?',
            quit: 'q',
        }
    }
}

/// Something that happened: input, or data from a collector.
#[derive(Debug)]
pub enum Event {
    /// A key, a mouse action or a resize.
    Input(Term),
    /// A new CPU and memory reading.
    Load(Load),
    /// A new process sample.
    Processes(Vec<ProcessInfo>),
    /// New listening sockets, with their holders' start ticks.
    Ports(Vec<PortInfo>, Vec<(u32, u64)>),
    /// The daemon's state; `None`: no daemon runs.
    Daemon(Option<DaemonData>),
    /// One line of the followed log.
    Log {
        /// The managed process it belongs to.
        name: String,
        /// The line.
        line: String,
    },
    /// The result of an action, for the footer.
    Notice(String),
}

/// What the run loop must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Leave.
    Quit,
    /// Signal these processes through the kill policy (pinned to their start ticks).
    Kill {
        /// Who.
        targets: Vec<KillTarget>,
        /// With what.
        choice: SignalChoice,
    },
    /// Ask the daemon to act on a managed process.
    Managed {
        /// What.
        action: ManagedAction,
        /// On which.
        name: String,
    },
    /// Follow this managed process's log (`None`: follow nothing).
    FollowLogs(Option<String>),
    /// The tab on screen changed: collect what it shows.
    Watch(Tab),
}

impl App {
    /// Applies one event; returns what the run loop must do. Sets [`App::dirty`] when
    /// the screen must be redrawn.
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            Event::Input(Term::Key(key)) if key.kind != KeyEventKind::Release => {
                self.key(key, &mut effects);
                self.dirty = true;
            }
            Event::Input(Term::Mouse(mouse)) => self.mouse(mouse, &mut effects),
            Event::Input(Term::Resize(w, h)) => {
                self.size = (w, h);
                self.dirty = true;
            }
            Event::Input(_) => {}
            Event::Load(load) => {
                if self.memory_history.len() == MEMORY_HISTORY {
                    self.memory_history.pop_front();
                }
                let tenths = (load.memory_percent() * 10.0).round().max(0.0) as u64;
                self.memory_history.push_back(tenths);
                self.load = Some(load);
                self.dirty = true;
            }
            Event::Processes(processes) => {
                self.processes = processes;
                self.rebuild_rows();
                self.dirty = true;
            }
            Event::Ports(mut ports, ticks) => {
                ports.sort_by(|a, b| {
                    (a.port, a.protocol.as_str()).cmp(&(b.port, b.protocol.as_str()))
                });
                self.ports = ports;
                self.port_ticks = ticks.into_iter().collect();
                self.dirty = true;
            }
            Event::Daemon(data) => {
                let before = self.selected_managed().map(|m| m.spec.name.clone());
                let changed = match (&self.daemon, &data) {
                    (None, None) => false,
                    (Some(a), Some(b)) => a.managed != b.managed || a.jobs != b.jobs,
                    _ => true,
                };
                self.daemon = data;
                self.clamp();
                self.dirty |= changed;
                self.follow_selected(before, &mut effects);
            }
            Event::Log { name, line } => {
                if self.log_name.as_deref() == Some(&name) {
                    if self.logs.len() == LOG_LINES {
                        self.logs.pop_front();
                    }
                    self.logs.push_back(line);
                    self.dirty |= self.tab == Tab::Managed;
                }
            }
            Event::Notice(text) => {
                self.message = Some(text);
                self.dirty = true;
            }
        }
        effects
    }

    fn key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            effects.push(Effect::Quit);
            return;
        }
        if self.help {
            // Any key closes the help.
            self.help = false;
            return;
        }
        if self.dialog.is_some() {
            self.dialog_key(key.code, effects);
            return;
        }
        if self.filtering {
            match key.code {
                KeyCode::Esc => {
                    self.filtering = false;
                    self.filter.clear();
                }
                KeyCode::Enter => self.filtering = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) if !ctrl => self.filter.push(c),
                _ => return,
            }
            self.rebuild_rows();
            return;
        }
        let before = self.selected_managed().map(|m| m.spec.name.clone());
        match key.code {
            KeyCode::Char(c) if c == self.keys.quit => effects.push(Effect::Quit),
            KeyCode::Char(c) if c == self.keys.help => self.help = true,
            KeyCode::Tab | KeyCode::Right if key.code == KeyCode::Tab || !self.tree_view() => {
                self.switch((self.tab.index() + 1) % Tab::ALL.len(), effects);
            }
            KeyCode::BackTab | KeyCode::Left
                if key.code == KeyCode::BackTab || !self.tree_view() =>
            {
                self.switch(
                    (self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len(),
                    effects,
                );
            }
            KeyCode::Char(c @ '1'..='4') => self.switch(c as usize - '1' as usize, effects),
            KeyCode::Up => self.step(-1),
            KeyCode::Down => self.step(1),
            KeyCode::PageUp => self.step(-(self.page() as isize)),
            KeyCode::PageDown => self.step(self.page() as isize),
            KeyCode::Home | KeyCode::Char('g') => self.step(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.step(isize::MAX / 2),
            KeyCode::Esc => {
                self.message = None;
                if !self.filter.is_empty() {
                    self.filter.clear();
                    self.rebuild_rows();
                }
            }
            KeyCode::Char(c) if c == self.keys.kill => self.open_kill(),
            _ => self.tab_key(key.code, effects),
        }
        self.follow_selected(before, effects);
    }

    fn tab_key(&mut self, code: KeyCode, effects: &mut Vec<Effect>) {
        match (self.tab, code) {
            (Tab::Processes, KeyCode::Char(c)) if c == self.keys.filter => {
                self.filtering = true;
            }
            (Tab::Processes, KeyCode::Char(c)) if c == self.keys.tree => {
                self.tree = !self.tree;
                self.rebuild_rows();
            }
            (Tab::Processes, KeyCode::Char('<' | ',')) => self.sort_step(-1),
            (Tab::Processes, KeyCode::Char('>' | '.')) => self.sort_step(1),
            (Tab::Processes, KeyCode::Char('I')) => {
                self.descending = !self.descending;
                self.rebuild_rows();
            }
            (Tab::Processes, KeyCode::Char('P')) => self.sort_by(Column::Cpu),
            (Tab::Processes, KeyCode::Char('M')) => self.sort_by(Column::Mem),
            (Tab::Processes, KeyCode::Char('N')) => self.sort_by(Column::Pid),
            (Tab::Processes, KeyCode::Char('U')) => self.sort_by(Column::User),
            (Tab::Processes, KeyCode::Char('C')) => self.sort_by(Column::Command),
            (Tab::Processes, KeyCode::Left | KeyCode::Char('-')) => self.fold(true),
            (Tab::Processes, KeyCode::Right | KeyCode::Char('+')) => self.fold(false),
            (Tab::Processes, KeyCode::Char(' ')) => {
                let folded = self
                    .selected_process()
                    .is_some_and(|p| self.collapsed.contains(&p.pid));
                self.fold(!folded);
            }
            (Tab::Managed, KeyCode::Char(c)) => {
                let action = match c {
                    's' => ManagedAction::Start,
                    'x' => ManagedAction::Stop,
                    'r' => ManagedAction::Restart,
                    'd' => ManagedAction::Delete,
                    _ => return,
                };
                let Some(name) = self.selected_managed().map(|m| m.spec.name.clone()) else {
                    return;
                };
                if action == ManagedAction::Delete {
                    self.dialog = Some(Dialog::Confirm { action, name });
                } else {
                    self.message = Some(format!("{name}: {}…", action.verb()));
                    effects.push(Effect::Managed { action, name });
                }
            }
            _ => {}
        }
    }

    fn dialog_key(&mut self, code: KeyCode, effects: &mut Vec<Effect>) {
        let Some(dialog) = self.dialog.as_mut() else {
            return;
        };
        let menu_len = signal_menu().len();
        match (dialog, code) {
            (_, KeyCode::Esc | KeyCode::Char('n' | 'q')) => {
                self.dialog = None;
                self.message = Some("cancelled".into());
            }
            (Dialog::Kill { choice, .. }, KeyCode::Up | KeyCode::Char('k')) => {
                *choice = (*choice + menu_len - 1) % menu_len;
            }
            (Dialog::Kill { choice, .. }, KeyCode::Down | KeyCode::Char('j')) => {
                *choice = (*choice + 1) % menu_len;
            }
            (Dialog::Kill { choice, .. }, KeyCode::Char(c @ '1'..='9')) => {
                let at = c as usize - '1' as usize;
                if at < menu_len {
                    *choice = at;
                }
            }
            (
                Dialog::Kill {
                    targets, choice, ..
                },
                KeyCode::Enter | KeyCode::Char('y'),
            ) => {
                let choice = signal_menu()[*choice];
                let targets = std::mem::take(targets);
                self.message = Some(format!("sending {}…", choice.signal.name()));
                effects.push(Effect::Kill { targets, choice });
                self.dialog = None;
            }
            (Dialog::Confirm { action, name }, KeyCode::Enter | KeyCode::Char('y')) => {
                self.message = Some(format!("{name}: {}…", action.verb()));
                effects.push(Effect::Managed {
                    action: *action,
                    name: std::mem::take(name),
                });
                self.dialog = None;
            }
            _ => {}
        }
    }
}
