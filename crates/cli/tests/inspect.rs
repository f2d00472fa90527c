//! `procward ps`, `info` and `ports`: real processes and sockets, compared with `ss`.

mod common;

use std::collections::BTreeSet;
use std::net::{TcpListener, UdpSocket};
use std::process::Command;

use common::{Procward, Spawned, json};
use predicates::str::contains;
use serde_json::Value;

fn processes(out: &std::process::Output) -> Vec<Value> {
    json(out).as_array().expect("a JSON array").clone()
}

#[test]
fn ps_json_lists_a_started_process_with_every_field() {
    let pw = Procward::new();
    let target = Spawned::sleeper();
    let out = pw
        .cmd()
        .args(["ps", "--json", "--interval", "50ms"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let listed = processes(&out);
    let me = listed
        .iter()
        .find(|p| p["pid"] == target.pid())
        .expect("sleep listed");
    assert_eq!(me["name"], "sleep");
    assert_eq!(me["command"], "sleep 1000");
    assert_eq!(me["ppid"], std::process::id());
    assert_eq!(
        me["user"],
        nix::unistd::User::from_uid(nix::unistd::geteuid())
            .unwrap()
            .unwrap()
            .name
    );
    assert_eq!(me["status"], "sleeping");
    assert_eq!(me["threads"], 1);
    assert!(me["memory_rss"].as_u64().unwrap() > 0);
    assert!(me["memory_vms"].as_u64().unwrap() >= me["memory_rss"].as_u64().unwrap());
    for field in [
        "cpu_percent",
        "memory_percent",
        "start_time",
        "uptime_seconds",
        "uid",
    ] {
        assert!(me[field].is_number(), "{field} missing: {me}");
    }
}

#[test]
fn ps_measures_cpu_over_the_sample() {
    let pw = Procward::new();
    let busy = Spawned::shell("while :; do :; done");
    let out = pw
        .cmd()
        .args(["ps", "--json", "--interval", "300ms", "--limit", "5"])
        .output()
        .unwrap();
    let listed = processes(&out);
    let me = listed
        .iter()
        .find(|p| p["pid"] == busy.pid())
        .expect("busy loop among the top 5 by CPU");
    assert!(me["cpu_percent"].as_f64().unwrap() > 15.0, "{me}");
    assert_eq!(listed.len(), 5);
}

#[test]
fn json_stays_valid_while_processes_come_and_go() {
    let pw = Procward::new();
    // Hundreds of short-lived processes a second: some vanish between the /proc listing
    // and the reads of their files.
    let _churn = Spawned::shell("while :; do /bin/true & /bin/true; done");
    for _ in 0..5 {
        let out = pw
            .cmd()
            .args(["ps", "--json", "-i", "20ms"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(!processes(&out).is_empty());
        let out = pw
            .cmd()
            .args(["ps", "--json", "--tree", "-i", "5ms"])
            .output()
            .unwrap();
        assert!(!processes(&out).is_empty());
        let out = pw.cmd().args(["ports", "--json"]).output().unwrap();
        assert!(json(&out).is_array());
    }
}

#[test]
fn ps_filters_sorts_and_limits() {
    let pw = Procward::new();
    let _a = Spawned::shell("exec sleep 1001");
    let _b = Spawned::shell("exec sleep 1002");
    let out = pw
        .cmd()
        .args([
            "ps",
            "--json",
            "-i",
            "10ms",
            "--name",
            "SLEEP 100",
            "--sort",
            "pid",
        ])
        .output()
        .unwrap();
    let listed = processes(&out);
    assert!(listed.len() >= 2);
    let pids: Vec<u64> = listed.iter().map(|p| p["pid"].as_u64().unwrap()).collect();
    assert!(
        pids.windows(2).all(|w| w[0] < w[1]),
        "sorted by pid: {pids:?}"
    );
    let me = nix::unistd::geteuid().as_raw().to_string();
    let out = pw
        .cmd()
        .args(["ps", "--json", "-i", "10ms", "--user", &me, "--limit", "3"])
        .output()
        .unwrap();
    let listed = processes(&out);
    assert_eq!(listed.len(), 3);
    assert!(
        listed
            .iter()
            .all(|p| p["uid"].as_u64().unwrap().to_string() == me)
    );
    let out = pw
        .cmd()
        .args(["ps", "--json", "-i", "10ms", "--user", "no-such-user-xyz"])
        .output()
        .unwrap();
    assert!(processes(&out).is_empty());
}

#[test]
fn ps_tree_nests_children_under_their_parent() {
    let pw = Procward::new();
    let mut parent = Spawned::shell("sleep 1003 & echo ready; wait");
    parent.read_line();
    let out = pw
        .cmd()
        .args([
            "ps",
            "--json",
            "--tree",
            "-i",
            "10ms",
            "--name",
            "sleep 1003",
        ])
        .output()
        .unwrap();
    let roots = processes(&out);
    let shell = roots
        .iter()
        .find(|p| p["pid"] == parent.pid())
        .expect("shell is a root");
    assert_eq!(shell["children"][0]["command"], "sleep 1003");
    let text = pw
        .cmd()
        .args(["ps", "--tree", "-i", "10ms", "--name", "sleep 1003"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("└─ sleep 1003"));
}

#[test]
fn ps_table_has_headers_and_no_colour_when_piped() {
    let pw = Procward::new();
    let out = pw
        .cmd()
        .args(["ps", "-i", "10ms", "--limit", "2"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[..4], ["PID", "PPID", "USER", "STATUS"], "{text}");
    assert!(!text.contains('\x1b'), "no ANSI codes when piped");
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn ps_rejects_bad_input() {
    let pw = Procward::new();
    for (args, message) in [
        (vec!["ps", "--interval", "0"], "at least 1ms"),
        (vec!["ps", "--interval", "-1"], "negative"),
        (vec!["ps", "--interval", "fast"], "not a duration"),
        (vec!["ps", "--sort", "speed"], "unknown sort key 'speed'"),
        (vec!["ps", "--limit", "0"], "at least 1"),
        (vec!["ps", "--limit", "-3"], "limit"),
    ] {
        pw.cmd()
            .args(&args)
            .assert()
            .code(2)
            .stderr(contains(message));
    }
}

#[test]
fn process_list_is_json_when_piped() {
    let pw = Procward::new();
    let out = pw
        .cmd()
        .args(["process", "list", "-i", "10ms", "--limit", "1"])
        .output()
        .unwrap();
    assert_eq!(processes(&out).len(), 1);
}

#[test]
fn config_file_sets_defaults_and_bad_config_is_reported() {
    let pw = Procward::new();
    let path = pw.dir().join("config.toml");
    std::fs::write(&path, "[ps]\nlimit = 2\ninterval = \"10ms\"\n").unwrap();
    let out = pw
        .cmd()
        .args(["ps", "--json", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(processes(&out).len(), 2);
    std::fs::write(&path, "[ps]\nlimit = 2\nspeed = 1\n").unwrap();
    pw.cmd()
        .args(["ps", "--config"])
        .arg(&path)
        .assert()
        .failure()
        .stderr(contains("line 3, column 1"));
}

#[test]
fn info_reports_system_figures() {
    let pw = Procward::new();
    let out = pw.cmd().args(["info", "--json"]).output().unwrap();
    assert!(out.status.success());
    let info = json(&out);
    for field in [
        "cpu_percent",
        "memory_total",
        "memory_available",
        "memory_used",
        "memory_percent",
        "disk_total",
        "disk_used",
        "disk_free",
        "disk_percent",
        "boot_time",
        "uptime_seconds",
        "cpu_count",
    ] {
        assert!(info[field].is_number(), "{field}: {info}");
    }
    assert!(info["temperatures"].is_object());
    assert_eq!(info["load_average"].as_array().unwrap().len(), 3);
    assert!(info["memory_used"].as_u64() <= info["memory_total"].as_u64());
    let cpus = std::thread::available_parallelism().unwrap().get() as u64;
    assert!(info["cpu_count"].as_u64().unwrap() >= cpus);
    assert!(
        info["disks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["mount_point"] == "/")
    );
    pw.cmd()
        .arg("info")
        .assert()
        .success()
        .stdout(contains("Memory"))
        .stdout(contains("MOUNT"));
}

/// `(proto, address, port, pid)` rows from `ss -ltnupH`.
fn ss_rows() -> BTreeSet<(String, String, u16, Option<u32>)> {
    let out = Command::new("ss")
        .args(["-ltnupH"])
        .output()
        .expect("ss from iproute2");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (netid, local) = (cols.first()?, cols.get(4)?);
            let (addr, port) = local.rsplit_once(':')?;
            let addr = addr.trim_start_matches('[').trim_end_matches(']');
            let addr = addr.split('%').next()?;
            let v6 = addr.contains(':') || addr == "*";
            let proto = format!("{netid}{}", if v6 { "6" } else { "" });
            let addr = if addr == "*" {
                "::".to_owned()
            } else {
                addr.to_owned()
            };
            let pid = line
                .split("pid=")
                .nth(1)
                .and_then(|p| p.split(',').next()?.parse().ok());
            Some((proto, addr, port.parse().ok()?, pid))
        })
        .collect()
}

#[test]
fn ports_agree_with_ss_on_our_own_sockets() {
    let pw = Procward::new();
    let tcp4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp6 = TcpListener::bind("[::1]:0").unwrap();
    let udp4 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp6 = UdpSocket::bind("[::1]:0").unwrap();
    let ours: Vec<(String, String, u16)> = vec![
        (
            "tcp".into(),
            "127.0.0.1".into(),
            tcp4.local_addr().unwrap().port(),
        ),
        (
            "tcp6".into(),
            "::1".into(),
            tcp6.local_addr().unwrap().port(),
        ),
        (
            "udp".into(),
            "127.0.0.1".into(),
            udp4.local_addr().unwrap().port(),
        ),
        (
            "udp6".into(),
            "::1".into(),
            udp6.local_addr().unwrap().port(),
        ),
    ];
    let out = pw.cmd().args(["ports", "--json"]).output().unwrap();
    assert!(out.status.success());
    let listed: BTreeSet<(String, String, u16, Option<u32>)> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["protocol"].as_str().unwrap().to_owned(),
                p["local_address"].as_str().unwrap().to_owned(),
                p["port"].as_u64().unwrap() as u16,
                p["pid"].as_u64().map(|pid| pid as u32),
            )
        })
        .collect();
    let ss = ss_rows();
    let me = Some(std::process::id());
    for (proto, addr, port) in &ours {
        let row = (proto.clone(), addr.clone(), *port, me);
        assert!(listed.contains(&row), "procward misses {row:?}");
        assert!(ss.contains(&row), "ss misses {row:?}: {ss:?}");
    }
    // Every socket ss shows, procward shows too (same address, port and owner).
    for row in &ss {
        assert!(listed.contains(row), "procward misses ss row {row:?}");
    }
    let port = tcp4.local_addr().unwrap().port().to_string();
    let only = pw
        .cmd()
        .args(["ports", "--json", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(json(&only).as_array().unwrap().len(), 1);
    pw.cmd()
        .args(["ports"])
        .assert()
        .success()
        .stdout(contains(format!(" {port} ")));
    pw.cmd()
        .args(["ports", "--port", "99999"])
        .assert()
        .code(2)
        .stderr(contains("out of range"));
}

#[test]
fn completions_are_generated() {
    let pw = Procward::new();
    pw.cmd()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(contains("_procward"));
    pw.cmd().args(["completions", "tcsh"]).assert().code(2);
}
