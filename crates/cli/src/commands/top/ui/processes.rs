//! The Processes tab: every OS process, sorted, filtered, optionally as a tree.

use procward_core::ProcessStatus;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

use super::{fg, header_row, row_style, window};
use crate::commands::top::app::{App, Column, Tab};
use crate::output::format;

/// Fixed column widths (the command takes the rest).
const WIDTHS: [u16; 7] = [7, 9, 6, 5, 7, 4, 9];

fn constraints() -> Vec<Constraint> {
    let mut c: Vec<Constraint> = WIDTHS.iter().map(|w| Constraint::Length(*w)).collect();
    c.push(Constraint::Fill(1));
    c
}

/// The column whose header is at (`x`, `y`), for a click that sorts.
pub fn header_column(app: &App, x: u16, y: u16) -> Option<Column> {
    let table = super::areas(app).table;
    if y != table.y {
        return None;
    }
    let mut left = 0u16;
    for (i, column) in Column::ALL.iter().enumerate() {
        let width = WIDTHS.get(i).copied().unwrap_or(u16::MAX - left);
        if x >= left && x < left.saturating_add(width) {
            return Some(*column);
        }
        left = left.saturating_add(width + 1);
    }
    None
}

/// Draws the process table.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let titles = Column::ALL.map(|c| {
        if c == app.sort {
            format!("{}{}", c.title(), if app.descending { "▼" } else { "▲" })
        } else {
            c.title().to_owned()
        }
    });
    let header = header_row(app, titles.iter().map(String::as_str));
    let rows = window(app, Tab::Processes, &app.rows, area.height).map(|(at, row)| {
        let p = &app.processes[row.index];
        let branch = if app.tree {
            let marker = match (row.parent, row.collapsed) {
                (true, true) => "+ ",
                (true, false) => "- ",
                (false, _) if row.depth > 0 => "└ ",
                _ => "  ",
            };
            format!("{}{marker}", "  ".repeat(row.depth.saturating_sub(1)))
        } else {
            String::new()
        };
        let state_colour = match p.status {
            ProcessStatus::Running => Color::Green,
            ProcessStatus::Zombie | ProcessStatus::Dead => Color::Red,
            ProcessStatus::Stopped | ProcessStatus::TracingStop | ProcessStatus::DiskSleep => {
                Color::Yellow
            }
            _ => Color::Reset,
        };
        let cpu_style = if p.cpu_percent >= 50.0 {
            fg(app, Color::Red).add_modifier(Modifier::BOLD)
        } else if p.cpu_percent >= 5.0 {
            fg(app, Color::Yellow)
        } else {
            ratatui::style::Style::new()
        };
        Row::new(vec![
            Cell::from(p.pid.to_string()),
            Cell::from(super::fit(&p.user, 9)),
            Cell::from(Span::styled(format::percent(p.cpu_percent), cpu_style)),
            Cell::from(format::percent(p.memory_percent)),
            Cell::from(format::bytes(p.memory_rss)),
            Cell::from(p.threads.to_string()),
            Cell::from(Span::styled(p.status.as_str(), fg(app, state_colour))),
            Cell::from(format!("{branch}{}", p.command)),
        ])
        .style(row_style(app, Tab::Processes, at))
    });
    let table = Table::new(rows, constraints()).header(header);
    frame.render_widget(table, area);
    if app.rows.is_empty() && area.height > 1 {
        let text = if app.processes.is_empty() {
            "sampling…".to_owned()
        } else {
            format!("no process matches “{}”", app.filter)
        };
        let line = Rect::new(area.x, area.y + 1, area.width, 1);
        frame.render_widget(ratatui::widgets::Paragraph::new(text), line);
    }
}
