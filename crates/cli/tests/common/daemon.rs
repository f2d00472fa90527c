//! A daemon of its own for one test, cleaned up (every managed process stopped, the
//! daemon stopped) when the test ends.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Procward, json};

/// A daemon home for one test; on drop, stops every managed process and the daemon.
pub struct Daemon {
    /// The test's environment.
    pub pw: Procward,
}

impl Daemon {
    /// A fresh home (the daemon starts on first use).
    pub fn new() -> Self {
        Self {
            pw: Procward::new(),
        }
    }

    /// A procward command for this home.
    pub fn cmd(&self) -> assert_cmd::Command {
        self.pw.cmd()
    }

    /// `status NAME --json`.
    pub fn status(&self, name: &str) -> Value {
        let out = self
            .cmd()
            .args(["status", name, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "status {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&out)
    }

    /// `queue show ID --json`: one job with every attempt.
    pub fn job(&self, id: u64) -> Value {
        let out = self
            .cmd()
            .args(["queue", "show", &id.to_string(), "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "queue show {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&out)
    }

    /// The `limits` line of `daemon status --json`: what this machine enforces and how.
    pub fn limits_line(&self) -> String {
        let out = self
            .cmd()
            .args(["daemon", "status", "--json"])
            .output()
            .unwrap();
        json(&out)["limits"].as_str().unwrap().to_owned()
    }

    /// Waits until NAME is in `state` (asserts it got there).
    pub fn wait_state(&self, name: &str, state: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.status(name);
            if status["state"] == state || Instant::now() > deadline {
                assert_eq!(status["state"], state, "{status}");
                return status;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Starts NAME with `restart = always` and a 200 ms back-off (so a restart that should
    /// not happen would show within a second or two), plus `extra` flags; waits until it
    /// runs and returns its status.
    pub fn start_restarting(&self, name: &str, extra: &[&str], argv: &[&str]) -> Value {
        self.cmd()
            .args([
                "start",
                name,
                "--restart",
                "always",
                "--backoff",
                "200ms:1s",
            ])
            .args(extra)
            .arg("--")
            .args(argv)
            .assert()
            .success();
        self.wait_state(name, "running", Duration::from_secs(10))
    }

    /// The last `lines` stdout lines of NAME.
    pub fn logs(&self, name: &str, lines: u32) -> Vec<String> {
        let out = self
            .cmd()
            .args(["logs", name, "--stdout", "--lines", &lines.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The daemon's pid.
    pub fn daemon_pid(&self) -> u32 {
        let out = self
            .cmd()
            .args(["daemon", "status", "--json"])
            .output()
            .unwrap();
        json(&out)["pid"].as_u64().expect("daemon pid") as u32
    }

    /// `kill -9` of this test's daemon; returns once it is gone and its socket refuses
    /// connections (a zombie leader's other threads may hold the listening socket for a
    /// moment, and a client connecting then would be reset). Returns the daemon's pid.
    pub fn kill_9(&self) -> u32 {
        let daemon = self.daemon_pid();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(daemon as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let socket = self.pw.dir().join("home/procward.sock");
        let gone = super::wait_for(Duration::from_secs(5), || {
            !super::is_running(daemon) && std::os::unix::net::UnixStream::connect(&socket).is_err()
        });
        assert!(gone, "the daemon (pid {daemon}) did not go away");
        daemon
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(out) = self.cmd().args(["list", "--json"]).output()
            && let Ok(list) = serde_json::from_slice::<Value>(&out.stdout)
        {
            for process in list.as_array().into_iter().flatten() {
                let name = process["spec"]["name"].as_str().unwrap_or_default();
                let _ = self.cmd().args(["stop", name]).output();
            }
        }
        // Jobs too: no new one starts, and the running ones' trees are ended.
        if self.pw.dir().join("home/queue.db").exists() {
            let _ = self.cmd().args(["queue", "pause"]).output();
            if let Ok(out) = self.cmd().args(["queue", "list", "--json"]).output()
                && let Ok(list) = serde_json::from_slice::<Value>(&out.stdout)
            {
                for job in list.as_array().into_iter().flatten() {
                    if matches!(
                        job["state"].as_str(),
                        Some("queued" | "delayed" | "running")
                    ) {
                        let id = job["id"].to_string();
                        let _ = self.cmd().args(["queue", "cancel", &id]).output();
                    }
                }
            }
        }
        let _ = self.cmd().args(["daemon", "stop"]).output();
    }
}

/// Live members of process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) && fields[0] != "Z" {
            members.push(pid);
        }
    }
    members
}
