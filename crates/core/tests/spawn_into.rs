//! `sys::spawn_into`: the shim's spawn with `clone3`, driven with real processes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use procward_core::sys::spawn_into::{self, SpawnError, SpawnRequest, Spawned};
use rustix::process::{Pid, WaitOptions, waitpid};

fn env() -> BTreeMap<String, String> {
    BTreeMap::from([("PATH".to_string(), "/usr/bin:/bin".to_string())])
}

fn run(program: &str, args: &[&str], cwd: Option<&Path>) -> Result<Spawned, SpawnError> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env = env();
    spawn_into::spawn(&SpawnRequest {
        program,
        args: &args,
        env: &env,
        inherit_env: false,
        cwd,
        cgroup: None,
    })
}

/// Reads the child's stdout to EOF and reaps it: (output, exit code).
fn finish(spawned: Spawned) -> (String, i32) {
    let mut out = String::new();
    File::from(spawned.stdout).read_to_string(&mut out).unwrap();
    let pid = Pid::from_raw(spawned.pid as i32).unwrap();
    let (_, status) = waitpid(Some(pid), WaitOptions::empty()).unwrap().unwrap();
    (out, status.exit_status().unwrap_or(-1))
}

fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .trim()
}

#[test]
fn the_child_gets_its_own_group_an_empty_signal_mask_and_the_given_environment() {
    // The test thread blocks SIGINT first: the child must not inherit that.
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let set = SigSet::from_iter([Signal::SIGINT, Signal::SIGHUP]);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None).unwrap();
    let spawned = run(
        "sh",
        &["-c", "cat /proc/self/status; echo pgid=$(cut -d' ' -f5 /proc/$$/stat); echo env=$PATH; ls -l /proc/self/fd/0; pwd"],
        Some(Path::new("/tmp")),
    )
    .unwrap();
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None).unwrap();
    let pid = spawned.pid;
    let (out, code) = finish(spawned);
    assert_eq!(code, 0, "{out}");
    assert_eq!(status_field(&out, "SigBlk:"), "0000000000000000", "{out}");
    let ignored = u64::from_str_radix(status_field(&out, "SigIgn:"), 16).unwrap();
    for signal in [1, 2, 13, 15] {
        assert_eq!(
            ignored & (1 << (signal - 1)),
            0,
            "signal {signal} ignored: {out}"
        );
    }
    assert!(out.contains(&format!("pgid={pid}\n")), "{out}");
    assert!(out.contains("env=/usr/bin:/bin"), "{out}");
    assert!(out.contains("-> /dev/null"), "{out}");
    assert!(out.lines().any(|line| line == "/tmp"), "{out}");
}

#[test]
fn exec_failures_come_back_as_errors() {
    let not_found = run("no-such-program-procward", &[], None).err().unwrap();
    assert!(matches!(&not_found, SpawnError::Failed(e) if e.kind() == ErrorKind::NotFound));
    let missing_path = run("/nonexistent/x", &[], None).err().unwrap();
    assert!(matches!(&missing_path, SpawnError::Failed(e) if e.kind() == ErrorKind::NotFound));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let denied = run(script.to_str().unwrap(), &[], None).err().unwrap();
    assert!(
        matches!(&denied, SpawnError::Failed(e) if e.kind() == ErrorKind::PermissionDenied),
        "{denied:?}"
    );
    let bad_cwd = run("true", &[], Some(Path::new("/nonexistent-dir")))
        .err()
        .unwrap();
    assert!(matches!(&bad_cwd, SpawnError::Failed(e) if e.kind() == ErrorKind::NotFound));
}

/// A writable cgroup v2 directory of our own, or `None` (with the reason printed).
fn own_cgroup_v2() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        right
            .starts_with("cgroup2 ")
            .then(|| left.split(' ').nth(4).map(PathBuf::from))?
    })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own.lines().find_map(|line| line.strip_prefix("0::"))?;
    let dir = mount
        .join(own.trim_start_matches('/'))
        .join(format!("procward-spawn-test-{}", std::process::id()));
    match std::fs::create_dir(&dir) {
        Ok(()) => Some(dir),
        Err(e) => {
            eprintln!("skipped: cannot make {}: {e}", dir.display());
            None
        }
    }
}

#[test]
fn a_child_is_created_inside_the_cgroup_it_is_given() {
    let Some(dir) = own_cgroup_v2() else { return };
    let cgroup = spawn_into::open_cgroup(&dir).unwrap();
    let args = vec!["-c".to_string(), "cat /proc/self/cgroup".to_string()];
    let env = env();
    let spawned = spawn_into::spawn(&SpawnRequest {
        program: "sh",
        args: &args,
        env: &env,
        inherit_env: false,
        cwd: None,
        cgroup: Some(cgroup.as_fd()),
    });
    let result = spawned.map(finish);
    let _ = std::fs::remove_dir(&dir);
    match result {
        Ok((out, code)) => {
            assert_eq!(code, 0);
            let name = dir.file_name().unwrap().to_str().unwrap();
            let line = out.lines().find(|l| l.starts_with("0::")).unwrap();
            assert!(line.ends_with(&format!("/{name}")), "{out}");
        }
        // A kernel before 5.7, or a sandbox refusing clone3: the shim falls back.
        Err(SpawnError::Unsupported(e)) => eprintln!("skipped: clone3 refused: {e}"),
        Err(SpawnError::Failed(e)) => panic!("spawn failed: {e}"),
    }
}
