//! What sits on top of the tables: the footer line, the kill and confirm dialogs, and the
//! help overlay.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::fg;
use crate::commands::top::app::{App, Dialog, Tab, signal_menu};

/// Draws the footer: the filter being typed, else the last message, else key hints.
pub fn footer(frame: &mut Frame, app: &App, area: Rect) {
    let line = if app.filtering {
        Line::from(vec![
            Span::styled("filter: ", fg(app, Color::Yellow)),
            Span::raw(app.filter.clone()),
            Span::styled("█", Style::new().add_modifier(Modifier::SLOW_BLINK)),
            Span::styled("  Enter keep · Esc clear", fg(app, Color::DarkGray)),
        ])
    } else if let Some(message) = &app.message {
        Line::from(Span::styled(message.clone(), fg(app, Color::Yellow)))
    } else {
        let k = &app.keys;
        let hints = match app.tab {
            Tab::Processes => format!(
                "{} quit  {} help  Tab tabs  {} kill  {} filter{}  {} tree  < > sort  I invert",
                k.quit,
                k.help,
                k.kill,
                k.filter,
                if app.filter.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", app.filter)
                },
                k.tree
            ),
            Tab::Managed => format!(
                "{} quit  {} help  s start  x stop  r restart  d delete  ↑↓ select (log follows)",
                k.quit, k.help
            ),
            Tab::Ports => format!(
                "{} quit  {} help  {} kill the holders",
                k.quit, k.help, k.kill
            ),
            Tab::Queue => format!("{} quit  {} help  (read-only)", k.quit, k.help),
        };
        Line::from(Span::styled(hints, fg(app, Color::DarkGray)))
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// A box of `width` × `height` centred in `area` (shrunk to fit).
fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// Draws the open dialog.
pub fn dialog(frame: &mut Frame, app: &App, area: Rect) {
    let Some(dialog) = &app.dialog else {
        return;
    };
    let (title, mut lines) = match dialog {
        Dialog::Kill {
            targets,
            what,
            choice,
        } => {
            let mut lines = vec![Line::raw(format!("Signal {what}"))];
            for t in targets.iter().take(3) {
                let pin = t
                    .start_ticks
                    .map_or_else(|| "start not known".into(), |s| format!("start {s}"));
                lines.push(Line::styled(
                    format!("  pid {} {} ({pin})", t.pid, t.name),
                    fg(app, Color::DarkGray),
                ));
            }
            if targets.len() > 3 {
                lines.push(Line::raw(format!("  and {} more", targets.len() - 3)));
            }
            lines.push(Line::raw(""));
            for (i, entry) in signal_menu().iter().enumerate() {
                let label = if entry.escalate {
                    format!(
                        "{} {}, SIGKILL after {}s",
                        i + 1,
                        entry.signal.name(),
                        app.grace.as_secs()
                    )
                } else {
                    format!("{} {}", i + 1, entry.signal.name())
                };
                let style = if i == *choice {
                    Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
                } else {
                    Style::new()
                };
                lines.push(Line::styled(format!(" {label} "), style));
            }
            (" Kill ", lines)
        }
        Dialog::Confirm { action, name } => (
            " Confirm ",
            vec![Line::raw(format!("{} {name}?", capitalise(action.verb())))],
        ),
    };
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Enter send · Esc cancel",
        fg(app, Color::Cyan),
    ));
    let width = lines
        .iter()
        .map(|l| l.width() as u16)
        .max()
        .unwrap_or(20)
        .saturating_add(4)
        .clamp(30, 60);
    // Wrapped lines take more rows: count them so the last line is never cut.
    let inner = usize::from(width.min(area.width).saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let rect = centred(area, width, rows as u16 + 2);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(fg(app, Color::Red));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The keys, as the help overlay lists them.
pub fn help_lines(app: &App) -> Vec<(String, &'static str)> {
    let k = &app.keys;
    vec![
        ("Tab / 1-4".into(), "switch tab (or click a tab)"),
        (
            "↑ ↓ PgUp PgDn g G".into(),
            "select (or click a row, scroll)",
        ),
        (
            k.kill.to_string(),
            "kill the selected process / port's holders",
        ),
        (
            k.filter.to_string(),
            "filter processes (Enter keep, Esc clear)",
        ),
        (
            "< > or click".into(),
            "sort column; I inverts; P M N U C: cpu mem pid user cmd",
        ),
        (k.tree.to_string(), "tree view; ← → or - + or Space fold"),
        ("s x r d".into(), "managed: start, stop, restart, delete"),
        ("Esc".into(), "clear the message and the filter"),
        (k.help.to_string(), "this help (any key closes)"),
        (format!("{} / Ctrl-C", k.quit), "quit"),
    ]
}

/// Draws the help overlay.
pub fn help(frame: &mut Frame, app: &App, area: Rect) {
    let entries = help_lines(app);
    let key_width = entries
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(8);
    let lines: Vec<Line> = entries
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!("{key:>key_width$}  "), fg(app, Color::Cyan)),
                Span::raw(*what),
            ])
        })
        .collect();
    let width = lines.iter().map(|l| l.width() as u16).max().unwrap_or(40) + 4;
    let rect = centred(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::default().borders(Borders::ALL).title(" Keys "))
            .wrap(Wrap { trim: false }),
        rect,
    );
}
