//! `procward hosts`, the fleet view, against a real daemon on the embedded queue: it lists
//! exactly this daemon (alive, its pid) as JSON with HostInfo's field names and as a
//! table, queue list's JSON carries no host there, and a stray argument exits 2.

mod common;

use common::daemon::Daemon;
use common::json;

fn run(d: &Daemon, args: &[&str]) -> std::process::Output {
    let out = d.cmd().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn hosts_lists_this_daemon_alive_with_its_pid() {
    let d = Daemon::new();
    // The first command starts the daemon (`daemon status` does not).
    let hosts = json(&run(&d, &["hosts", "--json"]));
    let pid = d.daemon_pid();
    let hosts = hosts.as_array().expect("an array of hosts");
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    let host = &hosts[0];
    assert_eq!(host["pid"].as_u64(), Some(u64::from(pid)), "{host}");
    assert_eq!(host["alive"], true, "{host}");
    assert!(!host["host"].as_str().unwrap().is_empty(), "{host}");
    assert_eq!(host["version"], env!("CARGO_PKG_VERSION"), "{host}");
    assert!(host["cpus"].as_u64().unwrap() >= 1, "{host}");
    assert_eq!(host["jobs_running"], 0, "{host}");
    for key in ["seen_ms", "load"] {
        assert!(host[key].is_number(), "{key}: {host}");
    }

    let table = String::from_utf8(run(&d, &["hosts"]).stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["HOST", "STATE", "VERSION", "LOAD", "CPUS", "JOBS", "SEEN"],
        "{table}"
    );
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[1].contains("alive") && lines[1].contains(" ago"),
        "{table}"
    );
}

#[test]
fn queue_list_has_no_host_on_the_embedded_queue() {
    let d = Daemon::new();
    run(&d, &["queue", "add", "--", "true"]);
    let jobs = json(&run(&d, &["queue", "list", "--json"]));
    assert!(jobs[0].get("host").is_none(), "{jobs}");
    let table = String::from_utf8(run(&d, &["queue", "list"]).stdout).unwrap();
    assert!(!table.lines().next().unwrap().contains("HOST"), "{table}");
}

#[test]
fn a_stray_argument_is_refused_with_exit_2() {
    let pw = common::Procward::new();
    let out = pw.cmd().args(["hosts", "extra-arg"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unexpected argument 'extra-arg'"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
