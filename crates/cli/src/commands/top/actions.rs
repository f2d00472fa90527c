//! What keys and clicks do beyond the key map: mouse hits, moving the selection,
//! sorting, folding the tree, opening the kill dialog and following the selected log.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::app::{App, Column, Dialog, KillTarget, Tab};
use super::keys::Effect;
use super::ui;

impl App {
    pub(super) fn mouse(&mut self, mouse: MouseEvent, effects: &mut Vec<Effect>) {
        if self.dialog.is_some() || self.help {
            if let MouseEventKind::Down(_) = mouse.kind {
                // A click outside a dialog does nothing; the keys decide.
                self.help = false;
                self.dirty = true;
            }
            return;
        }
        let before = self.selected_managed().map(|m| m.spec.name.clone());
        match mouse.kind {
            MouseEventKind::ScrollUp => self.step(-3),
            MouseEventKind::ScrollDown => self.step(3),
            MouseEventKind::Down(MouseButton::Left) => {
                let areas = ui::areas(self);
                if mouse.row == areas.tabs.y {
                    if let Some(tab) = ui::tab_at(mouse.column) {
                        self.switch(tab.index(), effects);
                    }
                } else if let Some(row) = ui::row_at(self, mouse.column, mouse.row) {
                    let i = self.tab.index();
                    self.selected[i] = self.offset[i] + row;
                    self.clamp();
                } else if self.tab == Tab::Processes
                    && let Some(column) =
                        ui::processes::header_column(self, mouse.column, mouse.row)
                {
                    self.sort_by(column);
                } else {
                    return;
                }
            }
            _ => return,
        }
        self.dirty = true;
        self.follow_selected(before, effects);
    }

    pub(super) fn tree_view(&self) -> bool {
        self.tab == Tab::Processes && self.tree
    }

    pub(super) fn switch(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let tab = Tab::ALL[index];
        if tab != self.tab {
            self.tab = tab;
            effects.push(Effect::Watch(tab));
        }
    }

    pub(super) fn page(&self) -> usize {
        ui::table_height(self, self.tab).max(1)
    }

    pub(super) fn step(&mut self, by: isize) {
        let i = self.tab.index();
        let last = self.row_count(self.tab).saturating_sub(1) as isize;
        self.selected[i] = (self.selected[i] as isize)
            .saturating_add(by)
            .clamp(0, last.max(0)) as usize;
        self.clamp();
    }

    pub(super) fn sort_by(&mut self, column: Column) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = column.descending_first();
        }
        self.rebuild_rows();
    }

    pub(super) fn sort_step(&mut self, by: isize) {
        let n = Column::ALL.len() as isize;
        let at = Column::ALL
            .iter()
            .position(|c| *c == self.sort)
            .unwrap_or(0) as isize;
        let column = Column::ALL[((at + by).rem_euclid(n)) as usize];
        self.sort = column;
        self.descending = column.descending_first();
        self.rebuild_rows();
    }

    pub(super) fn fold(&mut self, collapse: bool) {
        if !self.tree {
            return;
        }
        let Some(pid) = self.selected_process().map(|p| p.pid) else {
            return;
        };
        if collapse {
            self.collapsed.insert(pid);
        } else {
            self.collapsed.remove(&pid);
        }
        self.rebuild_rows();
    }

    pub(super) fn open_kill(&mut self) {
        let (targets, what) = match self.tab {
            Tab::Processes => {
                let Some(p) = self.selected_process() else {
                    return;
                };
                let target = KillTarget {
                    pid: p.pid,
                    start_ticks: Some(p.start_ticks),
                    name: p.name.clone(),
                };
                (vec![target], format!("PID {} ({})", p.pid, p.name))
            }
            Tab::Ports => {
                let Some(port) = self.selected_port() else {
                    return;
                };
                let targets: Vec<KillTarget> = port
                    .processes
                    .iter()
                    .map(|h| KillTarget {
                        pid: h.pid,
                        start_ticks: self.port_ticks.get(&h.pid).copied(),
                        name: h.name.clone(),
                    })
                    .collect();
                if targets.is_empty() {
                    self.message = Some(format!(
                        "port {}: no holder visible (another user's process?)",
                        port.port
                    ));
                    return;
                }
                let what = format!("port {}/{}", port.port, port.protocol.as_str());
                (targets, what)
            }
            Tab::Managed | Tab::Queue => {
                self.message = Some("kill works on the Processes and Ports tabs".into());
                return;
            }
        };
        self.dialog = Some(Dialog::Kill {
            targets,
            what,
            choice: 0,
        });
    }

    /// After anything that may change the selected managed process: follow its log.
    pub(super) fn follow_selected(&mut self, _before: Option<String>, effects: &mut Vec<Effect>) {
        let now = self.selected_managed().map(|m| m.spec.name.clone());
        if now != self.log_name {
            self.logs.clear();
            self.log_name = now.clone();
            effects.push(Effect::FollowLogs(now));
            self.dirty = true;
        }
    }
}
