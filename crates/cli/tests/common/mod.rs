//! Shared test helpers: an isolated `procward` command and child processes that clean up
//! after themselves.

#![allow(dead_code)]

pub mod daemon;
pub mod grpc;
pub mod import;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A `procward` invocation with its own config and home directories, so a user's files
/// never leak into a test.
pub struct Procward {
    home: TempDir,
}

impl Procward {
    /// Fresh temp directories for one test.
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A command for the procward binary with the test's environment.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("procward").expect("procward binary");
        cmd.env("PROCWARD_HOME", self.home.path().join("home"))
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env_remove("PROCWARD_CONFIG")
            .env("NO_COLOR", "1");
        cmd
    }

    /// A `std::process::Command` for the procward binary with the test's environment,
    /// for a command the test runs in the background (`up` waiting on a dependency).
    pub fn std_cmd(&self) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("procward"));
        cmd.env("PROCWARD_HOME", self.home.path().join("home"))
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env_remove("PROCWARD_CONFIG")
            .env("NO_COLOR", "1");
        cmd
    }

    /// The test's private directory.
    pub fn dir(&self) -> &std::path::Path {
        self.home.path()
    }

    /// Writes the test's config file (`$XDG_CONFIG_HOME/procward/config.toml`).
    pub fn write_config(&self, text: &str) {
        let dir = self.home.path().join("config/procward");
        std::fs::create_dir_all(&dir).expect("config dir");
        std::fs::write(dir.join("config.toml"), text).expect("config file");
    }
}

/// A process the test started; killed and reaped when dropped.
pub struct Spawned {
    /// The child.
    pub child: Child,
}

impl Spawned {
    /// Starts `sh -c script`.
    pub fn shell(script: &str) -> Self {
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        Self { child }
    }

    /// Starts `sleep 1000`.
    pub fn sleeper() -> Self {
        let child = Command::new("sleep")
            .arg("1000")
            .process_group(0)
            .spawn()
            .expect("spawn sleep");
        Self { child }
    }

    /// Reads one line of its stdout (a readiness or port announcement).
    pub fn read_line(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        let stdout = self.child.stdout.as_mut().expect("stdout piped");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read line");
        line.trim().to_owned()
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process exists and has not exited (a zombie counts as exited).
    pub fn alive(&self) -> bool {
        is_running(self.pid())
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // Each spawned process leads its own group: SIGKILL the group so no grandchild of
        // the test outlives it.
        let group = nix::unistd::Pid::from_raw(self.pid() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `pid` exists and is not a zombie.
pub fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            !matches!(state, Some("Z" | "X"))
        }
        Err(_) => false,
    }
}

/// Waits until `condition` holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    condition()
}

/// Children of `pid`, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// How many processes the tree under `root` has (itself included), from /proc.
pub fn tree_size(root: u32) -> usize {
    let mut table = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
        let ppid: u32 = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        table.push((pid, ppid));
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            table
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree.len()
}

/// Whether `limit` is enforced by a cgroup according to a `daemon status` limits line
/// (`cgroup: memory_max, pids_max (...); others polled`).
pub fn cgroup_enforces(limits: &str, limit: &str) -> bool {
    limits
        .strip_prefix("cgroup: ")
        .is_some_and(|rest| rest.split(" (").next().unwrap_or("").contains(limit))
}

/// Whether a `daemon status` limits line says processes are tracked in a cgroup (so a
/// `setsid` escapee can be found and killed).
pub fn cgroup_tracks(limits: &str) -> bool {
    !limits.starts_with("poll: ") || limits.contains("cgroup2 at")
}

/// Parses stdout as JSON.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A free TCP port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
