//! The collectors, as in bottom: each sends [`Event`]s into the one channel the UI loop
//! reads. The system side (CPU, memory, processes, ports) samples the core directly on one
//! thread with one long-lived sampler, so it works without a daemon; the managed
//! processes, the queue and the followed log come from this home's daemon over gRPC when
//! one runs. No daemon is ever started here.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use procward_core::sys::SystemSampler;
use procward_core::sys::process::identify;
use procward_core::{Escalation, KillRequest, ProcessSampler, Signal, get_ports};
use procward_daemon::Home;
use procward_proto::convert::queue::job_from_proto;
use procward_proto::convert::view_from_proto;
use procward_proto::v1;
use procward_proto::v1::queue_client::QueueClient;
use procward_proto::v1::supervisor_client::SupervisorClient;
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;
use tonic::transport::Channel;

use super::app::{DaemonData, KillTarget, ManagedAction, SignalChoice, Tab};
use super::keys::Event;
use crate::client;
use crate::commands::kill::{Policy, kill_with_policy};

/// The one channel into the UI loop.
pub type Sender = UnboundedSender<Event>;

/// The first sample's interval, and the shortest CPU interval shown.
const FIRST_SAMPLE: Duration = Duration::from_millis(250);

/// Requests to the system collector.
#[derive(Debug, Clone, Copy)]
pub enum Collect {
    /// This tab is on screen now (sample what it shows, at once).
    Watch(Tab),
    /// Sample again now (after a kill).
    Now,
}

/// Runs the system collector on its own thread until the UI loop goes away: CPU and
/// memory on every refresh; the process table while the Processes tab is shown; the
/// listening sockets (with their holders' start ticks) while the Ports tab is.
pub fn spawn_system(tx: Sender, refresh: Duration, requests: Receiver<Collect>) {
    std::thread::Builder::new()
        .name("top-system".into())
        .spawn(move || system_loop(&tx, refresh, &requests))
        .expect("spawn the system collector");
}

fn system_loop(tx: &Sender, refresh: Duration, requests: &Receiver<Collect>) {
    // Refreshed every second for as long as top runs: keep each process's `/proc` files
    // open and its command line between refreshes (a quarter of the kernel time).
    let mut processes = ProcessSampler::keeping_files();
    let mut system = SystemSampler::new().ok();
    let mut tab = Tab::Processes;
    // A first reading of every process, so the first table shows CPU over a real interval.
    let _ = processes.refresh();
    std::thread::sleep(FIRST_SAMPLE);
    let mut last_load: Option<Instant> = None;
    loop {
        // Sample everything first, then send it all at once, so the UI loop finds it
        // together and draws once. CPU figures over less than sysinfo's minimum interval
        // are noise: a tab switch right after a refresh samples the table but keeps the
        // last bars.
        let due = last_load.is_none_or(|at| at.elapsed() >= FIRST_SAMPLE);
        let load = due
            .then(|| system.as_mut().and_then(|s| s.load().ok()))
            .flatten();
        let table = match tab {
            Tab::Processes => Some(match processes.refresh() {
                Ok(list) => Event::Processes(list),
                Err(e) => Event::Notice(format!("cannot list processes: {e}")),
            }),
            Tab::Ports => Some(match get_ports() {
                Ok(ports) => {
                    let ticks = ports
                        .iter()
                        .flat_map(|p| p.processes.iter().map(|h| h.pid))
                        .filter_map(|pid| identify(pid).ok().map(|who| (pid, who.start_ticks)))
                        .collect();
                    Event::Ports(ports, ticks)
                }
                Err(e) => Event::Notice(format!("cannot list ports: {e}")),
            }),
            Tab::Managed | Tab::Queue => None,
        };
        if load.is_some() {
            last_load = Some(Instant::now());
        }
        for event in load.map(Event::Load).into_iter().chain(table) {
            if tx.send(event).is_err() {
                return;
            }
        }
        match requests.recv_timeout(refresh) {
            Ok(Collect::Watch(now)) => tab = now,
            Ok(Collect::Now) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// While neither the Managed nor the Queue tab is shown, the daemon is polled this many
/// times less often: the other tabs show only whether one runs, and each poll costs the
/// daemon a listing of every managed process and job.
const HIDDEN_POLL_EVERY: u32 = 5;

/// Polls this home's daemon (when one runs) on every refresh while its tabs are shown
/// (`tab`), every [`HIDDEN_POLL_EVERY`] refreshes otherwise, and when woken: managed
/// processes by name, jobs newest first; `Event::Daemon(None)` while none runs.
pub async fn daemon_loop(
    tx: Sender,
    refresh: Duration,
    wake: Arc<Notify>,
    tab: tokio::sync::watch::Receiver<Tab>,
) {
    let home = Home::from_env().ok();
    let mut channel: Option<Channel> = None;
    loop {
        if channel.is_none()
            && let Some(home) = &home
        {
            channel = client::running(home).await;
        }
        let data = match &channel {
            Some(c) => fetch(c.clone()).await,
            None => None,
        };
        if data.is_none() {
            channel = None;
        }
        if tx.send(Event::Daemon(data)).is_err() {
            return;
        }
        let wait = match *tab.borrow() {
            Tab::Managed | Tab::Queue => refresh,
            Tab::Processes | Tab::Ports => refresh * HIDDEN_POLL_EVERY,
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = wake.notified() => {}
        }
    }
}

async fn fetch(channel: Channel) -> Option<DaemonData> {
    let list = SupervisorClient::new(channel.clone())
        .max_decoding_message_size(64 * 1024 * 1024)
        .list(v1::ListRequest::default())
        .await
        .ok()?;
    let mut managed: Vec<_> = list
        .into_inner()
        .processes
        .into_iter()
        .filter_map(|p| view_from_proto(p).ok())
        .collect();
    managed.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    let mut jobs: Vec<_> = QueueClient::new(channel)
        .max_decoding_message_size(256 * 1024 * 1024)
        .list(v1::ListJobsRequest::default())
        .await
        .map(|r| {
            r.into_inner()
                .jobs
                .into_iter()
                .filter_map(|j| job_from_proto(j).ok())
                .collect()
        })
        .unwrap_or_default();
    jobs.sort_by_key(|j: &procward_core::queue::Job| std::cmp::Reverse(j.id));
    Some(DaemonData { managed, jobs })
}

/// Follows `name`'s log (its last 200 lines, then new ones) until aborted or it ends.
pub fn follow_logs(tx: Sender, name: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Ok(home) = Home::from_env() else {
            return;
        };
        let Some(channel) = client::running(&home).await else {
            return;
        };
        let request = v1::LogsRequest {
            name: name.clone(),
            lines: 200,
            follow: true,
            stdout: true,
            stderr: true,
            since_ms: None,
        };
        let Ok(stream) = SupervisorClient::new(channel).logs(request).await else {
            return;
        };
        let mut stream = stream.into_inner();
        while let Ok(Some(line)) = stream.message().await {
            let text = String::from_utf8_lossy(&line.line).into_owned();
            let line = if line.stream() == v1::LogStream::Stderr {
                format!("err| {text}")
            } else {
                text
            };
            let event = Event::Log {
                name: name.clone(),
                line,
            };
            if tx.send(event).is_err() {
                return;
            }
        }
    })
}

/// Asks the daemon to act on a managed process; the result comes back as a notice and
/// the daemon poller is woken to show the new state.
pub fn managed_action(tx: Sender, wake: Arc<Notify>, action: ManagedAction, name: String) {
    tokio::spawn(async move {
        let text = match act(action, &name).await {
            Ok(state) => format!("{name}: {state}"),
            Err(e) => format!("{name}: {e}"),
        };
        let _ = tx.send(Event::Notice(text));
        wake.notify_one();
    });
}

async fn act(action: ManagedAction, name: &str) -> anyhow::Result<String> {
    let home = Home::from_env()?;
    let channel = client::running(&home)
        .await
        .ok_or_else(|| anyhow::anyhow!("no daemon running"))?;
    let mut client = SupervisorClient::new(channel);
    let request = v1::NameRequest { name: name.into() };
    let answer = match action {
        ManagedAction::Start => {
            let current = client.status(request.clone()).await?.into_inner();
            match v1::ProcessState::try_from(current.state) {
                Ok(v1::ProcessState::Running | v1::ProcessState::Starting) => {
                    return Ok("already running".into());
                }
                Ok(v1::ProcessState::Paused) => client.resume(request).await?,
                _ => client.restart(request).await?,
            }
        }
        ManagedAction::Stop => client.stop(request).await?,
        ManagedAction::Restart => client.restart(request).await?,
        ManagedAction::Delete => {
            client.delete(request).await?;
            return Ok("deleted".into());
        }
    };
    let view = view_from_proto(answer.into_inner()).map_err(anyhow::Error::msg)?;
    Ok(view.state.as_str().to_owned())
}

/// Kills through the CLI's one kill policy ([`kill_with_policy`]: managed PIDs through the
/// daemon, others here with the core's pidfd kill pinned to the listed start ticks), on
/// a thread of its own (a TERM may wait out the grace period); the result comes back as a
/// notice and the system collector samples again.
pub fn kill(
    tx: Sender,
    resample: std::sync::mpsc::Sender<Collect>,
    targets: Vec<KillTarget>,
    choice: SignalChoice,
    grace: Duration,
) {
    let failed = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("top-kill".into())
        .spawn(move || {
            let requests = requests(&targets, choice, grace);
            let policy = Policy {
                force: choice.signal == Signal::KILL,
                ..Policy::default()
            };
            let text = match kill_with_policy(requests, &policy) {
                Ok(results) => results
                    .iter()
                    .map(|(pid, result)| match result {
                        Ok(done) => done.to_string(),
                        Err(failure) => format!("pid {pid}: {}", failure.message),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                Err(e) => crate::exit::describe(&e),
            };
            let _ = tx.send(Event::Notice(text));
            let _ = resample.send(Collect::Now);
        });
    if let Err(e) = spawned {
        let _ = failed.send(Event::Notice(format!("nothing signalled: {e}")));
    }
}

/// The kill requests for the dialog's targets and choice: each pinned to the start ticks
/// it was listed with.
pub fn requests(targets: &[KillTarget], choice: SignalChoice, grace: Duration) -> Vec<KillRequest> {
    targets
        .iter()
        .map(|t| KillRequest {
            pid: t.pid,
            expected_start_time: None,
            expected_start_ticks: t.start_ticks,
            signal: choice.signal,
            escalation: if choice.escalate {
                Escalation::KillAfter(grace)
            } else {
                Escalation::None
            },
        })
        .collect()
}
