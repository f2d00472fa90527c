//! The tray icon and its menu: the listening ports (each with Kill), the managed
//! processes, "Open procward" and "Quit". The menu is read again every few seconds (a
//! tray cannot tell the app when its menu opens on every desktop), and replaced only when
//! what it shows changed.

use std::sync::Mutex;
use std::time::Duration;

use tauri::menu::{IsMenuItem, Menu, MenuItem, MenuItemKind, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager as _, Wry};

use crate::commands::{self, Overview};
use crate::kill::KillResult;
use crate::tray_model::{self, Action, Entry};

/// The tray icon's id.
const TRAY: &str = "procward";

/// How often the menu is read again.
const REFRESH: Duration = Duration::from_secs(3);

/// The menu shown now and the overview it came from (the window's confirm dialog needs
/// the row a click was about).
#[derive(Default)]
struct Shown {
    entries: Vec<Entry>,
    overview: Option<Overview>,
}

/// Creates the tray icon with the first menu and starts the refresh loop.
pub fn install(app: &AppHandle) -> tauri::Result<()> {
    app.manage(Mutex::new(Shown::default()));
    let icon = app
        .default_window_icon()
        .cloned()
        .ok_or_else(|| tauri::Error::AssetNotFound("icons/icon.png".into()))?;
    let placeholder = Menu::with_items(
        app,
        &[&MenuItem::with_id(
            app,
            "loading",
            "Reading ports…",
            false,
            None::<&str>,
        )?],
    )?;
    TrayIconBuilder::with_id(TRAY)
        .icon(icon)
        .tooltip("procward")
        .menu(&placeholder)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_click(app, event.id().as_ref()))
        .build(app)?;
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            refresh(&handle).await;
            tokio::time::sleep(REFRESH).await;
        }
    });
    Ok(())
}

/// Reads the ports again and replaces the menu if it changed.
pub async fn refresh(app: &AppHandle) {
    let overview = match commands::overview().await {
        Ok(overview) => overview,
        Err(e) => {
            eprintln!("procward-desktop: cannot read the ports: {e}");
            return;
        }
    };
    let entries = tray_model::menu(&overview);
    let state = app.state::<Mutex<Shown>>();
    {
        let mut shown = state.lock().unwrap_or_else(|e| e.into_inner());
        shown.overview = Some(overview);
        if shown.entries == entries {
            return;
        }
        shown.entries = entries.clone();
    }
    match build(app, &entries) {
        Ok(menu) => {
            if let Some(tray) = app.tray_by_id(TRAY) {
                let _ = tray.set_menu(Some(menu));
            }
        }
        Err(e) => eprintln!("procward-desktop: cannot build the tray menu: {e}"),
    }
}

/// A refresh right after an action, off the caller's path.
pub fn refresh_soon(app: &AppHandle) {
    let handle = app.clone();
    tauri::async_runtime::spawn(async move { refresh(&handle).await });
}

fn build(app: &AppHandle, entries: &[Entry]) -> tauri::Result<Menu<Wry>> {
    let items = kinds(app, entries)?;
    let refs: Vec<&dyn IsMenuItem<Wry>> = items.iter().map(|i| i as &dyn IsMenuItem<Wry>).collect();
    Menu::with_items(app, &refs)
}

fn kinds(app: &AppHandle, entries: &[Entry]) -> tauri::Result<Vec<MenuItemKind<Wry>>> {
    let mut items = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        items.push(match entry {
            Entry::Item { label, action } => {
                let id = action
                    .as_ref()
                    .map_or_else(|| format!("label:{index}"), Action::id);
                MenuItemKind::MenuItem(MenuItem::with_id(
                    app,
                    id,
                    label,
                    action.is_some(),
                    None::<&str>,
                )?)
            }
            Entry::Submenu { id, label, entries } => {
                let children = kinds(app, entries)?;
                let refs: Vec<&dyn IsMenuItem<Wry>> =
                    children.iter().map(|i| i as &dyn IsMenuItem<Wry>).collect();
                MenuItemKind::Submenu(Submenu::with_id_and_items(app, id, label, true, &refs)?)
            }
            Entry::Separator => MenuItemKind::Predefined(PredefinedMenuItem::separator(app)?),
        });
    }
    Ok(items)
}

/// A click on a menu item.
fn on_click(app: &AppHandle, id: &str) {
    let Some(action) = Action::parse(id) else {
        return;
    };
    match action {
        Action::Open => super::show_window(app, None),
        Action::Quit => app.exit(0),
        Action::Refresh => refresh_soon(app),
        Action::Dashboard => {
            tauri::async_runtime::spawn(async move {
                if let Err(e) = commands::open_dashboard().await {
                    eprintln!("procward-desktop: {e}");
                }
            });
        }
        Action::Kill { pid, start_ticks } => match listed(app, pid, start_ticks) {
            // A managed process or another user's: the window asks first.
            Some(row) if row.confirm => super::show_window(app, Some(&row)),
            Some(_) => run_kill(app, pid, start_ticks, false),
            // Gone from the listing since the menu was built: nothing is signalled.
            None => {
                let gone = KillResult::NotFound(format!(
                    "pid {pid} no longer holds a listed port; nothing was signalled"
                ));
                super::notify(app, "kill-result", gone);
                refresh_soon(app);
            }
        },
        Action::KillElevated { pid, start_ticks } => run_kill(app, pid, start_ticks, true),
        Action::Managed { action, name } => {
            let handle = app.clone();
            tauri::async_runtime::spawn(async move {
                let result = commands::managed_action(&name, &action).await;
                if let Err(e) = &result {
                    eprintln!("procward-desktop: {action} {name}: {e}");
                }
                super::notify(&handle, "managed-result", result);
                refresh(&handle).await;
            });
        }
    }
}

/// The row of the latest listing held by this very process (`pid` started at
/// `start_ticks`), if it is still listed.
fn listed(app: &AppHandle, pid: u32, start_ticks: u64) -> Option<crate::ports::PortRow> {
    let state = app.state::<Mutex<Shown>>();
    let shown = state.lock().unwrap_or_else(|e| e.into_inner());
    shown
        .overview
        .as_ref()?
        .ports
        .iter()
        .find(|row| row.info.pid == Some(pid) && row.start_ticks.unwrap_or(0) == start_ticks)
        .cloned()
}

fn run_kill(app: &AppHandle, pid: u32, start_ticks: u64, elevated: bool) {
    let handle = app.clone();
    let ticks = (start_ticks != 0).then_some(start_ticks);
    tauri::async_runtime::spawn(async move {
        let result: KillResult = if elevated {
            commands::kill_process_elevated(i64::from(pid), ticks).await
        } else {
            commands::kill_process(i64::from(pid), ticks).await
        };
        eprintln!("procward-desktop: kill {pid}: {}", result.message());
        super::notify(&handle, "kill-result", result);
        refresh(&handle).await;
    });
}
