//! The Ports tab: listening TCP and bound UDP sockets with the processes holding them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Color;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{fg, header_row, row_style, window};
use crate::commands::top::app::{App, Tab};

/// Draws the ports table.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let header = header_row(app, ["PROTO", "ADDRESS", "PORT", "PID", "USER", "PROCESS"]);
    let rows = window(app, Tab::Ports, &app.ports, area.height).map(|(at, p)| {
        let holders = if p.processes.is_empty() {
            "-".to_owned()
        } else {
            p.processes
                .iter()
                .map(|h| format!("{} ({})", h.name, h.pid))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Row::new(vec![
            Cell::from(p.protocol.as_str()),
            Cell::from(p.local_address.clone()),
            Cell::from(Span::styled(p.port.to_string(), fg(app, Color::Green))),
            Cell::from(p.pid.map_or_else(|| "-".into(), |pid| pid.to_string())),
            Cell::from(super::fit(&p.user, 10)),
            Cell::from(holders),
        ])
        .style(row_style(app, Tab::Ports, at))
    });
    let widths = [
        Constraint::Length(5),
        Constraint::Length(24),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(10),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(rows, widths).header(header), area);
    if app.ports.is_empty() && area.height > 1 {
        let line = Rect::new(area.x, area.y + 1, area.width, 1);
        frame.render_widget(Paragraph::new("no listening sockets seen yet"), line);
    }
}
