//! A lost shim: `kill -9` of a managed process's `procward shim` must never leave two
//! copies of the process running. The daemon ends the orphaned process group (stop
//! signal, SIGKILL at the stop timeout) before its restart policy applies, `stop` and
//! `delete` still reach that group meanwhile, and a daemon that comes back to a shim gone
//! does the same. Each test runs its own daemon in its own home.

mod common;

use std::time::Duration;

use common::daemon::{Daemon, group_members};
use common::grpc::{TcpDaemon, runtime};
use common::{is_running, wait_for};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use procward_proto::v1;
use serde_json::Value;

/// The quiet managed process: prints nothing, lives long.
const QUIET: [&str; 2] = ["sleep", "1000"];

/// A managed process that ignores SIGTERM (only SIGKILL ends it) and says when it does.
const STUBBORN: [&str; 3] = [
    "python3",
    "-c",
    "import signal,time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(1000)",
];

fn pids(status: &Value) -> (u32, u32) {
    let pid = status["pid"].as_u64().expect("pid") as u32;
    let shim = status["shim_pid"].as_u64().expect("shim_pid") as u32;
    (pid, shim)
}

/// SIGKILL to a process this test started (through its daemon).
fn sigkill(pid: u32) {
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).expect("SIGKILL");
}

/// Every live process below `root` in the process tree (the daemon is a subreaper, so an
/// orphan of its shims stays below it).
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat.rsplit(')').next()?.split_whitespace().nth(1)?;
            Some((pid, ppid.parse().ok()?))
        })
        .collect();
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        next += 1;
    }
    found.remove(0);
    found.retain(|&pid| is_running(pid));
    found
}

/// The daemon's descendants running `argv` (the program by file name, as a launcher
/// such as pyenv's may exec it by full path): the copies of a managed process.
fn copies(daemon: u32, argv: &[&str]) -> Vec<u32> {
    descendants(daemon)
        .into_iter()
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = (cmdline.split(|&b| b == 0))
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let program = args.first().map(|a| a.rsplit('/').next().unwrap_or(a));
            args.len() == argv.len() && program == argv.first().copied() && args[1..] == argv[1..]
        })
        .collect()
}

/// Nothing of the runs `pids` is left.
fn assert_gone(pids: &[u32]) {
    for &pid in pids {
        assert!(!is_running(pid), "pid {pid} still runs");
        assert!(group_members(pid).is_empty(), "group {pid} has members");
    }
}

#[test]
fn a_killed_shim_never_leaves_two_copies_and_delete_leaves_nothing() {
    let d = Daemon::new();
    let (pid, shim) = pids(&d.start_restarting("quiet", &[], &QUIET));
    let daemon = d.daemon_pid();
    assert_eq!(copies(daemon, &QUIET), [pid]);
    // Built beside `procward`, the standalone shim is the one the daemon runs.
    let shim_exe = std::fs::read_link(format!("/proc/{shim}/exe")).expect("the shim's exe");
    assert_eq!(
        shim_exe.file_name().and_then(|n| n.to_str()),
        Some("procward-shim"),
        "{}",
        shim_exe.display()
    );
    sigkill(shim);
    // The orphan is ended, then the policy restarts it once, under a new shim.
    let mut status = Value::Null;
    assert!(
        wait_for(Duration::from_secs(20), || {
            status = d.status("quiet");
            status["state"] == "running" && status["pid"].as_u64() != Some(u64::from(pid))
        }),
        "never restarted: {status}"
    );
    let (new_pid, new_shim) = pids(&status);
    assert_eq!(copies(daemon, &QUIET), [new_pid], "exactly one copy runs");
    assert_gone(&[pid]);
    assert!(is_running(new_shim) && new_shim != shim);
    assert_eq!(status["restarts"], 1, "{status}");
    d.cmd().args(["delete", "quiet"]).assert().success();
    assert_eq!(copies(daemon, &QUIET), Vec::<u32>::new());
    assert_gone(&[pid, new_pid]);
    assert!(!is_running(new_shim));
}

#[test]
fn delete_ends_the_group_of_a_lost_shim_that_ignores_the_stop_signal() {
    let d = Daemon::new();
    let status = d.start_restarting("stubborn", &["--stop-timeout", "3s"], &STUBBORN);
    let (pid, shim) = pids(&status);
    assert!(wait_for(Duration::from_secs(10), || d.logs("stubborn", 1)
        == ["ready"]));
    let daemon = d.daemon_pid();
    sigkill(shim);
    // SIGTERM is ignored, so the orphan outlives it: stopping, not restarted meanwhile.
    let status = d.wait_state("stubborn", "stopping", Duration::from_secs(10));
    assert!(
        status["reason"]
            .as_str()
            .is_some_and(|r| r.contains("lost its shim")),
        "{status}"
    );
    assert_eq!(copies(daemon, &STUBBORN), [pid], "no second copy");
    d.cmd().args(["delete", "stubborn"]).assert().success();
    assert_eq!(copies(daemon, &STUBBORN), Vec::<u32>::new());
    assert_gone(&[pid]);
    let out = d.cmd().args(["status", "stubborn"]).output().unwrap();
    assert!(!out.status.success(), "deleted, yet still listed");
}

#[test]
fn a_daemon_that_finds_a_shim_gone_ends_the_orphan_before_restarting() {
    let d = Daemon::new();
    let (pid, shim) = pids(&d.start_restarting("quiet", &[], &QUIET));
    let daemon = d.daemon_pid();
    sigkill(daemon);
    assert!(wait_for(Duration::from_secs(5), || !is_running(daemon)));
    sigkill(shim);
    assert!(wait_for(Duration::from_secs(5), || !is_running(shim)));
    assert!(is_running(pid), "the process outlives its shim");
    // The new daemon does not adopt a process nobody logs: it ends it and starts anew.
    let mut status = Value::Null;
    assert!(
        wait_for(Duration::from_secs(20), || {
            status = d.status("quiet");
            status["state"] == "running" && status["pid"].as_u64() != Some(u64::from(pid))
        }),
        "the orphan was adopted instead: {status}"
    );
    assert_gone(&[pid]);
    let (new_pid, _) = pids(&status);
    assert_eq!(copies(d.daemon_pid(), &QUIET), [new_pid]);
    d.cmd().args(["delete", "quiet"]).assert().success();
    assert_gone(&[new_pid]);
}

#[test]
fn grpc_sigkill_of_a_shim_stops_the_process_through_the_supervisor() {
    let tcp = TcpDaemon::start();
    let (pid, shim) = pids(&tcp.daemon.start_restarting("svc", &[], &QUIET));
    let daemon = tcp.daemon.daemon_pid();
    runtime().block_on(async {
        let answer = tcp
            .manager()
            .await
            .kill_process(v1::KillProcessRequest {
                pid: shim,
                signal: Some("KILL".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            answer.success && answer.message.contains("'svc'"),
            "{answer:?}"
        );
    });
    tcp.daemon
        .wait_state("svc", "stopped", Duration::from_secs(10));
    // Past the back-off: a restart would have happened by now.
    std::thread::sleep(Duration::from_secs(2));
    let status = tcp.daemon.status("svc");
    assert_eq!(status["state"], "stopped", "{status}");
    assert_eq!(status["restarts"], 0, "{status}");
    assert_eq!(copies(daemon, &QUIET), Vec::<u32>::new(), "no copy left");
    assert_gone(&[pid, shim]);
}
