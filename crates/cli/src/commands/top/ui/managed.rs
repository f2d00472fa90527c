//! The Managed tab: the daemon's processes, and the log pane following the selected one.

use procward_core::supervisor::state::State;
use procward_core::supervisor::view::Health;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::{fg, header_row, row_style, window};
use crate::commands::top::app::{App, Tab};
use crate::output::format;
use crate::output::managed as shown;

/// What the tab says when no daemon runs.
pub const NO_DAEMON: &str =
    "no daemon running (top never starts one: `procward daemon --detach` or `procward start`)";

/// Draws the managed table and the log pane.
pub fn draw(frame: &mut Frame, app: &App, table_area: Rect, logs_area: Rect) {
    let Some(daemon) = app.daemon.as_ref() else {
        frame.render_widget(
            Paragraph::new(NO_DAEMON).wrap(Default::default()),
            table_area,
        );
        return;
    };
    let header = header_row(
        app,
        [
            "NAME", "STATE", "PID", "RESTARTS", "CPU%", "MEM", "HEALTH", "UPTIME", "COMMAND",
        ],
    );
    let rows = window(app, Tab::Managed, &daemon.managed, table_area.height).map(|(at, m)| {
        let colour = match m.state {
            State::Running => Color::Green,
            State::Failed => Color::Red,
            State::Stopped => Color::DarkGray,
            _ => Color::Yellow,
        };
        // Liveness, then readiness (`healthy, ready`): red if either fails.
        let health = match (m.health, m.readiness) {
            (Health::Unhealthy, _) | (_, Health::Unhealthy) => Color::Red,
            (Health::Healthy | Health::None, Health::Healthy | Health::None)
                if m.health != Health::None || m.readiness != Health::None =>
            {
                Color::Green
            }
            _ => Color::Reset,
        };
        Row::new(vec![
            Cell::from(m.spec.name.clone()),
            Cell::from(Span::styled(m.state.as_str(), fg(app, colour))),
            Cell::from(m.pid.map_or_else(|| "-".into(), |p| p.to_string())),
            Cell::from(m.restarts.to_string()),
            Cell::from(format::percent(m.cpu_percent)),
            Cell::from(format::bytes(m.memory_rss)),
            Cell::from(Span::styled(shown::checks(m), fg(app, health))),
            Cell::from(format::duration(m.uptime_ms / 1000)),
            Cell::from(m.spec.command.join(" ")),
        ])
        .style(row_style(app, Tab::Managed, at))
    });
    let widths = [
        Constraint::Length(16),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(18),
        Constraint::Length(8),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(rows, widths).header(header), table_area);
    if daemon.managed.is_empty() && table_area.height > 1 {
        let line = Rect::new(table_area.x, table_area.y + 1, table_area.width, 1);
        frame.render_widget(
            Paragraph::new("no managed processes (`procward start NAME -- CMD`)"),
            line,
        );
    }
    draw_logs(frame, app, logs_area);
}

fn draw_logs(frame: &mut Frame, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let title = match &app.log_name {
        Some(name) => format!(" logs: {name} (following) "),
        None => " logs ".to_owned(),
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, fg(app, Color::Cyan)));
    let inner = block.inner(area);
    let shown = usize::from(inner.height);
    let skip = app.logs.len().saturating_sub(shown);
    let lines: Vec<Line> = app
        .logs
        .iter()
        .skip(skip)
        .map(|l| Line::raw(l.as_str()))
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
