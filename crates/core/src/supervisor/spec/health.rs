//! Health checks: how the daemon decides a running process still works, as a
//! [`HealthCheck`] (timing and retries) around one [`Probe`] (command, TCP or HTTP).
//! Only the description and its validation live here, so a bad probe is refused with the
//! rest of the spec; the daemon runs the probes.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{SpecError, duration_ms, invalid, limits};

/// How the daemon decides a running process still works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// What to try.
    pub probe: Probe,
    /// Time between checks (default 5 s).
    #[serde(default = "default_interval", with = "duration_ms")]
    pub interval: Duration,
    /// How long one check may take before it counts as failed (default 2 s).
    #[serde(default = "default_timeout", with = "duration_ms")]
    pub timeout: Duration,
    /// Failures in a row that make the process unhealthy (default 3).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Grace time after start before the first check (default 0).
    #[serde(default, with = "duration_ms")]
    pub start_period: Duration,
}

fn default_interval() -> Duration {
    Duration::from_secs(5)
}
fn default_timeout() -> Duration {
    Duration::from_secs(2)
}
fn default_retries() -> u32 {
    3
}

impl HealthCheck {
    /// A check with the default timing (every 5 s, 2 s timeout, 3 retries, no start period).
    pub fn new(probe: Probe) -> Self {
        Self {
            probe,
            interval: default_interval(),
            timeout: default_timeout(),
            retries: default_retries(),
            start_period: Duration::ZERO,
        }
    }

    /// Checks the probe and that the timing can work: interval and timeout 10ms-1h,
    /// start period up to 1h, 1-1000 retries (see [`limits`]).
    pub fn validate(&self) -> Result<(), SpecError> {
        self.probe.validate()?;
        if self.interval.is_zero() || self.timeout.is_zero() {
            return Err(invalid(
                "health",
                "interval and timeout must be greater than zero",
            ));
        }
        if self.retries == 0 || self.retries > limits::MAX_HEALTH_RETRIES {
            return Err(invalid(
                "health",
                format!(
                    "retries must be 1-{} (failures in a row that make it unhealthy)",
                    limits::MAX_HEALTH_RETRIES
                ),
            ));
        }
        limits::HEALTH_INTERVAL.check("health", "interval", self.interval)?;
        limits::HEALTH_TIMEOUT.check("health", "timeout", self.timeout)?;
        limits::HEALTH_START_PERIOD.check("health", "start_period", self.start_period)?;
        Ok(())
    }
}

/// One health probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    /// A shell command (`sh -c`) that must exit 0.
    Command(String),
    /// A TCP connection that must be accepted.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// Port, 1-65535.
        port: u16,
    },
    /// An HTTP GET that must answer 2xx or 3xx.
    Http {
        /// An `http://` URL (no TLS).
        url: String,
    },
}

impl Probe {
    /// Parses a probe as the CLI, MCP and the dashboard take it in one string:
    /// `http://HOST:PORT/PATH`, `tcp:HOST:PORT` or `cmd:COMMAND` (run with `sh -c`).
    pub fn parse(text: &str) -> Result<Probe, SpecError> {
        let probe = if let Some(target) = text.strip_prefix("tcp:") {
            Probe::parse_tcp(target.trim_start_matches("//"))?
        } else if let Some(command) = text.strip_prefix("cmd:") {
            Probe::Command(command.to_owned())
        } else if text.contains("://") {
            Probe::Http {
                url: text.to_owned(),
            }
        } else {
            return Err(invalid(
                "health",
                format!(
                    "{text:?} is not a probe: use http://HOST:PORT/PATH, tcp:HOST:PORT or \
                     cmd:COMMAND"
                ),
            ));
        };
        probe.validate().map(|()| probe)
    }

    /// Parses a TCP target `HOST:PORT` (`[::1]:80` for IPv6), as procward.toml and the CLI
    /// spell it.
    pub fn parse_tcp(target: &str) -> Result<Probe, SpecError> {
        let bad = |why: &str| invalid("health", format!("tcp {target:?}: {why}; use HOST:PORT"));
        let (host, port) = target
            .trim()
            .rsplit_once(':')
            .ok_or_else(|| bad("no port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port.parse().map_err(|_| bad("port must be 1-65535"))?;
        let probe = Probe::Tcp {
            host: host.to_owned(),
            port,
        };
        probe.validate().map(|()| probe)
    }

    /// Checks the probe can be run: a non-empty command, a host with a port 1-65535, or an
    /// `http://` URL with a host.
    pub fn validate(&self) -> Result<(), SpecError> {
        match self {
            Probe::Command(cmd) if cmd.trim().is_empty() || cmd.contains('\0') => Err(invalid(
                "health",
                "the command is empty or contains a NUL byte",
            )),
            Probe::Tcp { host, port } => {
                if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '\0') {
                    return Err(invalid(
                        "health",
                        format!("tcp host {host:?} is not a host"),
                    ));
                }
                if *port == 0 {
                    return Err(invalid("health", "tcp port must be 1-65535"));
                }
                Ok(())
            }
            Probe::Http { url } => validate_http_url(url),
            Probe::Command(_) => Ok(()),
        }
    }
}

fn validate_http_url(url: &str) -> Result<(), SpecError> {
    let bad = |why: &str| invalid("health", format!("http URL {url:?}: {why}"));
    let Some(scheme_end) = url.find("://") else {
        return Err(bad("use a URL such as http://127.0.0.1:8000/health"));
    };
    if !url[..scheme_end].eq_ignore_ascii_case("http") {
        return Err(bad("only http:// URLs are supported (no TLS)"));
    }
    if url.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace or control characters"));
    }
    let rest = &url[scheme_end + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => (h, Some(p)),
        _ => (host_port, None),
    };
    if host.trim_matches(['[', ']']).is_empty() {
        return Err(bad("no host"));
    }
    match port.map(str::parse::<u16>) {
        Some(Ok(0) | Err(_)) => Err(bad("port must be 1-65535")),
        _ => Ok(()),
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Command(cmd) => write!(f, "command `{cmd}`"),
            Probe::Tcp { host, port } if host.contains(':') => write!(f, "tcp [{host}]:{port}"),
            Probe::Tcp { host, port } => write!(f, "tcp {host}:{port}"),
            Probe::Http { url } => write!(f, "http {url}"),
        }
    }
}
