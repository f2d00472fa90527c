//! Rendering into ratatui's `TestBackend`, asserting on the buffer.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    Event as Term, KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::style::Color;

use procward_core::supervisor::view::Health;

use super::draw;
use crate::commands::top::app::{App, DaemonData};
use crate::commands::top::keys::Event;
use crate::commands::top::tests::{app, key, managed};

fn terminal(app: &App) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal.draw(|frame| draw(frame, app)).unwrap();
    terminal
}

/// The screen as lines of text.
fn screen(app: &App) -> Vec<String> {
    let terminal = terminal(app);
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

fn find(lines: &[String], text: &str) -> Option<usize> {
    lines.iter().position(|l| l.contains(text))
}

fn resized(mut app: App, width: u16, height: u16) -> App {
    app.handle(Event::Input(Term::Resize(width, height)));
    app
}

#[test]
fn header_shows_a_bar_per_core_and_memory() {
    let app = app();
    let lines = screen(&app);
    let core0 = find(&lines, "0[").expect("core 0 bar");
    let core1 = find(&lines, "1[").expect("core 1 bar");
    assert!(lines[core0].contains("12.5%]"), "{}", lines[core0]);
    assert!(lines[core1].contains("80.0%]"), "{}", lines[core1]);
    // 80 % of the bar is filled on core 1, 12.5 % on core 0.
    let bars = |l: &str| l.chars().filter(|c| *c == '|').count();
    assert!(bars(&lines[core1]) > 4 * bars(&lines[core0]), "{lines:#?}");
    let memory = find(&lines, "Mem[").expect("memory gauge");
    assert!(lines[memory].contains("2.0G/8.0G"), "{}", lines[memory]);
    assert!(find(&lines, "Tasks 4").is_some());
}

#[test]
fn process_table_lists_processes_busiest_first_with_a_sort_marker() {
    let lines = screen(&app());
    let header = find(&lines, "PID").unwrap();
    assert!(lines[header].contains("CPU%▼"), "{}", lines[header]);
    assert!(lines[header + 1].contains("400") && lines[header + 1].contains("/usr/bin/hog"));
    assert!(lines[header + 4].contains("init"));
}

#[test]
fn kill_dialog_fits_in_forty_columns() {
    let mut app = resized(app(), 40, 24);
    key(&mut app, KeyCode::Char('k'));
    let lines = screen(&app);
    for text in [
        "Signal PID 400 (hog)",
        "pid 400 hog (start 1400)",
        "1 SIGTERM, SIGKILL after 5s",
        "9 SIGCONT",
        "Enter send · Esc cancel",
    ] {
        assert!(
            find(&lines, text).is_some(),
            "{text:?} missing:\n{}",
            lines.join("\n")
        );
    }
    let top = find(&lines, "┌").unwrap();
    let bottom = find(&lines, "└").unwrap();
    assert!(find(&lines, "Enter send").unwrap() < bottom && top < bottom);
    // The frame is whole: both corners on each edge line.
    assert!(lines[top].contains('┐') && lines[bottom].contains('┘'));
}

#[test]
fn ports_tab_lists_a_listener_with_its_holder() {
    let mut app = app();
    key(&mut app, KeyCode::Char('3'));
    let lines = screen(&app);
    let row = find(&lines, "8080").expect("the listener");
    assert!(lines[row].contains("127.0.0.1"), "{}", lines[row]);
    assert!(lines[row].contains("vim (300)"), "{}", lines[row]);
    assert!(lines[row].starts_with("tcp"));
}

#[test]
fn managed_tab_without_a_daemon_says_so() {
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    let lines = screen(&app);
    assert!(find(&lines, "no daemon running").is_some(), "{lines:#?}");
    key(&mut app, KeyCode::Char('4'));
    assert!(find(&screen(&app), "no daemon running").is_some());
}

#[test]
fn managed_tab_shows_processes_and_follows_the_selected_log() {
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    let mut api = managed("api:1", 78);
    api.health = Health::Healthy;
    api.readiness = Health::Unhealthy;
    app.handle(Event::Daemon(Some(DaemonData {
        managed: vec![managed("web", 77), api],
        jobs: Vec::new(),
    })));
    for i in 0..100 {
        app.handle(Event::Log {
            name: "web".into(),
            line: format!("line {i}"),
        });
    }
    app.handle(Event::Log {
        name: "other".into(),
        line: "not shown".into(),
    });
    let lines = screen(&app);
    let row = find(&lines, "web ").expect("the managed row");
    assert!(lines[row].contains("running") && lines[row].contains("77"));
    let replica = find(&lines, "api:1 ").expect("the replica's row");
    assert!(
        lines[replica].contains("healthy, not ready"),
        "{}",
        lines[replica]
    );
    assert!(find(&lines, "logs: web (following)").is_some());
    assert!(
        find(&lines, "line 99").is_some(),
        "the newest line is shown"
    );
    assert!(find(&lines, "not shown").is_none());
    assert!(find(&lines, "daemon: running").is_some());
}

#[test]
fn colours_only_when_asked() {
    let colours = |app: &App| {
        let terminal = terminal(app);
        let buffer = terminal.backend().buffer().clone();
        buffer
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset || c.bg != Color::Reset)
    };
    let plain = app();
    assert!(!colours(&plain), "NO_COLOR or no TTY: no colour at all");
    let mut coloured = app();
    coloured.colour = true;
    assert!(colours(&coloured));
}

#[test]
fn help_overlay_lists_the_keys() {
    let mut app = resized(app(), 80, 24);
    key(&mut app, KeyCode::Char('?'));
    let lines = screen(&app);
    assert!(find(&lines, " Keys ").is_some());
    for text in ["kill the selected", "filter processes", "tree view", "quit"] {
        assert!(
            find(&lines, text).is_some(),
            "{text:?} missing:\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn a_click_selects_the_row_drawn_there_and_a_header_click_sorts() {
    let mut app = app();
    let lines = screen(&app);
    let y = find(&lines, "/usr/bin/vim").unwrap() as u16;
    let click = |column, row| {
        Event::Input(Term::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }))
    };
    app.handle(click(60, y));
    assert_eq!(app.selected_process().map(|p| p.pid), Some(300));
    let header = find(&lines, "PID").unwrap() as u16;
    app.handle(click(1, header));
    assert_eq!(app.sort, crate::commands::top::app::Column::Pid);
    app.handle(Event::Input(Term::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: y,
        modifiers: KeyModifiers::NONE,
    })));
    assert_eq!(app.selected_process().map(|p| p.pid), Some(400), "last row");
}
