//! `procward daemon`: run the daemon (foreground or detached), see it, stop it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use procward_daemon::{Home, lock::DaemonLock};
use procward_proto::v1;
use serde_json::json;

use super::Context;
use crate::client;
use crate::output::{Output, format};

const EXAMPLES: &str = "\
Examples:
  procward daemon                 run in the foreground (logs also to stderr on a terminal)
  procward daemon --detach        run in the background and return once it answers
  procward daemon --listen 127.0.0.1:50051
                                  also serve gRPC on TCP (clients send `procward token`)
  procward daemon --listen 0.0.0.0:50051 --tls-cert cert.pem --tls-key key.pem
  procward daemon status          pid, uptime, home and number of managed processes
  procward daemon stop            stop the daemon; managed processes keep running

The daemon keeps its state in $PROCWARD_HOME (default ~/.local/state/procward).
Other commands start it on first need. The TCP listener can also be set in the config
file: [daemon] listen = \"127.0.0.1:50051\", tls_cert = \"...\", tls_key = \"...\",
and its limits: max_connections = 512, handshake_timeout = \"10s\",
header_read_timeout = \"10s\", idle_timeout = \"120s\", allowed_hosts = [\"name\"],
allowed_origins = [\"https://host:port\"].";

/// Arguments of `procward daemon`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Run in the background.
    #[arg(long)]
    detach: bool,
    /// Internal: the background process started by --detach or by another command.
    #[arg(long, hide = true)]
    pub(super) detached_child: bool,
    /// Internal: stdout is a pipe to the command that started this daemon, told `ready`
    /// once the socket accepts connections, or why the daemon could not start.
    #[arg(long, hide = true, requires = "detached_child")]
    pub(super) report_ready: bool,
    /// Also serve gRPC on this TCP address (port 0 picks a free one; see tcp.json in the
    /// home). Every call must send `authorization: Bearer $(procward token)`.
    #[arg(long, value_name = "ADDR:PORT")]
    pub(super) listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM) for the TCP listener.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub(super) tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for the TCP listener.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub(super) tls_key: Option<PathBuf>,
    /// Most TCP connections open at once; more are closed at accept [default: 512].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub(super) max_connections: Option<u64>,
    /// Time a TCP client has to send its first byte or finish the TLS handshake
    /// (100ms to 1h) [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = connection_timeout)]
    pub(super) handshake_timeout: Option<Duration>,
    /// Time an HTTP/1 client has to send a whole request head, also between keep-alive
    /// requests (100ms to 1h) [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = connection_timeout)]
    pub(super) header_read_timeout: Option<Duration>,
    /// A TCP connection with no request in flight for this long is closed; running
    /// streams and WebSockets count as in flight (100ms to 1h) [default: 120s].
    #[arg(long, value_name = "DURATION", value_parser = connection_timeout)]
    pub(super) idle_timeout: Option<Duration>,
    /// Also answer requests whose Host is NAME (repeatable; `*`: any). IP addresses,
    /// localhost and this machine's name are always answered.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub(super) allow_hosts: Vec<String>,
    /// Also accept browser requests from ORIGIN, e.g. https://dash.example.com
    /// (repeatable; `*`: any). The listener's own and loopback origins always are.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub(super) allow_origins: Vec<String>,
}

/// A connection timeout: 100 ms to an hour.
pub(super) fn connection_timeout(text: &str) -> Result<Duration, String> {
    let value = crate::parse::timeout(text)?;
    if value < Duration::from_millis(100) {
        return Err(format!("'{text}' is shorter than 100ms"));
    }
    Ok(value)
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Show whether a daemon runs, and its pid, uptime and managed processes.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop the daemon (managed processes keep running and are re-adopted later).
    Stop,
}

/// Runs `procward daemon ...`: `status`, `stop` and `--detach` here; the foreground
/// daemon itself is `procwardd`, which this process becomes (same pid, same stdio).
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let home = Home::from_env()?;
    match args.action {
        Some(Action::Status { json }) => {
            super::block_on(status(&home, Output::new(json, ctx.color)))
        }
        Some(Action::Stop) => super::block_on(stop(&home)),
        None if args.detach => super::block_on(detach(&home, &args)),
        None => crate::server_exe::exec_self_args(),
    }
}

impl Args {
    /// Whether these arguments run the daemon itself (no `status`/`stop`, no `--detach`).
    pub fn serves(&self) -> bool {
        self.action.is_none() && !self.detach
    }
}

async fn detach(home: &Home, args: &Args) -> anyhow::Result<u8> {
    home.create()?;
    if let Some(pid) = DaemonLock::holder(&home.lock_file()) {
        println!("procward daemon already running (pid {pid})");
        return Ok(crate::exit::OK);
    }
    // The child reads the config file itself; flags are passed on.
    let mut extra: Vec<std::ffi::OsString> = Vec::new();
    if let Some(listen) = args.listen {
        extra.extend(["--listen".into(), listen.to_string().into()]);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        extra.extend([
            "--tls-cert".into(),
            cert.into(),
            "--tls-key".into(),
            key.into(),
        ]);
    }
    if let Some(n) = args.max_connections {
        extra.extend(["--max-connections".into(), n.to_string().into()]);
    }
    for (flag, value) in [
        ("--handshake-timeout", args.handshake_timeout),
        ("--header-read-timeout", args.header_read_timeout),
        ("--idle-timeout", args.idle_timeout),
    ] {
        if let Some(value) = value {
            extra.extend([flag.into(), format!("{}ms", value.as_millis()).into()]);
        }
    }
    for host in &args.allow_hosts {
        extra.extend(["--allow-host".into(), host.into()]);
    }
    for origin in &args.allow_origins {
        extra.extend(["--allow-origin".into(), origin.into()]);
    }
    let starting = client::spawn_daemon(home, &extra)?;
    let pid = starting.pid;
    starting.wait(home).await?;
    println!(
        "procward daemon started (pid {pid}, home {})",
        home.root().display()
    );
    Ok(crate::exit::OK)
}

async fn status(home: &Home, output: Output) -> anyhow::Result<u8> {
    let Ok(mut client) = client::connect(home, false).await else {
        if output.json {
            output.json(&json!({"running": false, "home": home.root()}))?;
        } else {
            println!("no daemon running for {}", home.root().display());
        }
        return Ok(crate::exit::FAILED);
    };
    let info = client
        .daemon_info(v1::DaemonInfoRequest {})
        .await?
        .into_inner();
    if output.json {
        output.json(&json!({
            "running": true, "pid": info.pid, "version": info.version, "home": info.home,
            "socket": info.socket, "uptime_ms": info.uptime_ms, "managed": info.managed,
            "memory_rss": info.memory_rss, "tcp_address": info.tcp_address, "tls": info.tls,
            "limits": info.limits,
        }))?;
    } else {
        println!(
            "procward daemon {} running: pid {}, up {}, {} managed, {} RSS\nhome   {}\nsocket {}\nlimits {}",
            info.version,
            info.pid,
            format::duration(info.uptime_ms / 1000),
            info.managed,
            format::bytes(info.memory_rss),
            info.home,
            info.socket,
            info.limits
        );
        if !info.tcp_address.is_empty() {
            let scheme = if info.tls { "TLS" } else { "plain" };
            let url = if info.tls { "https" } else { "http" };
            println!(
                "tcp    {} ({scheme}, bearer token: `procward token`)\nmcp    {url}://{}/mcp",
                info.tcp_address, info.tcp_address
            );
        }
    }
    Ok(crate::exit::OK)
}

pub(super) async fn stop(home: &Home) -> anyhow::Result<u8> {
    let Some(pid) = DaemonLock::holder(&home.lock_file()) else {
        println!("no daemon running for {}", home.root().display());
        return Ok(crate::exit::OK);
    };
    let mut client = client::connect(home, false).await?;
    client.shutdown(v1::ShutdownRequest {}).await?;
    // The lock is released when the daemon process is gone.
    let started = std::time::Instant::now();
    while DaemonLock::holder(&home.lock_file()).is_some() {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            anyhow::bail!("the daemon (pid {pid}) did not stop within 10 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    println!("procward daemon stopped (pid {pid}); managed processes keep running");
    Ok(crate::exit::OK)
}
