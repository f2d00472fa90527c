//! The daemon's foreground server, run by `procwardd daemon`: the listener and TCP
//! options from flags and the config file, then the engine and every transport. The
//! `procward` client never links this (it execs `procwardd`), which keeps the client small
//! and fast to start.

use std::io::{IsTerminal, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use procward_daemon::transport::http::{TcpLimits, TlsFiles};
use procward_daemon::{DaemonOptions, Home};

use super::Context;
use super::daemon::{Args, connection_timeout};
use crate::config::DaemonConfig;

/// Runs the daemon in the foreground until it is stopped. With `--report-ready`, whoever
/// started it hears `ready` on this process's stdout once it accepts connections, or
/// `error: WHY` when it cannot start.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let mut report = args.report_ready.then(report_pipe).transpose()?;
    let ready = report.as_ref().map(std::fs::File::try_clone).transpose()?;
    let result = start(args, ctx, ready);
    if let (Err(e), Some(report)) = (&result, report.as_mut()) {
        // Nobody may be listening any more (the starter gave up): nothing more to do.
        let _ = writeln!(report, "error: {}", crate::exit::describe(e));
    }
    result
}

/// Takes stdout, the pipe to the starter, as a close-on-exec file of its own and points
/// stdout at /dev/null: no shim or managed process can hold the pipe open, so the starter
/// sees it close when this daemon dies before it is ready.
fn report_pipe() -> anyhow::Result<std::fs::File> {
    use std::os::fd::AsFd as _;
    let pipe = std::io::stdout().as_fd().try_clone_to_owned()?;
    let null = std::fs::File::options().write(true).open("/dev/null")?;
    rustix::stdio::dup2_stdout(&null)?;
    Ok(std::fs::File::from(pipe))
}

fn start(args: Args, ctx: &Context, ready: Option<std::fs::File>) -> anyhow::Result<u8> {
    let home = Home::from_env()?;
    let (listen, tls) = listener(&args, &ctx.config.daemon)?;
    let mcp = super::mcp::policy(false, None, &ctx.config.mcp)?;
    let tcp = tcp_options(&args, &ctx.config.daemon)?;
    let engine = procward_daemon::engine::EngineConfig {
        queue: ctx.config.queue.daemon_config()?,
        spawn_limits: ctx.config.limits.daemon_config()?,
        ..Default::default()
    };
    serve(
        home,
        args.detached_child,
        (listen, tls),
        mcp,
        tcp,
        engine,
        ready,
    )
}

/// The TCP listener and TLS files: flags first, then the config file.
fn listener(
    args: &Args,
    config: &DaemonConfig,
) -> anyhow::Result<(Option<SocketAddr>, Option<TlsFiles>)> {
    let listen = match (args.listen, config.listen.as_deref()) {
        (Some(flag), _) => Some(flag),
        (None, Some(text)) => Some(text.parse().with_context(|| {
            format!("invalid [daemon] listen {text:?} in the config: expected ADDRESS:PORT")
        })?),
        (None, None) => None,
    };
    let cert = args.tls_cert.clone().or_else(|| config.tls_cert.clone());
    let key = args.tls_key.clone().or_else(|| config.tls_key.clone());
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => anyhow::bail!("TLS needs both a certificate and a key (tls_cert and tls_key)"),
    };
    if tls.is_some() && listen.is_none() {
        anyhow::bail!("TLS applies to the TCP listener: give --listen (or [daemon] listen) too");
    }
    Ok((listen, tls))
}

/// The TCP listener's limits and allow-lists: flags first, then the config file, then
/// the defaults.
struct TcpOptions {
    limits: TcpLimits,
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
}

fn tcp_options(args: &Args, config: &DaemonConfig) -> anyhow::Result<TcpOptions> {
    let duration =
        |flag: Option<Duration>, key: &str, text: &Option<String>, default| match (flag, text) {
            (Some(value), _) => Ok(value),
            (None, Some(text)) => connection_timeout(text)
                .map_err(|e| anyhow::anyhow!("invalid [daemon] {key} in the config: {e}")),
            (None, None) => Ok(default),
        };
    let max_connections = match (args.max_connections, config.max_connections) {
        (Some(n), _) => n,
        (None, Some(n @ 1..=1_000_000)) => n,
        (None, Some(n)) => {
            anyhow::bail!("invalid [daemon] max_connections {n} in the config: use 1 to 1000000")
        }
        (None, None) => TcpLimits::MAX_CONNECTIONS as u64,
    };
    let limits = TcpLimits {
        max_connections: usize::try_from(max_connections)?,
        handshake_timeout: duration(
            args.handshake_timeout,
            "handshake_timeout",
            &config.handshake_timeout,
            TcpLimits::HANDSHAKE_TIMEOUT,
        )?,
        header_read_timeout: duration(
            args.header_read_timeout,
            "header_read_timeout",
            &config.header_read_timeout,
            TcpLimits::HEADER_READ_TIMEOUT,
        )?,
        idle_timeout: duration(
            args.idle_timeout,
            "idle_timeout",
            &config.idle_timeout,
            TcpLimits::IDLE_TIMEOUT,
        )?,
    };
    let list = |flags: &[String], config: &Option<Vec<String>>| {
        let mut all = flags.to_vec();
        all.extend(config.iter().flatten().cloned());
        all
    };
    Ok(TcpOptions {
        limits,
        allowed_hosts: list(&args.allow_hosts, &config.allowed_hosts),
        allowed_origins: list(&args.allow_origins, &config.allowed_origins),
    })
}

/// The binary that runs shims: `procward-shim` beside this one when it is there (installed
/// together), else this binary's (`procwardd`'s) own hidden `shim` command. Both take
/// `shim LAUNCH_FILE`.
fn shim_exe(exe: std::path::PathBuf) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let standalone = exe.with_file_name("procward-shim");
    let runnable = std::fs::metadata(&standalone)
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if runnable { standalone } else { exe }
}

fn serve(
    home: Home,
    detached: bool,
    (listen, tls): (Option<SocketAddr>, Option<TlsFiles>),
    mcp: procward_mcp::Policy,
    tcp: TcpOptions,
    engine: procward_daemon::engine::EngineConfig,
    ready: Option<std::fs::File>,
) -> anyhow::Result<u8> {
    if detached {
        // A session of its own: no terminal hang-up or job-control signal reaches it.
        let _ = rustix::process::setsid();
    }
    let exe = std::env::current_exe().context("cannot find the procward binary")?;
    let options = DaemonOptions {
        home,
        exe: shim_exe(exe),
        log_to_stderr: !detached && std::io::stderr().is_terminal(),
        listen,
        tls,
        mcp,
        limits: tcp.limits,
        allowed_hosts: tcp.allowed_hosts,
        allowed_origins: tcp.allowed_origins,
        engine,
        ready,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // On a worker, not on this thread: `block_on` would poll the daemon (its listeners'
    // accept loops among it) here, so every new connection woke this thread and then a
    // worker for the connection's task; spawned, a connection's task starts on the worker
    // that accepted it.
    let daemon = runtime.spawn(procward_daemon::run(options));
    runtime
        .block_on(daemon)
        .context("the daemon's main task panicked")??;
    Ok(crate::exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_standalone_shim_is_used_only_when_it_is_an_executable_beside_the_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("procwardd");
        std::fs::write(&exe, b"").unwrap();
        assert_eq!(
            shim_exe(exe.clone()),
            exe,
            "no procward-shim: procwardd shim"
        );
        let shim = dir.path().join("procward-shim");
        std::fs::write(&shim, b"").unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(shim_exe(exe.clone()), exe, "not executable: not used");
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(shim_exe(exe), shim);
    }
}
