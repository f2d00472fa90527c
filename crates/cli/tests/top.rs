//! `procward top` end to end: the real binary in tmux (a private tmux server per test),
//! driven with send-keys and read with capture-pane, against a real daemon in the test's
//! own PROCWARD_HOME. Only processes the test started are signalled.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::{Spawned, wait_for};

/// The patience for anything the UI shows (it refreshes every 300 ms here).
const PATIENCE: Duration = Duration::from_secs(20);

/// A private tmux server running `procward top` in one 120×40 pane.
struct Tmux {
    socket: PathBuf,
    /// Where the pane's shell writes procward's exit status.
    status: PathBuf,
}

impl Tmux {
    /// Starts `procward top` for `daemon`'s home; `None` when tmux is not installed.
    fn start(daemon: &Daemon) -> Option<Self> {
        if Command::new("tmux").arg("-V").output().is_err() {
            return None;
        }
        let dir = daemon.pw.dir();
        let socket = dir.join("tmux.sock");
        let status = dir.join("top.status");
        let tmux = Self { socket, status };
        let env = |k: &str, v: &std::path::Path| format!("{k}={}", v.display());
        // The pane's shell writes procward's exit status down: tmux's own
        // `pane_dead_status` was seen empty on a dead pane (in CI's PID namespace).
        let command = format!(
            "env {} {} NO_COLOR=1 {} top --refresh 300ms; echo $? > {}",
            env("PROCWARD_HOME", &dir.join("home")),
            env("XDG_CONFIG_HOME", &dir.join("config")),
            env!("CARGO_BIN_EXE_procward"),
            tmux.status.display(),
        );
        tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-s",
            "top",
            &command,
        ]);
        // Keep the pane after procward exits, to read its exit status and screen.
        tmux.run(&["set-option", "-t", "top", "remain-on-exit", "on"]);
        Some(tmux)
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "top"];
        args.extend(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "top"])
    }

    fn format(&self, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", "top", format])
            .trim()
            .to_owned()
    }

    /// Waits until the screen shows `text`; returns the screen (panics with it if not).
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} not shown in time:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Sends Down until the selected row (reverse video is not in a capture: counted from
/// the table's header row) is the one that shows `text`.
fn select_row(tmux: &Tmux, header: &str, text: &str) {
    let screen = tmux.wait_for(text);
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines.iter().position(|l| l.starts_with(header)).unwrap();
    let row = lines.iter().position(|l| l.contains(text)).unwrap();
    assert!(row > top, "{screen}");
    for _ in 0..row - top - 1 {
        tmux.keys(&["Down"]);
    }
}

#[test]
fn top_manages_kills_by_port_refuses_itself_and_quits_cleanly() {
    let daemon = Daemon::new();
    let started = daemon
        .cmd()
        .args(["start", "ticker", "--", "sh", "-c"])
        .arg("while :; do echo tick-line; sleep 0.2; done")
        .output()
        .unwrap();
    assert!(started.status.success(), "{started:?}");
    let Some(tmux) = Tmux::start(&daemon) else {
        println!("skipped: tmux not installed");
        return;
    };
    tmux.wait_for("1 Processes");
    // procward is the pane shell's child (`env` execs it).
    let shell: u32 = tmux.format("#{pane_pid}").parse().unwrap();
    let children = format!("/proc/{shell}/task/{shell}/children");
    let top_pid: u32 = std::fs::read_to_string(&children)
        .unwrap()
        .split_whitespace()
        .next()
        .expect("procward top runs under the pane's shell")
        .parse()
        .unwrap();

    // Managed: the process, its log following, then a stop from the TUI.
    tmux.keys(&["2"]);
    tmux.wait_for("daemon: running");
    let screen = tmux.wait_for("ticker");
    assert!(screen.contains("running"), "{screen}");
    tmux.wait_for("logs: ticker (following)");
    tmux.wait_for("tick-line");
    tmux.keys(&["x"]);
    daemon.wait_state("ticker", "stopped", PATIENCE);
    tmux.wait_for("stopped");

    // Ports: a listener the test owns, killed through the confirmation dialog.
    let mut listener = Spawned::shell(
        "exec python3 -c 'import socket, time\n\
         s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen()\n\
         print(s.getsockname()[1], flush=True); time.sleep(1000)'",
    );
    let port = listener.read_line();
    tmux.keys(&["3"]);
    tmux.wait_for("PROTO");
    select_row(&tmux, "PROTO", &format!(" {port} "));
    tmux.keys(&["k"]);
    let dialog = tmux.wait_for(&format!("Signal port {port}/tcp"));
    assert!(
        dialog.contains(&format!("pid {} ", listener.pid())),
        "{dialog}"
    );
    assert!(listener.alive(), "nothing is sent before the confirmation");
    tmux.keys(&["Enter"]);
    assert!(
        wait_for(PATIENCE, || !listener.alive()),
        "the listener survived:\n{}",
        tmux.screen()
    );
    tmux.wait_for(&format!("pid {}", listener.pid()));

    // Processes: top itself is protected; the core's refusal is shown.
    tmux.keys(&["1", "/"]);
    tmux.keys(&["-l", &top_pid.to_string()]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(&format!("{top_pid} "));
    tmux.keys(&["k"]);
    tmux.wait_for(&format!("Signal PID {top_pid}"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("procward itself");

    // q quits with status 0; the terminal is back: no alternate screen, no mouse mode.
    tmux.keys(&["q"]);
    assert!(
        wait_for(PATIENCE, || tmux.format("#{pane_dead}") == "1"
            && tmux.status.exists()),
        "top did not quit:\n{}",
        tmux.screen()
    );
    let status = std::fs::read_to_string(&tmux.status).unwrap();
    assert_eq!(status.trim(), "0", "procward top's exit status");
    assert_eq!(tmux.format("#{alternate_on}"), "0");
    assert_eq!(tmux.format("#{mouse_any_flag}"), "0");
    assert!(!tmux.screen().contains("1 Processes"), "{}", tmux.screen());
}
