//! Talking to the daemon: gRPC over the home's Unix socket, starting the daemon on first
//! need (as pm2 does) so `procward start` just works.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use procward_daemon::{Home, lock::DaemonLock};
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
    spawn_daemon(home, &[])?.wait(home).await
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
/// terminal (it makes itself a session leader and logs to its own file). It tells on a
/// pipe when it accepts connections, or why it cannot start: see [`Starting::wait`].
pub fn spawn_daemon(home: &Home, extra: &[std::ffi::OsString]) -> anyhow::Result<Starting> {
    let exe = crate::server_exe::path()?;
    // The daemon's stdout: it says `ready` there (then points stdout at /dev/null).
    let (reader, writer) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).context("cannot make a pipe")?;
    let child = Command::new(exe)
        .args(["daemon", "--detached-child", "--report-ready"])
        .args(extra)
        .args(
            crate::config::explicit_path()
                .map(|path| [std::ffi::OsStr::new("--config"), path.as_os_str()])
                .into_iter()
                .flatten(),
        )
        .env("PROCWARD_HOME", home.root())
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the procward daemon")?;
    Ok(Starting {
        pid: child.id(),
        ready: reader,
    })
}

/// A daemon [`spawn_daemon`] started, not known to be ready yet.
pub struct Starting {
    /// Its pid.
    pub pid: u32,
    /// The reading end of its stdout (`--report-ready`).
    ready: std::os::fd::OwnedFd,
}

impl Starting {
    /// Waits until the daemon says it accepts connections (no polling of the socket), then
    /// connects. A daemon that cannot start says why, and that is the error at once,
    /// instead of a timeout; unless another daemon won the home's lock meanwhile (two
    /// commands starting one at the same moment), which is then the one connected to.
    pub async fn wait(self, home: &Home) -> anyhow::Result<Channel> {
        let socket = home.socket();
        let pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(self.ready)
            .context("cannot read the daemon's start-up pipe")?;
        let said = tokio::time::timeout(START_PATIENCE, first_line(pipe)).await;
        let said = match said {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(e).context("cannot read the daemon's start-up pipe"),
            Err(_) => bail!(
                "the daemon did not open {} within {} s (see {})",
                socket.display(),
                START_PATIENCE.as_secs(),
                home.daemon_log().display()
            ),
        };
        if said == "ready" {
            return wait_for(&socket).await;
        }
        if DaemonLock::holder(&home.lock_file()).is_some_and(|pid| pid != self.pid) {
            return wait_for(&socket).await;
        }
        match said.strip_prefix("error: ") {
            Some(why) => bail!("the daemon could not start: {why}"),
            None => bail!(
                "the daemon exited as it started (see {})",
                home.daemon_log().display()
            ),
        }
    }
}

/// The first line `pipe` carries, without its newline; empty when it closes first.
async fn first_line(mut pipe: tokio::net::unix::pipe::Receiver) -> std::io::Result<String> {
    use tokio::io::AsyncReadExt as _;
    let mut said = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = pipe.read(&mut buf).await?;
        said.extend_from_slice(&buf[..n]);
        if n == 0 || said.contains(&b'\n') || said.len() > 64 * 1024 {
            break;
        }
    }
    let line = said.split(|&b| b == b'\n').next().unwrap_or_default();
    Ok(String::from_utf8_lossy(line).into_owned())
}
