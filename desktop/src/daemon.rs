//! The running daemon of this user's `PROCWARD_HOME`, when there is one: its managed
//! processes, start/stop/restart, and its `KillProcess` (the one kill policy). The app
//! never starts a daemon; without one it still shows and kills ports through the core.

use std::time::Duration;

use procward_core::home::Home;
use procward_proto::client::{Backend, connect_unix};
use procward_proto::v1;
use serde::{Deserialize, Serialize};

use crate::kill::KillResult;

/// How long to wait for the daemon's socket to answer before going on without it.
const CONNECT_PATIENCE: Duration = Duration::from_secs(2);

/// The user agent the app sends (the daemon's audit log records the claim).
const USER_AGENT: &str = concat!("procward-desktop/", env!("CARGO_PKG_VERSION"));

/// A connected daemon.
#[derive(Debug, Clone)]
pub struct Daemon {
    backend: Backend,
    home: Home,
}

/// A managed process, as the tray and the window show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Managed {
    /// Its name.
    pub name: String,
    /// `running`, `stopped`, `failed`, ...
    pub state: String,
    /// Main pid (0 when not running).
    pub pid: u32,
    /// The main process's start time in clock ticks since boot (0 when not running).
    pub start_ticks: u64,
    /// Restarts so far.
    pub restarts: u32,
    /// Why it is stopped or failed, when known.
    pub reason: String,
}

impl Managed {
    /// Whether it is meant to be up (so the menu offers Stop rather than Start).
    pub fn is_up(&self) -> bool {
        matches!(
            self.state.as_str(),
            "running" | "starting" | "pending" | "paused"
        )
    }
}

/// What the tray and window can ask of a managed process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManagedAction {
    /// Start a stopped or failed process (the daemon's restart, which starts it).
    Start,
    /// Stop it (whole group, no restart).
    Stop,
    /// Stop and start it again.
    Restart,
}

impl std::str::FromStr for ManagedAction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "start" => Ok(Self::Start),
            "stop" => Ok(Self::Stop),
            "restart" => Ok(Self::Restart),
            other => Err(format!(
                "unknown action '{other}': use start, stop or restart"
            )),
        }
    }
}

impl Daemon {
    /// The daemon of `PROCWARD_HOME` (or the default home) when one answers; never starts
    /// one.
    pub async fn connect() -> Option<Self> {
        let home = Home::from_env().ok()?;
        let socket = home.socket();
        if !socket.exists() {
            return None;
        }
        let channel = tokio::time::timeout(CONNECT_PATIENCE, connect_unix(&socket, USER_AGENT))
            .await
            .ok()?
            .ok()?;
        let claim = (
            http::HeaderName::from_static("x-procward-client"),
            http::HeaderValue::from_static("desktop"),
        );
        let backend = Backend::new(channel).with_headers(vec![claim]);
        Some(Self { backend, home })
    }

    /// Its managed processes, by name.
    pub async fn managed(&self) -> Result<Vec<Managed>, tonic::Status> {
        let mut supervisor = self.backend.supervisor.clone();
        let list = supervisor
            .list(v1::ListRequest { metrics: false })
            .await?
            .into_inner();
        let mut managed: Vec<Managed> = list.processes.into_iter().map(managed_of).collect();
        managed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(managed)
    }

    /// Starts, stops or restarts the managed process `name`; the daemon validates the
    /// name. Returns the process as it is afterwards.
    pub async fn act(&self, action: ManagedAction, name: &str) -> Result<Managed, tonic::Status> {
        let mut supervisor = self.backend.supervisor.clone();
        let request = v1::NameRequest {
            name: name.to_owned(),
        };
        let process = match action {
            ManagedAction::Stop => supervisor.stop(request).await?,
            ManagedAction::Start | ManagedAction::Restart => supervisor.restart(request).await?,
        };
        Ok(managed_of(process.into_inner()))
    }

    /// Kills `pid` through the daemon's kill policy (SIGTERM, SIGKILL after 5 s; a managed
    /// process stopped through its supervisor), refused unless the process holding `pid`
    /// started at `start_ticks` when given.
    pub async fn kill(&self, pid: u32, start_ticks: Option<u64>) -> KillResult {
        let mut manager = self.backend.manager.clone();
        let request = v1::KillProcessRequest {
            pid,
            expected_start_ticks: start_ticks,
            ..Default::default()
        };
        match manager.kill_process(request).await {
            Ok(answer) => KillResult::from_action(answer.into_inner()),
            Err(status) => KillResult::from_status(&status),
        }
    }

    /// The dashboard's address, when the daemon serves one (`procward daemon --listen`).
    pub fn dashboard_url(&self) -> Option<String> {
        dashboard_url(&self.home)
    }
}

/// The dashboard's address from `tcp.json` in `home` (written while the daemon's TCP
/// listener is open); a wildcard address is reached on loopback.
pub fn dashboard_url(home: &Home) -> Option<String> {
    let text = std::fs::read_to_string(home.tcp_info()).ok()?;
    let info: serde_json::Value = serde_json::from_str(&text).ok()?;
    let address: std::net::SocketAddr = info.get("address")?.as_str()?.parse().ok()?;
    let tls = info.get("tls").and_then(serde_json::Value::as_bool) == Some(true);
    let host = match address.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    let scheme = if tls { "https" } else { "http" };
    Some(format!("{scheme}://{host}:{}/", address.port()))
}

fn managed_of(process: v1::ManagedProcess) -> Managed {
    let state = v1::ProcessState::try_from(process.state)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("PROCESS_STATE_")
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|_| "unknown".to_owned());
    Managed {
        name: process.name,
        state,
        pid: process.pid,
        start_ticks: process.start_ticks,
        restarts: process.restarts,
        reason: process.reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_address_comes_from_tcp_json() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().to_owned());
        assert_eq!(dashboard_url(&home), None);
        std::fs::write(
            home.tcp_info(),
            r#"{"address":"0.0.0.0:50051","tls":false}"#,
        )
        .unwrap();
        assert_eq!(
            dashboard_url(&home).as_deref(),
            Some("http://127.0.0.1:50051/")
        );
        std::fs::write(home.tcp_info(), r#"{"address":"[::1]:8443","tls":true}"#).unwrap();
        assert_eq!(dashboard_url(&home).as_deref(), Some("https://[::1]:8443/"));
        std::fs::write(home.tcp_info(), "not json").unwrap();
        assert_eq!(dashboard_url(&home), None);
    }

    #[test]
    fn states_read_as_lower_case_names() {
        let process = v1::ManagedProcess {
            name: "web".into(),
            state: v1::ProcessState::Running.into(),
            pid: 42,
            ..Default::default()
        };
        let managed = managed_of(process);
        assert_eq!(managed.state, "running");
        assert!(managed.is_up());
        assert_eq!("stop".parse::<ManagedAction>(), Ok(ManagedAction::Stop));
        assert!("delete".parse::<ManagedAction>().is_err());
    }
}
