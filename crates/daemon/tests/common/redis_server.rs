//! A real `redis-server` for one test: on a free loopback port, in a temp dir, with AOF
//! on (every write fsynced, so a restart loses nothing); stopped (and restartable on the
//! same port) by the test, killed when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One redis-server the test owns.
pub struct RedisServer {
    /// `redis://127.0.0.1:PORT/0`.
    pub url: String,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one; `None` when redis-server is not installed (the caller skips, saying
    /// so).
    pub fn start() -> Option<Self> {
        Command::new("redis-server")
            .arg("--version")
            .output()
            .ok()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = Self {
            url: format!("redis://127.0.0.1:{port}/0"),
            port,
            dir: tempfile::tempdir().expect("temp dir"),
            child: None,
        };
        server.restart();
        Some(server)
    }

    /// Starts the server again (on the same port, from its AOF).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.ping() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGKILL: what a crash does; AOF with `always` keeps every
    /// acknowledged write).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether it answers PING.
    pub fn ping(&self) -> bool {
        self.cli(&["PING"]).is_some_and(|out| out.trim() == "PONG")
    }

    /// Runs `redis-cli` against it; its output when it succeeded.
    pub fn cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
