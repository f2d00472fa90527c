//! The Tauri app: the window's commands, the tray, and the window that hides instead of
//! closing (the app lives in the tray until "Quit").

pub mod tray;

use tauri::{Emitter as _, Manager as _, RunEvent};

use crate::commands;
use crate::daemon::Managed;
use crate::kill::KillResult;
use crate::ports::PortRow;

/// `get_ports()`: every listening socket (the seed contract).
#[tauri::command]
async fn get_ports() -> Result<Vec<procward_core::PortInfo>, String> {
    commands::get_ports().await
}

/// Ports with their holders' identity and whether a kill asks first, the managed
/// processes and the dashboard's address: the window's data.
#[tauri::command]
async fn overview() -> Result<commands::Overview, String> {
    commands::overview().await
}

/// `kill_process(pid)`: SIGTERM, then SIGKILL; pinned to `startTicks` when given.
#[tauri::command]
async fn kill_process(app: tauri::AppHandle, pid: i64, start_ticks: Option<u64>) -> KillResult {
    let result = commands::kill_process(pid, start_ticks).await;
    tray::refresh_soon(&app);
    result
}

/// `kill_process_elevated(pid)`: the same kill as root through pkexec.
#[tauri::command]
async fn kill_process_elevated(
    app: tauri::AppHandle,
    pid: i64,
    start_ticks: Option<u64>,
) -> KillResult {
    let result = commands::kill_process_elevated(pid, start_ticks).await;
    tray::refresh_soon(&app);
    result
}

/// Start, stop or restart a managed process.
#[tauri::command]
async fn managed_action(
    app: tauri::AppHandle,
    name: String,
    action: String,
) -> Result<Managed, String> {
    let result = commands::managed_action(&name, &action).await;
    tray::refresh_soon(&app);
    result
}

/// Opens the daemon's dashboard in the browser.
#[tauri::command]
async fn open_dashboard() -> Result<String, String> {
    commands::open_dashboard().await
}

/// Shows the window, focused, creating it on first use: WebKit's processes start only
/// then, so the app costs about 200 MB less while it sits in the tray. With `confirm`,
/// the page asks to confirm killing that row (a new page reads it from its address, an
/// open one gets the `confirm-kill` event).
pub fn show_window(app: &tauri::AppHandle, confirm: Option<&PortRow>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
        if let Some(row) = confirm {
            notify(app, "confirm-kill", row.clone());
        }
        return;
    }
    let page = match confirm.and_then(|row| Some((row.info.pid?, row.start_ticks?))) {
        Some((pid, ticks)) => format!("index.html?confirm={pid}&ticks={ticks}"),
        None => "index.html".to_owned(),
    };
    let built = tauri::WebviewWindowBuilder::new(app, "main", tauri::WebviewUrl::App(page.into()))
        .title("procward")
        .inner_size(900.0, 560.0)
        .build();
    if let Err(e) = built {
        eprintln!("procward-desktop: cannot open the window: {e}");
    }
}

/// Tells the window something happened (a kill from the tray, a refused action), so it
/// can show it and refresh.
pub fn notify<S: serde::Serialize + Clone>(app: &tauri::AppHandle, event: &str, payload: S) {
    let _ = app.emit(event, payload);
}

/// Runs the app until "Quit".
pub fn run() -> anyhow::Result<()> {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![
            get_ports,
            overview,
            kill_process,
            kill_process_elevated,
            managed_action,
            open_dashboard
        ])
        .setup(|app| {
            tray::install(app.handle())?;
            if std::env::var_os("PROCWARD_DESKTOP_SHOW").is_some() {
                show_window(app.handle(), None);
            }
            Ok(())
        })
        .build(tauri::generate_context!())?
        .run(|_, event| {
            // Closing the window (which frees WebKit's processes) leaves the app in the
            // tray; only "Quit" (an exit with a code) ends it.
            if let RunEvent::ExitRequested {
                api, code: None, ..
            } = event
            {
                api.prevent_exit();
            }
        });
    Ok(())
}
