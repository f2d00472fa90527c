//! `procward top`: one terminal screen for what htop, `ss -ltnp` and pm2 monit show
//! separately.
//!
//! Built like bottom: the collectors ([`data`]) send [`keys::Event`]s through one channel
//! into one UI loop (here); [`App::handle`] is a plain state machine that turns each
//! event into [`keys::Effect`]s; [`ui::draw`] is a pure function of the [`App`]. The
//! screen is redrawn only after data or input changed something.

mod actions;
pub mod app;
pub mod data;
pub mod keys;
pub mod model;
pub mod ui;

#[cfg(test)]
mod tests;

use std::io::{IsTerminal, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use tokio::sync::Notify;

use self::app::App;
use self::keys::{Effect, Event, KeyMap};
use super::Context;
use crate::config::TopKeys;
use crate::output::Output;
use crate::parse;

const EXAMPLES: &str = "\
Examples:
  procward top                          processes, busiest first, refreshed every second
  procward top --refresh 2s             refresh every two seconds
  NO_COLOR=1 procward top               no colours (reverse video marks the selection)

Tabs: 1 Processes, 2 Managed (with the selected process's log), 3 Ports, 4 Queue. Keys:
? help, k kill (confirm, choose the signal), / filter, t tree, < > sort, q quit; the
mouse selects tabs and rows and scrolls. A kill goes through the same policy as
`procward kill`: pinned to the start time listed, protected PIDs refused, managed PIDs
stopped through the daemon. Managed processes and the queue need a running daemon
(top never starts one). Config: [top] refresh = \"1s\", [top.keys] kill = \"K\", ...";

/// Fastest refresh accepted.
const MIN_REFRESH: Duration = Duration::from_millis(100);
/// Slowest refresh accepted.
const MAX_REFRESH: Duration = Duration::from_secs(3600);

/// Arguments of `procward top`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// How often to refresh, e.g. 500ms, 2s [default: 1s, or [top] refresh].
    #[arg(long, short, value_name = "INTERVAL")]
    pub refresh: Option<String>,
}

/// Runs `procward top` until `q`.
pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let refresh = refresh_interval(
        args.refresh
            .as_deref()
            .or(ctx.config.top.refresh.as_deref()),
    )?;
    let keys = key_map(&ctx.config.top.keys)?;
    let grace = match &ctx.config.kill.timeout {
        Some(text) => parse::timeout(text)
            .map_err(anyhow::Error::msg)
            .context("config [kill] timeout")?,
        None => Duration::from_secs(5),
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(procward_core::Error::InvalidArgument(
            "procward top needs a terminal (use `procward ps` or `procward ports` in scripts)"
                .into()
        ));
    }
    raise_descriptor_limit();
    let colour = Output::new(false, ctx.color).colour;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_loop(keys, colour, refresh, grace))
}

/// Raises the soft descriptor limit towards the hard one (at most 65 536), before the
/// collector sizes itself to it: it holds two descriptors per process
/// ([`procward_core::ProcessSampler::keeping_files`]), and a soft limit of 1024 (common)
/// would leave a few hundred processes to be read the dearer way. top runs no children,
/// so none inherits it.
fn raise_descriptor_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let wanted = limit.maximum.unwrap_or(u64::MAX).min(65_536);
    if limit.current.is_some_and(|soft| soft < wanted) {
        let raised = Rlimit {
            current: Some(wanted),
            maximum: limit.maximum,
        };
        let _ = setrlimit(Resource::Nofile, raised);
    }
}

/// `"1s"`, `"500ms"`: the refresh interval, within 100 ms and 1 h.
pub fn refresh_interval(text: Option<&str>) -> anyhow::Result<Duration> {
    let Some(text) = text else {
        return Ok(Duration::from_secs(1));
    };
    let interval = humantime::parse_duration(text.trim())
        .map_err(|e| procward_core::Error::InvalidArgument(format!("refresh {text:?}: {e}")))?;
    if !(MIN_REFRESH..=MAX_REFRESH).contains(&interval) {
        bail!(procward_core::Error::InvalidArgument(format!(
            "refresh {text:?}: must be 100ms to 1h"
        )));
    }
    Ok(interval)
}

/// The keys, with `[top.keys]` overrides (one character each, no two the same).
pub fn key_map(overrides: &TopKeys) -> anyhow::Result<KeyMap> {
    let mut keys = KeyMap::default();
    let slots = [
        ("kill", &overrides.kill, &mut keys.kill),
        ("filter", &overrides.filter, &mut keys.filter),
        ("tree", &overrides.tree, &mut keys.tree),
        ("help", &overrides.help, &mut keys.help),
        ("quit", &overrides.quit, &mut keys.quit),
    ];
    for (name, text, slot) in slots {
        if let Some(text) = text {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() && !c.is_ascii_digit() => *slot = c,
                _ => bail!(procward_core::Error::InvalidArgument(format!(
                    "[top.keys] {name} = {text:?}: one character, not a digit"
                ))),
            }
        }
    }
    let all = [keys.kill, keys.filter, keys.tree, keys.help, keys.quit];
    for (i, c) in all.iter().enumerate() {
        if all[..i].contains(c) {
            bail!(procward_core::Error::InvalidArgument(format!(
                "[top.keys]: {c:?} is used for two actions"
            )));
        }
    }
    Ok(keys)
}

async fn run_loop(
    keys: KeyMap,
    colour: bool,
    refresh: Duration,
    grace: Duration,
) -> anyhow::Result<u8> {
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    let result = ui_loop(&mut terminal, keys, colour, refresh, grace).await;
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    let stats = result?;
    if let Some(path) = std::env::var_os("PROCWARD_TOP_STATS") {
        std::fs::write(&path, stats.report()).context("PROCWARD_TOP_STATS")?;
    }
    Ok(crate::exit::OK)
}

async fn ui_loop(
    terminal: &mut ratatui::DefaultTerminal,
    keys: KeyMap,
    colour: bool,
    refresh: Duration,
    grace: Duration,
) -> anyhow::Result<FrameStats> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    spawn_input(tx.clone());
    let (collect, requests) = std::sync::mpsc::channel();
    data::spawn_system(tx.clone(), refresh, requests);
    let wake = Arc::new(Notify::new());
    let (shown, shown_rx) = tokio::sync::watch::channel(app::Tab::Processes);
    let poller = tokio::spawn(data::daemon_loop(
        tx.clone(),
        refresh,
        wake.clone(),
        shown_rx,
    ));
    let size = terminal.size()?;
    let mut app = App::new(keys, colour, (size.width, size.height));
    app.grace = grace;
    let mut logs: Option<tokio::task::JoinHandle<()>> = None;
    let mut stats = FrameStats::default();
    'ui: loop {
        if app.dirty {
            app.dirty = false;
            let started = Instant::now();
            terminal.draw(|frame| ui::draw(frame, &app))?;
            stats.record(started.elapsed());
        }
        let Some(event) = rx.recv().await else {
            break;
        };
        let mut effects = app.handle(event);
        // Apply everything already queued before drawing once.
        while let Ok(event) = rx.try_recv() {
            effects.extend(app.handle(event));
        }
        for effect in effects {
            match effect {
                Effect::Quit => break 'ui,
                Effect::Watch(tab) => {
                    let _ = collect.send(data::Collect::Watch(tab));
                    shown.send_replace(tab);
                    wake.notify_one();
                }
                Effect::Kill { targets, choice } => {
                    data::kill(tx.clone(), collect.clone(), targets, choice, app.grace);
                }
                Effect::Managed { action, name } => {
                    data::managed_action(tx.clone(), wake.clone(), action, name);
                }
                Effect::FollowLogs(name) => {
                    if let Some(old) = logs.take() {
                        old.abort();
                    }
                    logs = name.map(|n| data::follow_logs(tx.clone(), n));
                }
            }
        }
    }
    poller.abort();
    if let Some(old) = logs {
        old.abort();
    }
    Ok(stats)
}

/// Reads the terminal on a thread of its own (crossterm's `read` blocks).
fn spawn_input(tx: data::Sender) {
    let spawned = std::thread::Builder::new()
        .name("top-input".into())
        .spawn(move || {
            while let Ok(input) = event::read() {
                if tx.send(Event::Input(input)).is_err() {
                    return;
                }
            }
        });
    drop(spawned);
}

/// Draw times, for `PROCWARD_TOP_STATS=PATH` (the benchmark reads them).
#[derive(Debug, Default)]
struct FrameStats {
    micros: Vec<u64>,
}

impl FrameStats {
    fn record(&mut self, took: Duration) {
        self.micros.push(took.as_micros() as u64);
    }

    fn report(&self) -> String {
        let mut sorted = self.micros.clone();
        sorted.sort_unstable();
        let at = |q: f64| {
            sorted
                .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0)
        };
        let mean = if sorted.is_empty() {
            0
        } else {
            sorted.iter().sum::<u64>() / sorted.len() as u64
        };
        let mut out = Vec::new();
        let _ = writeln!(
            out,
            "{{\"frames\":{},\"mean_us\":{mean},\"p50_us\":{},\"p95_us\":{},\"max_us\":{}}}",
            sorted.len(),
            at(0.5),
            at(0.95),
            sorted.last().copied().unwrap_or(0)
        );
        String::from_utf8(out).unwrap_or_default()
    }
}
