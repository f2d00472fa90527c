//! The key-handling state machine, driven without a terminal.

use procward_core::sys::Load;
use procward_core::{PortInfo, PortProcess, ProcessInfo, ProcessStatus, Protocol, Signal};
use ratatui::crossterm::event::{
    Event as Term, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::app::{App, Column, Dialog, KillTarget, ManagedAction, Tab, signal_menu};
use super::keys::{Effect, Event, KeyMap};

/// A process for the tests.
pub fn process(pid: u32, ppid: u32, name: &str, cpu: f32, rss: u64) -> ProcessInfo {
    ProcessInfo {
        pid,
        ppid,
        name: name.into(),
        command: format!("/usr/bin/{name} --flag"),
        user: "alice".into(),
        uid: 1000,
        status: ProcessStatus::Sleeping,
        cpu_percent: cpu,
        memory_percent: rss as f32 / 1e7,
        memory_rss: rss,
        memory_vms: rss * 2,
        threads: 1,
        start_time: 1_700_000_000,
        start_ticks: 1000 + u64::from(pid),
        uptime_seconds: 60,
        cpu_user_ms: 0,
        cpu_system_ms: 0,
        handles: Default::default(),
    }
}

/// An app with four processes (init, a shell, its child and a hog) and a listener.
pub fn app() -> App {
    let mut app = App::new(KeyMap::default(), false, (120, 40));
    app.handle(Event::Load(Load {
        cpus: vec![12.5, 80.0],
        cpu_percent: 46.0,
        memory_total: 8 << 30,
        memory_used: 2 << 30,
        ..Load::default()
    }));
    app.handle(Event::Processes(vec![
        process(1, 0, "init", 0.0, 10_000),
        process(200, 1, "bash", 1.0, 50_000),
        process(300, 200, "vim", 5.0, 900_000),
        process(400, 1, "hog", 90.0, 20_000),
    ]));
    app.handle(Event::Ports(
        vec![PortInfo {
            protocol: Protocol::Tcp,
            local_address: "127.0.0.1".into(),
            port: 8080,
            pid: Some(300),
            process_name: Some("vim".into()),
            user: "alice".into(),
            uid: 1000,
            processes: vec![PortProcess {
                pid: 300,
                name: "vim".into(),
            }],
            inode: 1,
        }],
        vec![(300, 1300)],
    ));
    app
}

pub fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.handle(Event::Input(Term::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))))
}

pub fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn pids(app: &App) -> Vec<u32> {
    app.rows
        .iter()
        .map(|r| app.processes[r.index].pid)
        .collect()
}

#[test]
fn sorts_by_cpu_first_then_by_any_column_and_inverts() {
    let mut app = app();
    assert_eq!(pids(&app), [400, 300, 200, 1]);
    key(&mut app, KeyCode::Char('N'));
    assert_eq!((app.sort, app.descending), (Column::Pid, false));
    assert_eq!(pids(&app), [1, 200, 300, 400]);
    key(&mut app, KeyCode::Char('I'));
    assert_eq!(pids(&app), [400, 300, 200, 1]);
    key(&mut app, KeyCode::Char('M'));
    assert_eq!(pids(&app), [300, 200, 400, 1], "largest RSS first");
    key(&mut app, KeyCode::Char('>'));
    assert_eq!(app.sort, Column::Rss);
    key(&mut app, KeyCode::Char('<'));
    key(&mut app, KeyCode::Char('<'));
    assert_eq!(app.sort, Column::Cpu);
}

#[test]
fn filter_typing_narrows_enter_keeps_escape_clears() {
    let mut app = app();
    key(&mut app, KeyCode::Char('/'));
    assert!(app.filtering);
    // While typing, the action keys are text: `k` and `q` do not kill or quit.
    typed(&mut app, "vkq");
    assert_eq!(app.filter, "vkq");
    assert!(app.rows.is_empty() && app.dialog.is_none());
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    assert_eq!(pids(&app), [300]);
    key(&mut app, KeyCode::Enter);
    assert!(!app.filtering);
    assert_eq!(app.filter, "v");
    assert_eq!(pids(&app), [300], "the filter stays after Enter");
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "x");
    key(&mut app, KeyCode::Esc);
    assert!(!app.filtering && app.filter.is_empty());
    assert_eq!(app.rows.len(), 4);
}

#[test]
fn tabs_switch_by_key_number_and_click_and_tell_the_collectors() {
    let mut app = app();
    assert_eq!(key(&mut app, KeyCode::Tab), [Effect::Watch(Tab::Managed)]);
    assert_eq!(
        key(&mut app, KeyCode::Char('3')),
        [Effect::Watch(Tab::Ports)]
    );
    assert_eq!(
        key(&mut app, KeyCode::BackTab),
        [Effect::Watch(Tab::Managed)]
    );
    assert_eq!(key(&mut app, KeyCode::Char('2')), [], "already there");
    let click = |column| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row: 0,
        modifiers: KeyModifiers::NONE,
    };
    // " 1 Processes " is 13 wide, then a space: column 15 is in " 2 Managed ", 28 in Ports.
    let effects = app.handle(Event::Input(Term::Mouse(click(28))));
    assert_eq!(effects, [Effect::Watch(Tab::Ports)]);
    assert_eq!(app.tab, Tab::Ports);
    assert_eq!(key(&mut app, KeyCode::Char('q')), [Effect::Quit]);
}

#[test]
fn tree_view_nests_and_folds() {
    let mut app = app();
    key(&mut app, KeyCode::Char('t'));
    assert!(app.tree);
    assert_eq!(
        pids(&app),
        [1, 400, 200, 300],
        "children sorted by CPU under parents"
    );
    let depths: Vec<usize> = app.rows.iter().map(|r| r.depth).collect();
    assert_eq!(depths, [0, 1, 1, 2]);
    // Select bash and fold it: vim disappears.
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    assert_eq!(app.selected_process().map(|p| p.pid), Some(200));
    key(&mut app, KeyCode::Left);
    assert_eq!(pids(&app), [1, 400, 200]);
    assert!(app.rows[2].collapsed);
    key(&mut app, KeyCode::Char(' '));
    assert_eq!(pids(&app), [1, 400, 200, 300]);
    key(&mut app, KeyCode::Char('t'));
    assert_eq!(pids(&app), [400, 300, 200, 1]);
}

#[test]
fn kill_dialog_chooses_a_signal_and_confirms_with_the_listed_start_ticks() {
    let mut app = app();
    key(&mut app, KeyCode::Down); // vim (pid 300), second busiest
    key(&mut app, KeyCode::Char('k'));
    let Some(Dialog::Kill {
        targets, choice, ..
    }) = app.dialog.clone()
    else {
        panic!("no kill dialog: {:?}", app.dialog);
    };
    assert_eq!(choice, 0);
    assert_eq!(
        targets,
        [KillTarget {
            pid: 300,
            start_ticks: Some(1300),
            name: "vim".into()
        }]
    );
    // New data while the dialog is open does not change what it will kill.
    app.handle(Event::Processes(vec![process(300, 1, "other", 99.0, 1)]));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    let effects = key(&mut app, KeyCode::Enter);
    assert!(app.dialog.is_none());
    let choice = signal_menu()[3];
    assert_eq!(choice.signal, Signal::KILL);
    assert_eq!(effects, [Effect::Kill { targets, choice }]);
    let requests = super::data::requests(
        &[KillTarget {
            pid: 300,
            start_ticks: Some(1300),
            name: "vim".into(),
        }],
        signal_menu()[0],
        app.grace,
    );
    assert_eq!(requests[0].expected_start_ticks, Some(1300));
    assert_eq!(requests[0].signal, Signal::TERM);
    assert_eq!(
        requests[0].escalation,
        procward_core::Escalation::KillAfter(app.grace)
    );
}

#[test]
fn kill_dialog_cancels_with_escape_and_a_digit_picks_a_signal() {
    let mut app = app();
    key(&mut app, KeyCode::Char('k'));
    assert!(app.dialog.is_some());
    assert_eq!(key(&mut app, KeyCode::Esc), []);
    assert!(app.dialog.is_none());
    assert_eq!(app.message.as_deref(), Some("cancelled"));
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Char('3'));
    let effects = key(&mut app, KeyCode::Char('y'));
    let [Effect::Kill { targets, choice }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(choice.signal.name(), "SIGHUP");
    assert!(!choice.escalate);
    assert_eq!(targets[0].pid, 400);
}

#[test]
fn ports_tab_kills_the_holders_pinned_to_their_ticks() {
    let mut app = app();
    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Char('k'));
    let Some(Dialog::Kill { targets, what, .. }) = &app.dialog else {
        panic!("no dialog");
    };
    assert_eq!(what, "port 8080/tcp");
    assert_eq!(targets[0].start_ticks, Some(1300));
    let effects = key(&mut app, KeyCode::Enter);
    assert!(matches!(&effects[..], [Effect::Kill { targets, .. }] if targets[0].pid == 300));
}

#[test]
fn managed_keys_ask_the_daemon_and_delete_asks_first() {
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    assert_eq!(
        key(&mut app, KeyCode::Char('x')),
        [],
        "nothing selected without a daemon"
    );
    let view = managed("web", 77);
    let effects = app.handle(Event::Daemon(Some(super::app::DaemonData {
        managed: vec![view],
        jobs: Vec::new(),
    })));
    assert_eq!(effects, [Effect::FollowLogs(Some("web".into()))]);
    let stop = Effect::Managed {
        action: ManagedAction::Stop,
        name: "web".into(),
    };
    assert_eq!(key(&mut app, KeyCode::Char('x')), [stop]);
    assert_eq!(key(&mut app, KeyCode::Char('d')), []);
    assert!(matches!(app.dialog, Some(Dialog::Confirm { .. })));
    let delete = Effect::Managed {
        action: ManagedAction::Delete,
        name: "web".into(),
    };
    assert_eq!(key(&mut app, KeyCode::Enter), [delete]);
    // The daemon goes away: nothing to follow.
    assert_eq!(app.handle(Event::Daemon(None)), [Effect::FollowLogs(None)]);
}

#[test]
fn help_opens_and_any_key_closes_it() {
    let mut app = app();
    key(&mut app, KeyCode::Char('?'));
    assert!(app.help);
    assert_eq!(
        key(&mut app, KeyCode::Char('q')),
        [],
        "q closes the help, not the app"
    );
    assert!(!app.help);
}

#[test]
fn key_overrides_apply() {
    let keys = KeyMap {
        kill: 'K',
        ..KeyMap::default()
    };
    let mut app = App::new(keys, false, (100, 30));
    app.handle(Event::Processes(vec![process(5, 1, "x", 0.0, 1)]));
    key(&mut app, KeyCode::Char('k'));
    assert!(app.dialog.is_none());
    key(&mut app, KeyCode::Char('K'));
    assert!(app.dialog.is_some());
    let overrides = crate::config::TopKeys {
        kill: Some("K".into()),
        quit: Some("K".into()),
        ..Default::default()
    };
    assert!(super::key_map(&overrides).is_err(), "one key, two actions");
    let overrides = crate::config::TopKeys {
        tree: Some("tt".into()),
        ..Default::default()
    };
    assert!(super::key_map(&overrides).is_err());
    assert!(super::refresh_interval(Some("10ms")).is_err());
    assert_eq!(
        super::refresh_interval(Some("2s")).unwrap(),
        std::time::Duration::from_secs(2)
    );
}

/// A running managed process as the daemon lists it.
pub fn managed(name: &str, pid: u32) -> procward_core::supervisor::view::ManagedView {
    use procward_proto::v1;
    let wire = v1::ManagedProcess {
        name: name.into(),
        state: v1::ProcessState::Running.into(),
        health: v1::HealthState::None.into(),
        pid,
        spec: Some(procward_proto::convert::spec_to_proto(
            &procward_core::supervisor::spec::ProcessSpec::new(
                name,
                vec!["sleep".into(), "100".into()],
            ),
        )),
        ..Default::default()
    };
    procward_proto::convert::view_from_proto(wire).expect("a managed view")
}
