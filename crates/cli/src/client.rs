//! Talking to the daemon: gRPC over the home's Unix socket, starting the daemon on first
//! need (as pm2 does) so `procward start` just works.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use procward_daemon::Home;
use procward_proto::v1::supervisor_client::SupervisorClient;
use tonic::transport::Channel;

/// How long a freshly started daemon may take to open its socket.
const START_PATIENCE: Duration = Duration::from_secs(10);

/// The user agent of the CLI's gRPC calls (`procward-cli/VERSION`).
const CLI_USER_AGENT: &str = concat!("procward-cli/", env!("CARGO_PKG_VERSION"));

/// A connected gRPC client.
pub type Client = SupervisorClient<Channel>;

/// Connects to the daemon of `home`, starting one when none runs and `autostart` is set.
pub async fn connect(home: &Home, autostart: bool) -> anyhow::Result<Client> {
    let channel = connect_channel(home, autostart).await?;
    Ok(SupervisorClient::new(channel).max_decoding_message_size(64 * 1024 * 1024))
}

/// [`connect`], as a channel for any of the daemon's services.
pub async fn connect_channel(home: &Home, autostart: bool) -> anyhow::Result<Channel> {
    let socket = home.socket();
    if let Ok(channel) = try_connect(&socket).await {
        return Ok(channel);
    }
    if !autostart {
        bail!(
            "no procward daemon is running for {} (start one with `procward daemon --detach`)",
            home.root().display()
        );
    }
    spawn_daemon(home, &[])?;
    wait_for(&socket).await
}

/// A channel to the daemon of `home` when one is running; `None` (never an error, never a
/// daemon started) otherwise. For commands that only defer to a daemon that exists, such
/// as `kill` handing managed processes to their supervisor.
pub async fn running(home: &Home) -> Option<Channel> {
    let socket = home.socket();
    if !socket.exists() {
        return None;
    }
    try_connect(&socket).await.ok()
}

/// Waits for a daemon that is starting to answer on `socket`.
pub async fn wait_for(socket: &Path) -> anyhow::Result<Channel> {
    let started = Instant::now();
    loop {
        match try_connect(socket).await {
            Ok(client) => return Ok(client),
            Err(e) if started.elapsed() > START_PATIENCE => {
                return Err(e).context(format!(
                    "the daemon did not open {} in time",
                    socket.display()
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
}

async fn try_connect(socket: &Path) -> anyhow::Result<Channel> {
    // The user agent names the CLI in the daemon's audit log (`client: cli`, a claim).
    Ok(procward_proto::client::connect_unix(socket, CLI_USER_AGENT).await?)
}

/// Starts `procwardd daemon --detached-child` for `home`, fully detached from this
/// terminal (it makes itself a session leader and logs to its own file).
pub fn spawn_daemon(home: &Home, extra: &[std::ffi::OsString]) -> anyhow::Result<u32> {
    let exe = crate::server_exe::path()?;
    let child = Command::new(exe)
        .args(["daemon", "--detached-child"])
        .args(extra)
        .args(
            crate::config::explicit_path()
                .map(|path| [std::ffi::OsStr::new("--config"), path.as_os_str()])
                .into_iter()
                .flatten(),
        )
        .env("PROCWARD_HOME", home.root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the procward daemon")?;
    Ok(child.id())
}
