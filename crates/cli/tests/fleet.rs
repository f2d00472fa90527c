//! The queue on Redis with real daemons: a daemon killed with SIGKILL in the middle of a
//! job, and a shim killed in the middle of an attempt. Each time the job is retried (on
//! another host when its own is gone) exactly once, and a daemon coming back on the
//! killed home ends the attempt its predecessor left running. Skipped (with a note)
//! where redis-server is not installed; CI installs it.

mod common;
#[path = "../../daemon/tests/common/redis_server.rs"]
mod redis_server;

use std::time::Duration;

use common::daemon::Daemon;
use common::{is_running, json, wait_for};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use redis_server::RedisServer;
use serde_json::Value;

/// A job that records each attempt's number, and whose first attempt hangs.
const FIRST_HANGS: &str = "echo $PROCWARD_JOB_ATTEMPT >> \"$RUNS\"; [ $PROCWARD_JOB_ATTEMPT = 1 ] && exec sleep 1000; true";

/// A daemon home on the queue at `url` under `prefix`, as `host`, with a 2 s lease.
fn host(url: &str, prefix: &str, name: &str) -> Daemon {
    let d = Daemon::new();
    d.pw.write_config(&format!(
        "[queue]\nbackend = \"redis\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\nhost = \"{name}\"\nlease = \"2s\"\n"
    ));
    d
}

fn add(d: &Daemon, runs: &std::path::Path) -> u64 {
    let out = d
        .cmd()
        .env("RUNS", runs)
        .args([
            "queue",
            "add",
            "--json",
            "--attempts",
            "3",
            "--backoff",
            "fixed:100ms",
        ])
        .args(["--env", &format!("RUNS={}", runs.display())])
        .args(["--", "sh", "-c", FIRST_HANGS])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)["id"].as_u64().unwrap()
}

/// Waits until job `id` is in `state` (as `d` sees it); returns it.
fn wait_state(d: &Daemon, id: u64, state: &str, within: Duration) -> Value {
    let mut last = Value::Null;
    let reached = wait_for(within, || {
        last = d.job(id);
        last["state"] == state
    });
    assert!(reached, "job {id} not {state}: {last:#}");
    last
}

fn runs_of(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// SIGKILL to a process group the test caused (a job's attempt), if it is still there.
struct EndGroup(u32);

impl Drop for EndGroup {
    fn drop(&mut self) {
        if is_running(self.0) {
            let _ = killpg(Pid::from_raw(self.0 as i32), Signal::SIGKILL);
        }
    }
}

fn unique(stem: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{stem}-{}-{nanos}", std::process::id())
}

#[test]
fn a_job_on_a_killed_daemon_is_retried_on_another_host_exactly_once() {
    let Some(server) = RedisServer::start() else {
        return eprintln!("redis-server is not installed: skipped");
    };
    let prefix = unique("kill9");
    let a = host(&server.url, &prefix, "a");
    let b = host(&server.url, &prefix, "b");
    let runs = a.pw.dir().join("runs");
    // Only a's daemon runs yet, so a takes the job.
    let id = add(&a, &runs);
    let running = wait_state(&a, id, "running", Duration::from_secs(10));
    assert_eq!(running["host"], "a");
    let first = running["attempts"][0]["pid"].as_u64().unwrap() as u32;
    let _cleanup = EndGroup(first);
    a.kill_9();
    // b comes up, finds the lease expired, takes the job over and runs attempt 2.
    let done = wait_state(&b, id, "completed", Duration::from_secs(20));
    assert_eq!(done["host"], "b", "{done:#}");
    assert_eq!(done["attempts"].as_array().unwrap().len(), 2, "{done:#}");
    assert!(done["attempts"][0]["exit_code"].is_null(), "{done:#}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(runs_of(&runs), ["1", "2"], "retried exactly once");
    // The attempt a's daemon left behind runs until a daemon comes back on a's home.
    assert!(is_running(first), "the shim kept the first attempt");
    a.cmd().args(["queue", "group", "list"]).assert().success();
    assert!(
        wait_for(Duration::from_secs(5), || !is_running(first)),
        "the next daemon on a's home ended the attempt left running"
    );
    assert_eq!(a.job(id)["state"], "completed");
}

#[test]
fn a_daemon_back_within_the_lease_readopts_its_running_attempt() {
    let Some(server) = RedisServer::start() else {
        return eprintln!("redis-server is not installed: skipped");
    };
    let a = host(&server.url, &unique("readopt"), "a");
    let runs = a.pw.dir().join("runs");
    let out = a
        .cmd()
        .args([
            "queue",
            "add",
            "--json",
            "--env",
            &format!("RUNS={}", runs.display()),
        ])
        .args([
            "--",
            "sh",
            "-c",
            "echo $PROCWARD_JOB_ATTEMPT >> \"$RUNS\"; sleep 3; echo done >> \"$RUNS\"",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = json(&out)["id"].as_u64().unwrap();
    let running = wait_state(&a, id, "running", Duration::from_secs(10));
    let pid = running["attempts"][0]["pid"].as_u64().unwrap() as u32;
    let _cleanup = EndGroup(pid);
    a.kill_9();
    // Back at once: the lease (2 s) is still a's, so the attempt goes on.
    let done = wait_state(&a, id, "completed", Duration::from_secs(20));
    assert_eq!(done["attempts"].as_array().unwrap().len(), 1, "{done:#}");
    assert_eq!(
        done["attempts"][0]["pid"].as_u64(),
        Some(u64::from(pid)),
        "{done:#}"
    );
    assert_eq!(
        runs_of(&runs),
        ["1", "done"],
        "the attempt ran once, to its end"
    );
}

#[test]
fn a_killed_shim_fails_its_attempt_and_the_job_is_retried_exactly_once() {
    let Some(server) = RedisServer::start() else {
        return eprintln!("redis-server is not installed: skipped");
    };
    let a = host(&server.url, &unique("shim"), "a");
    let runs = a.pw.dir().join("runs");
    let id = add(&a, &runs);
    let running = wait_state(&a, id, "running", Duration::from_secs(10));
    let first = running["attempts"][0]["pid"].as_u64().unwrap() as u32;
    let _cleanup = EndGroup(first);
    let stat = std::fs::read_to_string(format!("/proc/{first}/stat")).unwrap();
    let shim: i32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    kill(Pid::from_raw(shim), Signal::SIGKILL).unwrap();
    let done = wait_state(&a, id, "completed", Duration::from_secs(20));
    assert_eq!(done["attempts"].as_array().unwrap().len(), 2, "{done:#}");
    assert!(
        wait_for(Duration::from_secs(5), || !is_running(first)),
        "the orphaned attempt was ended"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(runs_of(&runs), ["1", "2"], "retried exactly once");
}

#[test]
fn hosts_and_list_all_hosts_show_every_daemon_and_who_went_quiet() {
    let Some(server) = RedisServer::start() else {
        return eprintln!("redis-server is not installed: skipped");
    };
    let prefix = unique("view");
    let a = host(&server.url, &prefix, "a");
    let b = host(&server.url, &prefix, "b");
    for (d, name) in [(&a, "web-a"), (&b, "web-b")] {
        d.cmd()
            .args(["start", name, "--", "sleep", "600"])
            .assert()
            .success();
    }
    let rows = |d: &Daemon| -> Vec<(String, String, String)> {
        let out = d
            .cmd()
            .args(["list", "--all-hosts", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut rows: Vec<_> = json(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                (s("host"), s("name"), s("state"))
            })
            .collect();
        rows.sort();
        rows
    };
    let both = [
        ("a".to_owned(), "web-a".to_owned(), "running".to_owned()),
        ("b".to_owned(), "web-b".to_owned(), "running".to_owned()),
    ];
    assert!(
        wait_for(Duration::from_secs(15), || rows(&a) == both),
        "a sees both hosts' processes: {:?}",
        rows(&a)
    );
    let table = a.cmd().args(["list", "--all-hosts"]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(
        table.starts_with("HOST") && table.contains("web-b"),
        "{table}"
    );
    let alive = |d: &Daemon| -> Vec<(String, bool)> {
        let out = d.cmd().args(["hosts", "--json"]).output().unwrap();
        json(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["host"].as_str().unwrap().to_owned(),
                    h["alive"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(alive(&a), [("a".to_owned(), true), ("b".to_owned(), true)]);
    // b's daemon dies: after two leases without a registration it shows as gone, with
    // what it last reported.
    b.kill_9();
    assert!(
        wait_for(Duration::from_secs(10), || alive(&a)
            == [("a".to_owned(), true), ("b".to_owned(), false)]),
        "{:?}",
        alive(&a)
    );
    assert_eq!(rows(&a), both);
    // Bring b's daemon back so its processes are stopped with the test.
    b.cmd().args(["list"]).assert().success();
}
