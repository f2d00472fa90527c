//! Health checks: a command, a TCP connect or an HTTP GET, repeated on an interval.
//! `retries` failures in a row make a process unhealthy; the actor then restarts it.

use std::process::Stdio;

use procward_core::supervisor::spec::{HealthCheck, Probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::engine::actor::Internal;
use crate::engine::reaper::OwnedChildren;

/// Runs the checks of one run of a process until aborted.
pub fn spawn_checker(
    name: String,
    generation: u64,
    check: HealthCheck,
    events: UnboundedSender<Internal>,
    owned: OwnedChildren,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(check.start_period).await;
        let mut failures = 0;
        let mut healthy = false;
        loop {
            match tokio::time::timeout(check.timeout, probe(&check.probe, &owned)).await {
                Ok(Ok(())) => {
                    failures = 0;
                    if !healthy {
                        healthy = true;
                        let _ = events.send(Internal::Health {
                            name: name.clone(),
                            generation,
                            healthy,
                            detail: String::new(),
                        });
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
                        let _ = events.send(Internal::Health {
                            name: name.clone(),
                            generation,
                            healthy,
                            detail,
                        });
                        failures = 0;
                    }
                }
            }
            tokio::time::sleep(check.interval).await;
        }
    })
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
