//! Several daemons' engines sharing one queue on a real redis-server (each its own home
//! and host name, one key prefix): a group's `parallel` holds across hosts, a cancel
//! reaches the host running the job, events and `wait` cross hosts, every host is in the
//! fleet view, and a Redis that is down is reported while nothing is lost.
//! Skipped (with a note) where redis-server is not installed; CI installs it.

mod common;

use std::time::Duration;

use common::redis_server::RedisServer;
use common::{Fixture, alive, eventually, redis_config, sh, unique};
use procward_core::queue::JobState;
use procward_daemon::engine::EngineError;
use procward_daemon::engine::queue::{JobFilter, QueueBackend};

/// `n` engines on `server` under one prefix, named h0, h1, ...
fn hosts(server: &RedisServer, n: usize) -> Vec<Fixture> {
    let prefix = unique("fleet");
    (0..n)
        .map(|i| {
            let config = redis_config(&server.url, &prefix, &format!("h{i}"));
            Fixture::with_backend(|_| {}, QueueBackend::Redis(config))
        })
        .collect()
}

macro_rules! redis_or_skip {
    () => {
        match RedisServer::start() {
            Some(server) => server,
            None => {
                eprintln!("redis-server is not installed: skipped");
                return;
            }
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_groups_parallel_holds_across_hosts_and_every_host_takes_work() {
    let server = redis_or_skip!();
    let fleet = hosts(&server, 3);
    let queue = fleet[0].engine.queue();
    queue.put_group("shared".into(), 2).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let slots = dir.path().join("slots");
    std::fs::create_dir(&slots).unwrap();
    let counts = dir.path().join("counts");
    // Each job holds a slot (a directory) while it runs and records how many are held:
    // a slot is given back before the process exits, so the count never overstates.
    let script = format!(
        "mkdir {s}/$PROCWARD_JOB_ID; ls {s} | wc -l >> {c}; sleep 0.3; rmdir {s}/$PROCWARD_JOB_ID",
        s = slots.display(),
        c = counts.display()
    );
    let mut ids = Vec::new();
    for i in 0..12 {
        let mut spec = sh(&script);
        spec.group = "shared".into();
        // Added through every host in turn.
        ids.push(fleet[i % 3].engine.queue().add(spec).await.unwrap().id);
    }
    for id in &ids {
        let job = tokio::time::timeout(Duration::from_secs(30), queue.wait(*id))
            .await
            .expect("every job ends")
            .unwrap();
        assert_eq!(job.state, JobState::Completed, "{job:?}");
    }
    let counts: Vec<u32> = std::fs::read_to_string(&counts)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(counts.len(), 12, "each job ran once");
    assert_eq!(
        counts.iter().max(),
        Some(&2),
        "parallel 2 across hosts: {counts:?}"
    );
    let jobs = queue.list(JobFilter::default()).await.unwrap();
    let ran_on: std::collections::BTreeSet<String> =
        jobs.iter().filter_map(|j| j.host.clone()).collect();
    assert!(ran_on.len() >= 2, "work spread over hosts: {ran_on:?}");
    let seen = queue.hosts().await.unwrap();
    let names: Vec<&str> = seen.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(names, ["h0", "h1", "h2"]);
    assert!(seen.iter().all(|h| h.alive && h.pid == std::process::id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_reaches_the_host_running_the_job_and_ends_its_tree() {
    let server = redis_or_skip!();
    let fleet = hosts(&server, 2);
    let (a, b) = (fleet[0].engine.queue(), fleet[1].engine.queue());
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("bg.pid");
    let job = a
        .add(sh(&format!(
            "sleep 60 & echo $! > {}; wait",
            pidfile.display()
        )))
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            a.get(job.id).await.unwrap().state == JobState::Running && pidfile.exists()
        })
        .await
    );
    let running = a.get(job.id).await.unwrap();
    let runner = running.host.clone().expect("a host runs it");
    // Cancel through the host that does not run it.
    let other = if runner == "h0" { b } else { a };
    let pid = running.attempts[0].pid;
    let background: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cancelled = tokio::time::timeout(Duration::from_secs(10), other.cancel(job.id))
        .await
        .expect("answered once the job ended there")
        .unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(
        eventually(Duration::from_secs(3), || async {
            !alive(pid) && !alive(background)
        })
        .await
    );
    assert!(matches!(
        other.cancel(job.id).await,
        Err(EngineError::Refused(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_down_is_reported_and_a_restart_loses_and_duplicates_nothing() {
    let mut server = redis_or_skip!();
    let fleet = hosts(&server, 2);
    let queue = fleet[0].engine.queue();
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let mut ids = Vec::new();
    for _ in 0..16 {
        let script = format!("echo $PROCWARD_JOB_ID >> {}; sleep 0.4", runs.display());
        ids.push(queue.add(sh(&script)).await.unwrap().id);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill();
    let refused = queue.list(JobFilter::default()).await;
    match refused {
        Err(EngineError::Unavailable(message)) => {
            assert!(
                message.contains("the job queue is unavailable: Redis at redis://127.0.0.1:"),
                "{message}"
            )
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    // Managed processes are not affected.
    let supervisor = fleet[0].engine.supervisor();
    assert!(supervisor.list().await.is_ok());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.restart();
    for id in &ids {
        let job = tokio::time::timeout(Duration::from_secs(30), queue.wait(*id))
            .await
            .expect("every job ends after the restart")
            .unwrap();
        assert_eq!(job.state, JobState::Completed, "{job:?}");
        assert_eq!(job.attempts.len(), 1, "{job:?}");
    }
    let mut ran: Vec<u64> = std::fs::read_to_string(&runs)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    ran.sort_unstable();
    assert_eq!(ran, ids, "each job ran exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jobs_output_is_followed_from_another_host() {
    use procward_daemon::engine::logs::{Lines, LogStream};
    use procward_daemon::engine::queue::logs::JobLogsQuery;
    let server = redis_or_skip!();
    let fleet = hosts(&server, 2);
    let queue = fleet[0].engine.queue();
    let job = queue
        .add(sh(
            "for i in 1 2 3; do echo line$i; sleep 0.2; done; echo oops >&2",
        ))
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            queue.get(job.id).await.unwrap().host.is_some()
        })
        .await
    );
    let runner = queue.get(job.id).await.unwrap().host.unwrap();
    // Read through the host that does not run it.
    let other = if runner == "h0" { &fleet[1] } else { &fleet[0] };
    let query = |follow: bool| JobLogsQuery {
        id: job.id,
        attempt: None,
        stdout: false,
        stderr: false,
        lines: Lines::All,
        follow,
    };
    let collect = |mut rx: tokio::sync::mpsc::Receiver<procward_daemon::engine::logs::LogLine>| async move {
        let mut lines = Vec::new();
        while let Some(line) = rx.recv().await {
            lines.push((
                line.stream,
                String::from_utf8_lossy(&line.line).into_owned(),
            ));
        }
        lines
    };
    let followed = tokio::time::timeout(
        Duration::from_secs(15),
        collect(other.engine.job_logs(query(true)).await.unwrap()),
    )
    .await
    .expect("the follow ends with the job");
    let expected = [
        (LogStream::Stdout, "line1".to_owned()),
        (LogStream::Stdout, "line2".to_owned()),
        (LogStream::Stdout, "line3".to_owned()),
        (LogStream::Stderr, "oops".to_owned()),
    ];
    assert_eq!(followed, expected);
    assert!(queue.get(job.id).await.unwrap().state.is_final());
    // After the end: the tail, from either host.
    for host in &fleet {
        let tail = collect(host.engine.job_logs(query(false)).await.unwrap()).await;
        assert_eq!(tail.len(), 4, "{tail:?}");
    }
}

/// A redis-server on TLS only, with a password, and the CA that signed its certificate
/// (made with openssl); `None` when openssl or TLS support is missing.
fn tls_redis(dir: &std::path::Path) -> Option<(KillOnDrop, u16)> {
    let run = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    std::fs::write(dir.join("ext"), "subjectAltName=IP:127.0.0.1\n").ok()?;
    let made = run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=procward test CA",
    ]) && run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]) && run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext",
    ]);
    if !made {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = std::process::Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
        ])
        .args([
            "--tls-cert-file",
            "server.pem",
            "--tls-key-file",
            "server.key",
        ])
        .args(["--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"])
        .args(["--requirepass", "s3cret", "--save", "", "--dir", "."])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    Some((KillOnDrop(child), port))
}

/// A child killed and reaped when the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_queue_works_over_tls_with_a_password_that_no_message_shows() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_server, port)) = tls_redis(dir.path()) else {
        return eprintln!("openssl or redis-server with TLS is missing: skipped");
    };
    let mut config = redis_config(
        &format!("rediss://:s3cret@127.0.0.1:{port}/0"),
        &unique("tls"),
        "h0",
    );
    config.tls_ca = Some(dir.path().join("ca.pem"));
    let f = Fixture::with_backend(|_| {}, QueueBackend::Redis(config));
    let queue = f.engine.queue();
    assert!(
        eventually(Duration::from_secs(10), || async {
            queue.groups().await.is_ok()
        })
        .await,
        "the daemon reaches the server over TLS"
    );
    let job = queue.add(sh("echo over tls")).await.unwrap();
    let job = tokio::time::timeout(Duration::from_secs(10), queue.wait(job.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, JobState::Completed);
    // A wrong password is refused, and the message does not show the password.
    let mut wrong = redis_config(
        &format!("rediss://:wrong-pw@127.0.0.1:{port}/0"),
        &unique("tls"),
        "h1",
    );
    wrong.tls_ca = Some(dir.path().join("ca.pem"));
    let g = Fixture::with_backend(|_| {}, QueueBackend::Redis(wrong));
    match g.engine.queue().groups().await {
        Err(EngineError::Unavailable(message)) => {
            assert!(message.contains("rediss://:***@127.0.0.1"), "{message}");
            assert!(!message.contains("wrong-pw"), "{message}");
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_runs_only_the_groups_it_serves() {
    let server = redis_or_skip!();
    let prefix = unique("serve");
    let with_serve = |name: &str, serve: &[&str]| {
        let mut config = redis_config(&server.url, &prefix, name);
        config.serve = serve.iter().map(|g| (*g).to_owned()).collect();
        Fixture::with_backend(|_| {}, QueueBackend::Redis(config))
    };
    let general = with_serve("general", &["default"]);
    let gpu = with_serve("gpu-box", &["gpu"]);
    let queue = general.engine.queue();
    queue.put_group("gpu".into(), 4).await.unwrap();
    let mut ids = Vec::new();
    for group in ["gpu", "default", "gpu", "default"] {
        let mut spec = sh("true");
        spec.group = group.into();
        ids.push((group, queue.add(spec).await.unwrap().id));
    }
    for (group, id) in ids {
        let job = tokio::time::timeout(Duration::from_secs(10), queue.wait(id))
            .await
            .unwrap()
            .unwrap();
        let expected = if group == "gpu" { "gpu-box" } else { "general" };
        assert_eq!(job.host.as_deref(), Some(expected), "{job:?}");
    }
    drop(gpu);
}
