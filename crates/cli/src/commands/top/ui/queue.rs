//! The Queue tab: the daemon's jobs (read-only).

use procward_core::queue::JobState;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Color;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{fg, header_row, row_style, window};
use crate::commands::top::app::{App, Tab};

/// Draws the jobs table.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let Some(daemon) = app.daemon.as_ref() else {
        frame.render_widget(
            Paragraph::new(super::managed::NO_DAEMON).wrap(Default::default()),
            area,
        );
        return;
    };
    let header = header_row(app, ["ID", "STATE", "GROUP", "ATTEMPTS", "COMMAND"]);
    let rows = window(app, Tab::Queue, &daemon.jobs, area.height).map(|(at, job)| {
        let colour = match job.state {
            JobState::Running => Color::Green,
            JobState::Failed => Color::Red,
            JobState::Queued | JobState::Delayed => Color::Yellow,
            JobState::Completed | JobState::Cancelled => Color::Reset,
        };
        Row::new(vec![
            Cell::from(job.id.to_string()),
            Cell::from(Span::styled(job.state.as_str(), fg(app, colour))),
            Cell::from(job.spec.group.clone()),
            Cell::from(format!("{}/{}", job.attempts.len(), job.spec.attempts)),
            Cell::from(job.spec.command.join(" ")),
        ])
        .style(row_style(app, Tab::Queue, at))
    });
    let widths = [
        Constraint::Length(7),
        Constraint::Length(10),
        Constraint::Length(12),
        Constraint::Length(9),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(rows, widths).header(header), area);
    if daemon.jobs.is_empty() && area.height > 1 {
        let line = Rect::new(area.x, area.y + 1, area.width, 1);
        frame.render_widget(
            Paragraph::new("no jobs (`procward queue add -- CMD`)"),
            line,
        );
    }
}
