//! Health checks: a command, a TCP connect or an HTTP GET, repeated on an interval.
//! `retries` failures in a row make a process unhealthy: for its liveness check (`health`)
//! the actor then restarts it; for its readiness check it is only marked not ready.

use std::process::Stdio;
use std::time::Duration;

use procward_core::sys::listening::tree_listens_on;

use procward_core::supervisor::spec::{HealthCheck, Probe, ProcessSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::engine::actor::Internal;
use crate::engine::reaper::OwnedChildren;

/// Which of a spec's checks a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `health`: failing it restarts the process.
    Liveness,
    /// `readiness`: failing it only marks the process not ready.
    Readiness,
}

/// A run that replaces another during a reload: their main processes' pids.
#[derive(Debug, Clone, Copy)]
pub struct Replacing {
    /// The new run's.
    pub new: u32,
    /// The run it replaces, still serving.
    pub old: u32,
}

/// Before its first pass, a readiness check probes at least this often, so a reload or
/// a dependent waits for the process, not for the check's interval.
const READINESS_FIRST_POLL: Duration = Duration::from_millis(250);

/// The checker tasks of one run of `spec`: one per check it has (none without checks).
/// With `replacing`, a probe of a local port passes only once the new run itself listens
/// on that port while the old one does: otherwise the old instance may be what answered.
pub fn spawn_checks(
    name: &str,
    generation: u64,
    spec: &ProcessSpec,
    events: &UnboundedSender<Internal>,
    owned: &OwnedChildren,
    replacing: Option<Replacing>,
) -> Vec<JoinHandle<()>> {
    [
        (Check::Liveness, &spec.health),
        (Check::Readiness, &spec.readiness),
    ]
    .into_iter()
    .filter_map(|(kind, check)| {
        let check = check.clone()?;
        let (name, events, owned) = (name.to_owned(), events.clone(), owned.clone());
        let task = Checker {
            name,
            generation,
            kind,
            check,
            events,
            owned,
            replacing,
        };
        Some(tokio::spawn(task.run()))
    })
    .collect()
}

/// One check of one run of a process.
struct Checker {
    name: String,
    generation: u64,
    kind: Check,
    check: HealthCheck,
    events: UnboundedSender<Internal>,
    owned: OwnedChildren,
    replacing: Option<Replacing>,
}

impl Checker {
    /// Probes until aborted, sending a verdict each time it changes.
    async fn run(self) {
        let Checker {
            name,
            generation,
            kind,
            check,
            events,
            owned,
            replacing,
        } = self;
        let verdict = |healthy: bool, detail: String| {
            let _ = events.send(Internal::Health {
                name: name.clone(),
                generation,
                check: kind,
                healthy,
                detail,
            });
        };
        tokio::time::sleep(check.start_period).await;
        let mut failures = 0;
        let mut healthy = false;
        loop {
            let outcome = tokio::time::timeout(check.timeout, probe(&check.probe, &owned)).await;
            let outcome = match (outcome, replacing) {
                (Ok(Ok(())), Some(replacing)) => Ok(answered_by_new(&check.probe, replacing).await),
                (outcome, _) => outcome,
            };
            match outcome {
                Ok(Ok(())) => {
                    failures = 0;
                    if !healthy {
                        healthy = true;
                        verdict(true, String::new());
                    }
                }
                outcome => {
                    failures += 1;
                    let detail = match outcome {
                        Ok(Err(e)) => e,
                        _ => format!("no answer within {:?}", check.timeout),
                    };
                    if failures >= check.retries.max(1) {
                        healthy = false;
                        verdict(false, detail);
                        failures = 0;
                    }
                }
            }
            let pause = if kind == Check::Readiness && !healthy {
                check.interval.min(READINESS_FIRST_POLL)
            } else {
                check.interval
            };
            tokio::time::sleep(pause).await;
        }
    }
}

/// After a probe passed during a reload: whether the new run may count it, i.e. the
/// probe is not of a local port the old run listens on and the new one does not.
async fn answered_by_new(probe: &Probe, replacing: Replacing) -> Result<(), String> {
    let Some(port) = local_port(probe) else {
        return Ok(());
    };
    let old_only = tokio::task::spawn_blocking(move || {
        tree_listens_on(replacing.old, port) && !tree_listens_on(replacing.new, port)
    })
    .await
    .unwrap_or(false);
    if old_only {
        return Err(format!(
            "port {port} answered, but only the old instance listens on it so far"
        ));
    }
    Ok(())
}

/// The port of a TCP or HTTP probe of this machine (loopback, `localhost` or an
/// unspecified address), whose listener can be looked up.
fn local_port(probe: &Probe) -> Option<u16> {
    let (host, port) = match probe {
        Probe::Tcp { host, port } => (host.clone(), *port),
        // Where `probe_http` connects.
        Probe::Http { url } => split_url(url).map(|(host, port, _)| (host, port))?,
        Probe::Command(_) => return None,
    };
    let host = host.trim_matches(['[', ']']);
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    local.then_some(port)
}

/// One probe; `Err` says what failed.
pub async fn probe(probe: &Probe, owned: &OwnedChildren) -> Result<(), String> {
    match probe {
        Probe::Command(command) => probe_command(command, owned).await,
        Probe::Tcp { host, port } => TcpStream::connect((host.as_str(), *port))
            .await
            .map(drop)
            .map_err(|e| format!("tcp {host}:{port}: {e}")),
        Probe::Http { url } => probe_http(url).await,
    }
}

async fn probe_command(command: &str, owned: &OwnedChildren) -> Result<(), String> {
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = owned
        .spawn(|| {
            let child = cmd.spawn()?;
            let pid = child.id().unwrap_or(0);
            Ok((child, pid))
        })
        .map_err(|e| format!("cannot run health command: {e}"))?;
    let pid = child.id().unwrap_or(0);
    let status = child.wait().await;
    owned.remove(pid);
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("health command failed ({s})")),
        Err(e) => Err(format!("health command: {e}")),
    }
}

/// A minimal HTTP/1.0 GET: healthy on a 2xx or 3xx status line.
async fn probe_http(url: &str) -> Result<(), String> {
    let (host, port, path) = split_url(url).ok_or_else(|| format!("unsupported URL {url}"))?;
    let mut stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: procward\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream
        .read(&mut head)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(code) if (200..400).contains(&code) => Ok(()),
        Some(code) => Err(format!("GET {url}: status {code}")),
        None => Err(format!("GET {url}: not an HTTP answer")),
    }
}

fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, p.parse().ok()?),
        _ => (authority, 80),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    (!host.is_empty()).then_some((host, port, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_ports_are_those_probes_reach_on_this_machine() {
        let http = |url: &str| Probe::Http { url: url.into() };
        let tcp = |host: &str| Probe::Tcp {
            host: host.into(),
            port: 5432,
        };
        assert_eq!(local_port(&http("http://127.0.0.1:8000/ready")), Some(8000));
        assert_eq!(local_port(&http("http://localhost/")), Some(80));
        assert_eq!(local_port(&http("http://[::1]:81/x")), Some(81));
        assert_eq!(local_port(&http("http://example.com:81/")), None);
        assert_eq!(local_port(&tcp("0.0.0.0")), Some(5432));
        assert_eq!(local_port(&tcp("db.internal")), None);
        assert_eq!(local_port(&Probe::Command("true".into())), None);
    }

    #[test]
    fn urls_split() {
        assert_eq!(
            split_url("http://127.0.0.1:8000/health"),
            Some(("127.0.0.1".into(), 8000, "/health".into()))
        );
        assert_eq!(
            split_url("http://localhost"),
            Some(("localhost".into(), 80, "/".into()))
        );
        assert_eq!(
            split_url("http://[::1]:81/x"),
            Some(("::1".into(), 81, "/x".into()))
        );
        assert_eq!(split_url("https://x"), None);
    }

    #[tokio::test]
    async fn probes_answer_for_real() {
        let owned = OwnedChildren::default();
        assert!(probe(&Probe::Command("true".into()), &owned).await.is_ok());
        assert!(
            probe(&Probe::Command("exit 3".into()), &owned)
                .await
                .is_err()
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(
            probe(
                &Probe::Tcp {
                    host: "127.0.0.1".into(),
                    port
                },
                &owned
            )
            .await
            .is_ok()
        );
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(b"HTTP/1.0 204 No Content\r\n\r\n").await;
            }
        });
        let url = format!("http://127.0.0.1:{port}/");
        assert!(probe(&Probe::Http { url }, &owned).await.is_ok());
        drop(owned);
    }
}
