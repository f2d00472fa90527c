//! The header: one bar per core (htop's meters), a memory gauge, swap, load and a graph
//! of memory use over time.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::fg;
use crate::commands::top::app::App;
use crate::output::format;

/// Most lines of core bars; more cores share a line's columns.
const MAX_CORE_LINES: usize = 8;
/// Narrowest core bar.
const MIN_BAR_WIDTH: u16 = 24;

/// Columns and lines of core bars for `cores` cores at `width`.
fn grid(cores: usize, width: u16) -> (usize, usize) {
    if cores == 0 {
        return (1, 0);
    }
    let most = usize::from((width / MIN_BAR_WIDTH).clamp(1, 4));
    let columns = if cores <= 4 {
        1
    } else {
        cores.div_ceil(MAX_CORE_LINES).clamp(2, 4)
    }
    .min(most);
    (columns, cores.div_ceil(columns).min(MAX_CORE_LINES))
}

/// The header's height: core lines, then memory and the graph line.
pub fn height(app: &App) -> u16 {
    let cores = app.load.as_ref().map_or(0, |l| l.cpus.len());
    let (_, lines) = grid(cores, app.size.0);
    (lines + 2) as u16
}

/// Draws the header.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let Some(load) = app.load.as_ref() else {
        frame.render_widget(Paragraph::new("sampling…"), area);
        return;
    };
    let (columns, lines) = grid(load.cpus.len(), area.width);
    let column_width = area.width / columns as u16;
    let label_width = load.cpus.len().saturating_sub(1).to_string().len();
    let mut text: Vec<Line> = Vec::with_capacity(lines + 1);
    for line in 0..lines {
        let mut spans = Vec::new();
        for column in 0..columns {
            let core = column * lines + line;
            let Some(busy) = load.cpus.get(core) else {
                continue;
            };
            let label = format!("{core:>label_width$}");
            spans.extend(meter(
                app,
                &label,
                *busy,
                &format!("{busy:.1}%"),
                column_width,
            ));
        }
        text.push(Line::from(spans));
    }
    let half = area.width / 2;
    let memory = format!(
        "{}/{}",
        format::bytes(load.memory_used),
        format::bytes(load.memory_total)
    );
    let mut spans = meter(app, "Mem", load.memory_percent(), &memory, half);
    let swap_percent = if load.swap_total == 0 {
        0.0
    } else {
        (load.swap_used as f64 * 100.0 / load.swap_total as f64) as f32
    };
    let swap = format!(
        "{}/{}",
        format::bytes(load.swap_used),
        format::bytes(load.swap_total)
    );
    spans.extend(meter(app, "Swp", swap_percent, &swap, area.width - half));
    text.push(Line::from(spans));
    let rows = text.len() as u16;
    frame.render_widget(
        Paragraph::new(text),
        Rect {
            height: rows.min(area.height),
            ..area
        },
    );
    if area.height <= rows {
        return;
    }
    // Last line: memory over time on the left, load and uptime on the right.
    let last = Rect::new(area.x, area.y + rows, area.width, 1);
    let summary = format!(
        " Load {:.2} {:.2} {:.2}  Up {}  Tasks {}",
        load.load_average[0],
        load.load_average[1],
        load.load_average[2],
        format::duration(load.uptime_seconds),
        app.processes.len()
    );
    let summary_width = (summary.chars().count() as u16).min(last.width);
    let graph_width = last.width - summary_width;
    let history: Vec<u64> = app
        .memory_history
        .iter()
        .rev()
        .take(usize::from(graph_width.saturating_sub(4)))
        .rev()
        .copied()
        .collect();
    if graph_width > 4 {
        frame.render_widget(Paragraph::new("Mem~"), Rect { width: 4, ..last });
        let graph = Sparkline::default()
            .data(&history)
            // Scaled to the highest use shown (the gauge above gives the absolute).
            .max((history.iter().max().copied().unwrap_or(0) * 5 / 4).max(10))
            .style(fg(app, Color::Cyan));
        frame.render_widget(graph, Rect::new(last.x + 4, last.y, graph_width - 4, 1));
    }
    frame.render_widget(
        Paragraph::new(summary),
        Rect::new(last.x + graph_width, last.y, summary_width, 1),
    );
}

/// `label[|||||     value]` filling `width`, as htop draws a meter.
fn meter<'a>(app: &App, label: &str, percent: f32, value: &str, width: u16) -> Vec<Span<'a>> {
    let width = usize::from(width);
    let inner = width.saturating_sub(label.chars().count() + 3);
    let value = super::fit(value, inner);
    let bar_room = inner.saturating_sub(value.chars().count());
    let filled = ((percent.clamp(0.0, 100.0) / 100.0) * inner as f32).round() as usize;
    let bars = filled.min(bar_room);
    let colour = if percent >= 90.0 {
        Color::Red
    } else if percent >= 60.0 {
        Color::Yellow
    } else {
        Color::Green
    };
    vec![
        Span::styled(label.to_owned(), fg(app, Color::Cyan)),
        Span::raw("["),
        Span::styled("|".repeat(bars), fg(app, colour)),
        Span::raw(" ".repeat(bar_room - bars)),
        Span::styled(value, fg(app, Color::DarkGray)),
        Span::raw("] "),
    ]
}
