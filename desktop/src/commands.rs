//! The app's commands, transport-free: the Tauri window invokes them (see [`crate::app`]),
//! the tray's menu runs them, and `procward-desktop invoke NAME JSON` runs them from a
//! shell. Every argument is checked here, whoever calls.

use procward_core::signal::{helper_path, kill_elevated, validate_pid};
use procward_core::{ElevationMethod, KillRequest, PortInfo, is_owned_by_current_user};
use serde::Serialize;

use crate::daemon::{Daemon, Managed, ManagedAction};
use crate::kill::KillResult;
use crate::ports::{self, PortRow};

/// What the window shows: the ports, the managed processes (when a daemon runs) and
/// where the dashboard is.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// One row per listening socket and holder.
    pub ports: Vec<PortRow>,
    /// The daemon's managed processes (empty without a daemon).
    pub managed: Vec<Managed>,
    /// Whether a daemon answered.
    pub daemon: bool,
    /// The daemon's dashboard, when it serves one.
    pub dashboard: Option<String>,
}

/// `get_ports`: every listening socket (the seed contract).
pub async fn get_ports() -> Result<Vec<PortInfo>, String> {
    blocking(ports::get_ports).await?
}

/// The window's and the tray's data in one read.
pub async fn overview() -> Result<Overview, String> {
    let daemon = Daemon::connect().await;
    let managed = match &daemon {
        Some(d) => d.managed().await.unwrap_or_default(),
        None => Vec::new(),
    };
    let known = managed.clone();
    let rows = blocking(move || ports::get_ports().map(|p| ports::rows(p, &known))).await??;
    Ok(Overview {
        ports: rows,
        managed,
        dashboard: daemon.as_ref().and_then(Daemon::dashboard_url),
        daemon: daemon.is_some(),
    })
}

/// `kill_process`: SIGTERM, then SIGKILL after 5 s, refused unless `pid` is still the
/// process that started at `start_ticks` (when given). Through the daemon's kill policy
/// when one runs (a managed process is stopped by its supervisor, not restarted), else
/// by the core's pidfd kill here.
pub async fn kill_process(pid: i64, start_ticks: Option<u64>) -> KillResult {
    let pid = match validate_pid(pid) {
        Ok(pid) => pid,
        Err(e) => return KillResult::from_core(Err(e)),
    };
    if let Some(daemon) = Daemon::connect().await {
        return daemon.kill(pid, start_ticks).await;
    }
    let request = pinned(pid, start_ticks);
    match blocking(move || procward_core::kill(&request)).await {
        Ok(result) => KillResult::from_core(result),
        Err(e) => KillResult::Failed(e),
    }
}

/// `kill_process_elevated`: the same kill as root, through pkexec (or `sudo -n` without
/// it), running procward's own `kill` so the same checks hold as root. This user's own
/// processes need no elevation and take the [`kill_process`] path. pkexec's exit 126
/// (dismissed) and 127 (not authorised or no agent) come back as [`KillResult::Failed`]
/// saying so; nothing is signalled then.
pub async fn kill_process_elevated(pid: i64, start_ticks: Option<u64>) -> KillResult {
    let pid = match validate_pid(pid) {
        Ok(pid) => pid,
        Err(e) => return KillResult::from_core(Err(e)),
    };
    if is_owned_by_current_user(pid).unwrap_or(false) {
        return kill_process(i64::from(pid), start_ticks).await;
    }
    let request = pinned(pid, start_ticks);
    let elevated = blocking(move || {
        let helper = helper_path()?;
        kill_elevated(&request, ElevationMethod::Auto, &helper)
    })
    .await;
    match elevated {
        Ok(result) => KillResult::from_core(result),
        Err(e) => KillResult::Failed(e),
    }
}

/// Starts, stops or restarts a managed process (needs a running daemon).
pub async fn managed_action(name: &str, action: &str) -> Result<Managed, String> {
    let action: ManagedAction = action.parse()?;
    let daemon = Daemon::connect()
        .await
        .ok_or_else(|| "no procward daemon is running for this user".to_owned())?;
    daemon
        .act(action, name)
        .await
        .map_err(|status| status.message().to_owned())
}

/// The dashboard's address, when a daemon serves one.
pub async fn dashboard_url() -> Option<String> {
    Daemon::connect()
        .await
        .as_ref()
        .and_then(Daemon::dashboard_url)
}

/// Opens `url` (the dashboard's) in the desktop's browser with `xdg-open`; only the
/// daemon's own dashboard address is accepted.
pub async fn open_dashboard() -> Result<String, String> {
    let url = dashboard_url()
        .await
        .ok_or_else(|| "the daemon serves no dashboard: start it with --listen".to_owned())?;
    std::process::Command::new("xdg-open")
        .arg(&url)
        .spawn()
        .map_err(|e| format!("cannot run xdg-open: {e}"))?;
    Ok(url)
}

fn pinned(pid: u32, start_ticks: Option<u64>) -> KillRequest {
    KillRequest {
        expected_start_ticks: start_ticks,
        ..KillRequest::new(pid)
    }
}

/// Runs blocking core work (a kill waits for the exit) off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("internal error: {e}"))
}

/// `procward-desktop invoke NAME [JSON]`: runs one command by its Tauri name with the
/// window's argument names (`{"pid": 4242, "startTicks": 918273}`) and returns its answer
/// as JSON. Unknown names and malformed arguments are errors; nothing runs then.
pub async fn invoke(name: &str, args: &serde_json::Value) -> Result<serde_json::Value, String> {
    let pid = || -> Result<i64, String> {
        args.get("pid")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| "missing or non-integer argument 'pid'".to_owned())
    };
    let ticks = || -> Result<Option<u64>, String> {
        match args.get("startTicks") {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| "argument 'startTicks' must be a non-negative integer".to_owned()),
        }
    };
    let text = |key: &str| -> Result<String, String> {
        args.get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("missing or non-string argument '{key}'"))
    };
    let json = |v: Result<serde_json::Value, serde_json::Error>| v.map_err(|e| e.to_string());
    match name {
        "get_ports" => json(serde_json::to_value(get_ports().await?)),
        "overview" => json(serde_json::to_value(overview().await?)),
        "kill_process" => json(serde_json::to_value(kill_process(pid()?, ticks()?).await)),
        "kill_process_elevated" => json(serde_json::to_value(
            kill_process_elevated(pid()?, ticks()?).await,
        )),
        "managed_action" => json(serde_json::to_value(
            managed_action(&text("name")?, &text("action")?).await?,
        )),
        "dashboard_url" => json(serde_json::to_value(dashboard_url().await)),
        other => Err(format!(
            "unknown command '{other}': use get_ports, overview, kill_process, \
             kill_process_elevated, managed_action or dashboard_url"
        )),
    }
}
