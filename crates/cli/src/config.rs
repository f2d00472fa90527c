//! Defaults from a TOML file, so flags need not be repeated.
//!
//! Looked up at `--config PATH`, else `$PROCWARD_CONFIG`, else
//! `$XDG_CONFIG_HOME/procward/config.toml` (`~/.config/procward/config.toml`). A missing
//! default file is fine; a missing explicit file, an unknown key or a bad value is an error
//! with line and column. The file must be a regular file of at most 1 MiB (`/dev/zero` or
//! a FIFO is refused at once, exit code 2, like a bad key).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use procward_core::supervisor::spec::read_config_file;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[ps]`: defaults for `procward ps`.
    #[serde(default)]
    pub ps: PsConfig,
    /// `[kill]`: defaults for `procward kill`.
    #[serde(default)]
    pub kill: KillConfig,
    /// `[daemon]`: how the daemon serves (also when another command starts it).
    #[serde(default)]
    pub daemon: DaemonConfig,
    /// `[mcp]`: what assistants may do (`procward mcp` and the daemon's `/mcp`).
    #[serde(default)]
    pub mcp: McpConfig,
    /// `[queue]`: the job queue's groups and retention (read by the daemon).
    #[serde(default)]
    pub queue: QueueSection,
    /// `[limits]`: maxima past which the daemon starts nothing more (read by the daemon).
    #[serde(default)]
    pub limits: LimitsSection,
    /// `[top]`: the terminal UI's refresh rate and key overrides.
    #[serde(default)]
    pub top: TopConfig,
}

/// `[top]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopConfig {
    /// How often to refresh, e.g. `"1s"` or `"500ms"` (default 1 s; 100 ms to 1 h).
    pub refresh: Option<String>,
    /// `[top.keys]`: a different key for a few actions.
    #[serde(default)]
    pub keys: TopKeys,
}

/// `[top.keys]` section: each a single character, e.g. `kill = "K"`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopKeys {
    /// Open the kill dialog (default `k`).
    pub kill: Option<String>,
    /// Type a filter (default `/`).
    pub filter: Option<String>,
    /// Toggle the process tree (default `t`).
    pub tree: Option<String>,
    /// Show the keys (default `?`).
    pub help: Option<String>,
    /// Quit (default `q`).
    pub quit: Option<String>,
}

/// `[limits]` section: the daemon refuses a start (and holds jobs queued) at these.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct LimitsSection(procward_core::resources::SpawnLimits);

impl LimitsSection {
    /// The daemon's spawn limits, each range checked.
    pub fn daemon_config(&self) -> anyhow::Result<procward_core::resources::SpawnLimits> {
        self.0.validate().context("[limits]")?;
        Ok(self.0.clone())
    }
}

/// `[queue]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSection {
    /// Completed jobs kept, the most recent (default 100); older ones are removed.
    pub keep_completed: Option<usize>,
    /// `[queue.group.NAME]`: concurrency groups, created or resized at daemon start.
    #[serde(default)]
    pub group: std::collections::BTreeMap<String, QueueGroupSection>,
    /// Where jobs live: `"embedded"` (the default: this daemon's home) or `"redis"` (a
    /// queue several daemons share).
    pub backend: Option<String>,
    /// With `backend = "redis"`: `redis://[user:password@]host:port/db` or `rediss://`
    /// (TLS). Default `redis://127.0.0.1:6379/0`.
    pub url: Option<String>,
    /// With `backend = "redis"`: the prefix of every key (default `procward`).
    pub prefix: Option<String>,
    /// With `backend = "redis"`: this daemon's name among the hosts (default: the
    /// machine's host name).
    pub host: Option<String>,
    /// With `backend = "redis"`: how long a job's lease lasts unrenewed before another
    /// host takes the job over, e.g. `"30s"` (1 s to 1 h; default 30 s).
    pub lease: Option<String>,
    /// With `backend = "redis"` and a `rediss://` url: the PEM file of the CA that signed
    /// the server's certificate (default: the system's trust store).
    pub tls_ca: Option<std::path::PathBuf>,
    /// With `backend = "redis"`: the groups whose jobs this host runs, e.g. `["gpu"]`
    /// (default: every group).
    pub serve: Option<Vec<String>>,
}

/// `[queue.group.NAME]` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueGroupSection {
    /// Jobs of the group running at once (1 to 1024).
    pub parallel: u32,
}

impl QueueSection {
    /// The daemon's queue settings, each group checked (name, `parallel` in range).
    pub fn daemon_config(&self) -> anyhow::Result<procward_daemon::engine::queue::QueueConfig> {
        let mut config = procward_daemon::engine::queue::QueueConfig::default();
        if let Some(keep) = self.keep_completed {
            config.keep_completed = keep;
        }
        for (name, group) in &self.group {
            procward_core::supervisor::spec::validate_name(name)
                .with_context(|| format!("[queue.group.{name}]"))?;
            if !(1..=procward_core::queue::MAX_PARALLEL).contains(&group.parallel) {
                bail!(
                    "[queue.group.{name}] parallel = {}: must be 1 to {}",
                    group.parallel,
                    procward_core::queue::MAX_PARALLEL
                );
            }
            config.groups.push((name.clone(), group.parallel));
        }
        config.backend = self.backend()?;
        Ok(config)
    }

    /// `backend` and its settings, each checked.
    fn backend(&self) -> anyhow::Result<procward_daemon::engine::queue::QueueBackend> {
        use procward_daemon::engine::queue::{QueueBackend, RedisConfig};
        match self.backend.as_deref() {
            None | Some("embedded") => {
                for (key, set) in [
                    ("url", self.url.is_some()),
                    ("prefix", self.prefix.is_some()),
                    ("host", self.host.is_some()),
                    ("lease", self.lease.is_some()),
                    ("tls_ca", self.tls_ca.is_some()),
                    ("serve", self.serve.is_some()),
                ] {
                    if set {
                        bail!("[queue] {key} is only read with backend = \"redis\"");
                    }
                }
                Ok(QueueBackend::Embedded)
            }
            Some("redis") => {
                let url = self
                    .url
                    .clone()
                    .unwrap_or_else(|| "redis://127.0.0.1:6379/0".into());
                if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                    bail!("[queue] url = {url:?}: must start with redis:// or rediss://");
                }
                let prefix = self.prefix.clone().unwrap_or_else(|| "procward".into());
                if prefix.is_empty()
                    || prefix.len() > 64
                    || prefix.chars().any(|c| c.is_whitespace())
                {
                    bail!("[queue] prefix = {prefix:?}: 1 to 64 characters, no spaces");
                }
                let host = self
                    .host
                    .clone()
                    .unwrap_or_else(procward_daemon::engine::queue::host_name);
                procward_core::supervisor::spec::validate_name(&host)
                    .with_context(|| format!("[queue] host = {host:?}"))?;
                let lease = match &self.lease {
                    None => std::time::Duration::from_secs(30),
                    Some(text) => procward_core::supervisor::spec::parse_duration(text)
                        .map_err(|e| anyhow::anyhow!("[queue] lease = {text:?}: {e}"))?,
                };
                if !(std::time::Duration::from_secs(1)..=std::time::Duration::from_secs(3600))
                    .contains(&lease)
                {
                    bail!("[queue] lease: must be 1s to 1h");
                }
                if let Some(ca) = &self.tls_ca
                    && !ca.is_file()
                {
                    bail!("[queue] tls_ca = {}: no such file", ca.display());
                }
                let serve = self.serve.clone().unwrap_or_default();
                for group in &serve {
                    procward_core::supervisor::spec::validate_name(group)
                        .with_context(|| format!("[queue] serve: {group:?}"))?;
                }
                Ok(QueueBackend::Redis(RedisConfig {
                    url,
                    prefix,
                    host,
                    lease,
                    tls_ca: self.tls_ca.clone(),
                    serve,
                }))
            }
            Some(other) => bail!("[queue] backend = {other:?}: must be \"embedded\" or \"redis\""),
        }
    }
}

/// `[mcp]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpConfig {
    /// Expose only the read tools.
    pub read_only: Option<bool>,
    /// Which processes kill_process may signal: `managed`, `own` or `any`.
    pub allow_kill: Option<String>,
}

/// `[daemon]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Also serve gRPC on this TCP address, e.g. `"127.0.0.1:50051"` (token required).
    pub listen: Option<String>,
    /// PEM certificate chain for TLS on the TCP listener.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS on the TCP listener.
    pub tls_key: Option<PathBuf>,
    /// Most TCP connections open at once (default 512); more are closed at accept.
    pub max_connections: Option<u64>,
    /// Time from accept to the first byte or a finished TLS handshake (default `"10s"`).
    pub handshake_timeout: Option<String>,
    /// Time to send a whole HTTP/1 request head (default `"10s"`).
    pub header_read_timeout: Option<String>,
    /// A connection with no request in flight this long is closed (default `"120s"`).
    pub idle_timeout: Option<String>,
    /// Host names the TCP listener answers besides IP addresses, `localhost` and this
    /// machine's name; `"*"` allows any (DNS rebinding defence off).
    pub allowed_hosts: Option<Vec<String>>,
    /// Browser origins (`https://host[:port]`) allowed besides the listener's own and
    /// loopback ones; `"*"` allows any.
    pub allowed_origins: Option<Vec<String>>,
}

/// `[ps]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsConfig {
    /// CPU sample interval, e.g. `"200ms"`.
    pub interval: Option<String>,
    /// Sort key: cpu, mem, pid, name or uptime.
    pub sort: Option<String>,
    /// Row limit.
    pub limit: Option<usize>,
}

/// `[kill]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KillConfig {
    /// First signal, e.g. `"TERM"`.
    pub signal: Option<String>,
    /// Grace period before SIGKILL, e.g. `"5s"`.
    pub timeout: Option<String>,
    /// `auto`, `pkexec` or `sudo`.
    pub elevate_with: Option<String>,
}

/// The file given with `--config`, so a daemon this process starts reads the same one.
static EXPLICIT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The `--config` file of this invocation, if one was given.
pub fn explicit_path() -> Option<&'static Path> {
    EXPLICIT.get().map(PathBuf::as_path)
}

impl Config {
    /// Loads the configuration (see the module docs for where it is looked up).
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Self> {
        if let Some(path) = explicit {
            let _ = EXPLICIT.set(std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
        }
        let (path, required) = match explicit {
            Some(path) => (path.to_path_buf(), true),
            None => match std::env::var_os("PROCWARD_CONFIG") {
                Some(path) => (PathBuf::from(path), true),
                None => match default_path() {
                    Some(path) => (path, false),
                    None => return Ok(Self::default()),
                },
            },
        };
        let text = match read_config_file(&path) {
            Ok(text) => text,
            // The default file is optional: absent, or unreadable because HOME belongs to
            // another user (setpriv, `su` without `-`, `sudo -E`), means "no defaults".
            Err(e)
                if !required
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                    ) =>
            {
                return Ok(Self::default());
            }
            // A device, FIFO, folder or oversized file is bad input (exit 2), not a failure.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData
                ) =>
            {
                bail!(procward_core::Error::InvalidArgument(format!(
                    "cannot read config {}: {e}",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read config {}", path.display()));
            }
        };
        Self::parse(&text).map_err(|e| {
            procward_core::Error::InvalidArgument(format!("invalid config {}: {e}", path.display()))
                .into()
        })
    }

    /// Parses TOML text; errors name the line and column.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        match toml::from_str(text) {
            Ok(config) => Ok(config),
            Err(e) => {
                let place = e.span().map(|span| line_column(text, span.start));
                match place {
                    Some((line, column)) => bail!("line {line}, column {column}: {}", e.message()),
                    None => bail!("{}", e.message()),
                }
            }
        }
    }
}

fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("procward").join("config.toml"))
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections() {
        let config =
            Config::parse("[ps]\ninterval = \"100ms\"\nsort = \"mem\"\n[kill]\ntimeout = \"2s\"\n")
                .unwrap();
        assert_eq!(config.ps.interval.as_deref(), Some("100ms"));
        assert_eq!(config.kill.timeout.as_deref(), Some("2s"));
        let config = Config::parse("[daemon]\nlisten = \"127.0.0.1:50051\"\n").unwrap();
        assert_eq!(config.daemon.listen.as_deref(), Some("127.0.0.1:50051"));
        assert!(Config::parse("[daemon]\nport = 1\n").is_err());
        let config = Config::parse("[top]\nrefresh = \"2s\"\n[top.keys]\nkill = \"K\"\n").unwrap();
        assert_eq!(config.top.refresh.as_deref(), Some("2s"));
        assert_eq!(config.top.keys.kill.as_deref(), Some("K"));
        assert!(Config::parse("[top]\nrate = \"1s\"\n").is_err());
        assert!(Config::parse("[top.keys]\nsort = \"s\"\n").is_err());
    }

    #[test]
    fn any_text_is_parsed_or_refused_without_panicking() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config as Cases, TestRunner};
        let piece = prop_oneof![
            Just("[ps]\n".to_owned()),
            Just("[kill]\n".to_owned()),
            Just("[daemon]\n".to_owned()),
            Just("[mcp]\n".to_owned()),
            "(interval|sort|limit|signal|timeout|listen|read_only|colour) = [ -~]{0,10}\n",
            "[ -~\n]{0,20}",
        ];
        let files = prop::collection::vec(piece, 0..8).prop_map(|p| p.concat());
        let ran = std::cell::Cell::new(0);
        let mut runner = TestRunner::new(Cases {
            cases: 1000,
            failure_persistence: None,
            ..Cases::default()
        });
        runner
            .run(&files, |text| {
                ran.set(ran.get() + 1);
                if let Err(e) = Config::parse(&text) {
                    prop_assert!(!e.to_string().is_empty());
                }
                Ok(())
            })
            .unwrap();
        eprintln!("config files: {} cases, none panicked", ran.get());
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = Config::parse("[ps]\nsort = \"mem\"\ncolour = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 3, column 1"), "{err}");
        let err = Config::parse("[kill]\ntimeout = \n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 2"), "{err}");
    }
}
