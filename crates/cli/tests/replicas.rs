//! Replicas, zero-downtime reload, readiness and success exit codes, end to end with
//! real processes: `start --instances` runs NAME:0..N-1 with PROCWARD_INSTANCE, `scale`
//! grows and shrinks the set, set names reach every replica, `reload` keeps a shared port
//! answering throughout and keeps the old instance when the new one cannot become ready,
//! readiness holds back `up`'s dependents without restarting anything, and an exit code
//! listed in `success_exit_codes` is not restarted under `on-failure`.

mod common;

use std::io::Read as _;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use common::daemon::Daemon;
use common::{free_port, json, wait_for};
use predicates::str::contains;
use serde_json::Value;

/// A server that waits `DELAY` seconds, then listens on the port of argv[1] with
/// SO_REUSEPORT and answers each connection with its pid; `FAIL=1` exits instead.
const SERVER: &str = r#"import os, socket, sys, time
time.sleep(float(os.environ.get('DELAY', '0')))
if os.environ.get('FAIL'): sys.exit(3)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(64)
print('instance', os.environ.get('PROCWARD_INSTANCE'), flush=True)
while True:
    c, _ = s.accept()
    c.sendall(str(os.getpid()).encode())
    c.close()
"#;

fn list(d: &Daemon) -> Vec<Value> {
    let out = d.cmd().args(["list", "--json"]).output().unwrap();
    json(&out).as_array().cloned().unwrap_or_default()
}

/// The replicas of `base` that run and are ready, by name.
fn ready_replicas(d: &Daemon, base: &str) -> Vec<(String, u64)> {
    list(d)
        .into_iter()
        .filter(|p| p["name"].as_str().unwrap().starts_with(&format!("{base}:")))
        .filter(|p| p["state"] == "running" && p["readiness"] == "healthy")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["pid"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn start_server(d: &Daemon, name: &str, port: u16, extra: &[&str]) {
    let probe = format!("tcp:127.0.0.1:{port}");
    d.cmd()
        .args(["start", name, "--readiness", &probe])
        .args(extra)
        .args(["--", "python3", "-c", SERVER, &port.to_string()])
        .assert()
        .success();
}

#[test]
fn a_set_scales_answers_to_its_name_and_tells_each_replica_its_index() {
    let d = Daemon::new();
    let port = free_port();
    start_server(&d, "web", port, &["--instances", "2"]);
    assert!(wait_for(Duration::from_secs(20), || ready_replicas(
        &d, "web"
    )
    .len()
        == 2));
    // Ready means the port accepts; the line printed just after listen() may still be
    // on its way to the log file.
    assert!(wait_for(Duration::from_secs(10), || d
        .logs("web:1", 5)
        .iter()
        .any(|l| l.contains("instance 1"))));
    assert!(wait_for(Duration::from_secs(10), || !d
        .logs("web:0", 5)
        .is_empty()));
    // The set's logs: every replica's lines, each naming its replica.
    let all = d.cmd().args(["logs", "web"]).output().unwrap();
    let text = String::from_utf8_lossy(&all.stdout);
    assert!(text.contains("web:0 | instance 0"), "{text}");
    assert!(text.contains("web:1 | instance 1"), "{text}");
    // So does flush: every replica's logs emptied.
    d.cmd().args(["flush", "web"]).assert().success();
    assert!(d.logs("web:0", 5).is_empty() && d.logs("web:1", 5).is_empty());

    d.cmd()
        .args(["scale", "web", "4"])
        .assert()
        .success()
        .stdout(contains("web:0, web:1, web:2, web:3"));
    let names: Vec<String> = ready_replicas(&d, "web").into_iter().map(|r| r.0).collect();
    assert_eq!(
        names,
        ["web:0", "web:1", "web:2", "web:3"],
        "new replicas ready"
    );
    assert_eq!(d.status("web:3")["spec"]["instances"], 4);
    let set = d.cmd().args(["status", "web", "--json"]).output().unwrap();
    assert_eq!(
        json(&set).as_array().map(Vec::len),
        Some(4),
        "status of a set: every replica"
    );

    // The set's name reaches every replica.
    d.cmd().args(["stop", "web"]).assert().success();
    assert!(list(&d).iter().all(|p| p["state"] == "stopped"));
    d.cmd().args(["restart", "web"]).assert().success();
    assert!(wait_for(Duration::from_secs(20), || ready_replicas(
        &d, "web"
    )
    .len()
        == 4));

    d.cmd().args(["scale", "web", "1"]).assert().success();
    let names: Vec<String> = list(&d).iter().map(|p| p["name"].to_string()).collect();
    assert_eq!(names, ["\"web:0\""]);
    d.cmd().args(["delete", "web"]).assert().success();
    assert!(list(&d).is_empty());
}

#[test]
fn bad_replica_input_is_refused_and_nothing_starts() {
    let d = Daemon::new();
    for (args, words) in [
        (vec!["--instances", "0"], "out of range: 1 to 256"),
        (vec!["--instances", "257"], "out of range"),
        (vec!["--success-exit-code", "256"], "not an exit code"),
        (vec!["--readiness", "localhost:80"], "not a probe"),
    ] {
        d.cmd()
            .args(["start", "bad"])
            .args(&args)
            .args(["--", "sleep", "60"])
            .assert()
            .code(2)
            .stderr(contains(words));
    }
    d.cmd()
        .args(["start", "web:0", "--", "sleep", "60"])
        .assert()
        .code(2)
        .stderr(contains("reserved for them"));
    d.cmd()
        .args(["scale", "nothing", "2"])
        .assert()
        .failure()
        .stderr(contains("nothing"));
    d.cmd()
        .args(["start", "plain", "--", "sleep", "60"])
        .assert()
        .success();
    d.cmd()
        .args(["reload", "plain"])
        .assert()
        .failure()
        .stderr(contains("neither a readiness nor a health check"));
    assert_eq!(list(&d).len(), 1, "only `plain` was registered");
}

/// Connects to `port` every few milliseconds until `stop`, counting refusals.
fn hammer(
    port: u16,
    stop: Arc<AtomicBool>,
    failures: Arc<AtomicU32>,
) -> std::thread::JoinHandle<u32> {
    std::thread::spawn(move || {
        let mut answered = 0;
        while !stop.load(Ordering::Relaxed) {
            let reply = TcpStream::connect(("127.0.0.1", port)).and_then(|mut c| {
                let mut text = String::new();
                c.read_to_string(&mut text).map(|_| text)
            });
            match reply {
                Ok(text) if !text.is_empty() => answered += 1,
                _ => {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        answered
    })
}

#[test]
fn reload_keeps_the_port_answering_and_replaces_the_process() {
    let d = Daemon::new();
    let port = free_port();
    // The new instance takes a second to listen: until then only the old one may answer.
    start_server(&d, "api", port, &["--env", "DELAY=1"]);
    assert!(wait_for(Duration::from_secs(20), || {
        d.status("api")["readiness"] == "healthy"
    }));
    let old = d.status("api")["pid"].as_u64().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU32::new(0));
    let load = hammer(port, stop.clone(), failures.clone());
    let reload = d.cmd().args(["reload", "api"]).assert().success();
    let reloaded = d.status("api");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let answered = load.join().unwrap();
    let new = reloaded["pid"].as_u64().unwrap();
    assert_ne!(new, old, "{reload:?}");
    assert!(answered > 20, "the port answered {answered} times");
    // The old instance may drop connections queued in its own backlog when it stops; the
    // port itself never stops answering.
    assert!(
        failures.load(Ordering::Relaxed) <= 2,
        "{} refusals",
        failures.load(Ordering::Relaxed)
    );
    assert!(wait_for(Duration::from_secs(10), || !common::is_running(
        old as u32
    )));
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).unwrap();
    assert_eq!(text, new.to_string(), "the new instance answers");
}

#[test]
fn a_reload_whose_new_instance_fails_keeps_the_old_one() {
    let d = Daemon::new();
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("fail");
    // FAIL is read from a file the test creates after the first start.
    let script = SERVER.replace(
        "os.environ.get('FAIL')",
        &format!("os.path.exists({:?})", flag.display().to_string()),
    );
    let probe = format!("tcp:127.0.0.1:{port}");
    d.cmd()
        .args(["start", "api", "--readiness", &probe, "--"])
        .args(["python3", "-c", &script, &port.to_string()])
        .assert()
        .success();
    assert!(wait_for(Duration::from_secs(20), || {
        d.status("api")["readiness"] == "healthy"
    }));
    let old = d.status("api")["pid"].as_u64().unwrap();
    std::fs::write(&flag, "").unwrap();
    d.cmd()
        .args(["reload", "api"])
        .assert()
        .failure()
        .stderr(contains("the old instance keeps running"));
    let status = d.status("api");
    assert_eq!(status["pid"].as_u64(), Some(old), "{status}");
    assert_eq!(status["state"], "running");
    assert!(common::is_running(old as u32));
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .contains("reload abandoned")
    );
}

#[test]
fn readiness_holds_back_dependents_without_restarting() {
    let d = Daemon::new();
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let file = dir.path().join("procward.toml");
    std::fs::write(
        &file,
        format!(
            "[process.db]\ncommand = 'sleep 600'\n\
             readiness = {{ command = 'test -e {ready}', interval = '100ms', retries = 1 }}\n\
             [process.app]\ncommand = 'sleep 600'\ndepends_on = ['db']\n",
            ready = ready.display()
        ),
    )
    .unwrap();
    let mut up = d.pw.std_cmd().arg("up").arg(&file).spawn().unwrap();
    assert!(wait_for(Duration::from_secs(10), || {
        list(&d)
            .iter()
            .any(|p| p["name"] == "db" && p["readiness"] == "unhealthy")
    }));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !list(&d).iter().any(|p| p["name"] == "app"),
        "app started before db was ready"
    );
    assert_eq!(d.status("db")["restarts"], 0, "not ready is not a failure");
    std::fs::write(&ready, "").unwrap();
    assert!(up.wait().unwrap().success());
    assert_eq!(d.status("app")["state"], "running");
}

#[test]
fn a_listed_exit_code_is_success_under_on_failure() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "batch",
            "--restart",
            "on-failure",
            "--success-exit-code",
            "3",
        ])
        .args(["--", "sh", "-c", "exit 3"])
        .assert()
        .success();
    let status = d.wait_state("batch", "stopped", Duration::from_secs(10));
    assert_eq!(status["restarts"], 0, "{status}");
    assert_eq!(status["last_exit"]["exit_code"], 3);
    d.cmd()
        .args([
            "start",
            "crash",
            "--restart",
            "on-failure",
            "--success-exit-code",
            "3",
        ])
        .args([
            "--backoff",
            "50ms:50ms",
            "--max-restarts",
            "1",
            "--",
            "sh",
            "-c",
            "exit 4",
        ])
        .assert()
        .success();
    let status = d.wait_state("crash", "failed", Duration::from_secs(10));
    assert_eq!(status["restarts"], 1, "{status}");
}

#[test]
fn a_daemon_killed_mid_reload_stops_the_old_instance_when_it_comes_back() {
    let d = Daemon::new();
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    std::fs::write(&ready, "").unwrap();
    let probe = format!("cmd:test -e {}", ready.display());
    d.cmd()
        .args(["start", "api", "--readiness", &probe, "--", "sleep", "600"])
        .assert()
        .success();
    assert!(wait_for(Duration::from_secs(20), || {
        d.status("api")["readiness"] == "healthy"
    }));
    let old = d.status("api")["pid"].as_u64().unwrap() as u32;
    // The new instance never becomes ready: the reload waits, and the daemon dies.
    std::fs::remove_file(&ready).unwrap();
    let mut reload = d.pw.std_cmd().args(["reload", "api"]).spawn().unwrap();
    assert!(wait_for(Duration::from_secs(10), || {
        d.status("api")["pid"]
            .as_u64()
            .is_some_and(|p| p as u32 != old)
    }));
    let new = d.status("api")["pid"].as_u64().unwrap() as u32;
    d.kill_9();
    let _ = reload.wait();
    // The next daemon adopts the new instance and ends the old one.
    let status = d.status("api");
    assert_eq!(status["pid"].as_u64(), Some(u64::from(new)), "{status}");
    assert!(
        wait_for(Duration::from_secs(10), || !common::is_running(old)),
        "the old instance of the cut-short reload still runs"
    );
    assert!(common::is_running(new));
}
