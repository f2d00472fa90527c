//! Drawing: [`draw`] is a pure function of the [`App`]. The layout functions here are
//! shared with the mouse handling, so a click lands where the row was drawn.

pub mod header;
pub mod managed;
pub mod overlay;
pub mod ports;
pub mod processes;
pub mod queue;
#[cfg(test)]
mod tests;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row};

use super::app::{App, Tab};

/// Where each part of the screen is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// The tab bar (one line).
    pub tabs: Rect,
    /// CPU bars and memory.
    pub header: Rect,
    /// The current tab's table (header row first).
    pub table: Rect,
    /// The log pane (Managed tab only; empty otherwise).
    pub logs: Rect,
    /// The footer line.
    pub footer: Rect,
}

/// The layout for the app's size and tab.
pub fn areas(app: &App) -> Areas {
    areas_for(app, app.tab)
}

/// The layout for the app's size, were `tab` on screen.
pub fn areas_for(app: &App, tab: Tab) -> Areas {
    let (width, height) = app.size;
    let full = Rect::new(0, 0, width, height);
    let tabs = Rect {
        height: 1.min(height),
        ..full
    };
    let wanted = header::height(app);
    // The header yields to the table on short terminals.
    let header_height = wanted.min(height.saturating_sub(8));
    let header = Rect::new(0, tabs.bottom(), width, header_height);
    let footer_y = height.saturating_sub(1).max(header.bottom());
    let footer = Rect::new(0, footer_y, width, height.saturating_sub(footer_y).min(1));
    let body = Rect::new(
        0,
        header.bottom(),
        width,
        footer_y.saturating_sub(header.bottom()),
    );
    if tab == Tab::Managed {
        let table_height = (body.height / 2).max(body.height.min(4));
        let table = Rect {
            height: table_height,
            ..body
        };
        let logs = Rect::new(0, table.bottom(), width, body.height - table_height);
        Areas {
            tabs,
            header,
            table,
            logs,
            footer,
        }
    } else {
        Areas {
            tabs,
            header,
            table: body,
            logs: Rect::new(0, body.bottom(), width, 0),
            footer,
        }
    }
}

/// Data rows that fit in `tab`'s table.
pub fn table_height(app: &App, tab: Tab) -> usize {
    usize::from(areas_for(app, tab).table.height.saturating_sub(1))
}

/// The tab whose title is at column `x` of the tab bar.
pub fn tab_at(x: u16) -> Option<Tab> {
    let mut left = 0u16;
    for tab in Tab::ALL {
        let width = tab_label(tab).chars().count() as u16;
        if (left..left + width).contains(&x) {
            return Some(tab);
        }
        left += width + 1;
    }
    None
}

/// The data row (counted from the first visible one) at a point of the current table.
pub fn row_at(app: &App, x: u16, y: u16) -> Option<usize> {
    let table = areas(app).table;
    if x >= table.right() || y <= table.y || y >= table.bottom() {
        return None;
    }
    let row = usize::from(y - table.y - 1);
    (app.offset[app.tab.index()] + row < app.row_count(app.tab)).then_some(row)
}

fn tab_label(tab: Tab) -> String {
    format!(" {} {} ", tab.index() + 1, tab.title())
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let areas = areas(app);
    draw_tabs(frame, app, areas.tabs);
    header::draw(frame, app, areas.header);
    match app.tab {
        Tab::Processes => processes::draw(frame, app, areas.table),
        Tab::Managed => managed::draw(frame, app, areas.table, areas.logs),
        Tab::Ports => ports::draw(frame, app, areas.table),
        Tab::Queue => queue::draw(frame, app, areas.table),
    }
    overlay::footer(frame, app, areas.footer);
    if app.dialog.is_some() {
        overlay::dialog(frame, app, frame.area());
    }
    if app.help {
        overlay::help(frame, app, frame.area());
    }
}

fn draw_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let mut spans = Vec::new();
    for tab in Tab::ALL {
        let style = if tab == app.tab {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(tab_label(tab), style));
        spans.push(Span::raw(" "));
    }
    let daemon = if app.daemon.is_some() {
        Span::styled("daemon: running", fg(app, Color::Green))
    } else {
        Span::styled("no daemon", fg(app, Color::DarkGray))
    };
    spans.push(Span::raw(" "));
    spans.push(daemon);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A foreground colour, or no style without colours.
pub fn fg(app: &App, colour: Color) -> Style {
    if app.colour {
        Style::new().fg(colour)
    } else {
        Style::new()
    }
}

/// The table header row's style.
pub fn header_style(app: &App) -> Style {
    if app.colour {
        Style::new()
            .fg(Color::Black)
            .bg(Color::Green)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
}

/// The style of row `at` of `tab` (reverse video when selected: readable without colour).
pub fn row_style(app: &App, tab: Tab, at: usize) -> Style {
    if at == app.selected[tab.index()] {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new()
    }
}

/// The visible window of a tab's rows: `(index, row)` for rows `offset..offset + height`.
pub fn window<'a, T>(
    app: &App,
    tab: Tab,
    all: &'a [T],
    height: u16,
) -> impl Iterator<Item = (usize, &'a T)> {
    let start = app.offset[tab.index()].min(all.len());
    let end = (start + usize::from(height.saturating_sub(1))).min(all.len());
    (start..end).map(move |i| (i, &all[i]))
}

/// A header row from titles.
pub fn header_row<'a>(app: &App, titles: impl IntoIterator<Item = &'a str>) -> Row<'a> {
    Row::new(titles).style(header_style(app))
}

/// Text cut to `width` characters with `…` when longer.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
