//! `procward startup` / `unstartup` and what a boot daemon restores.
//!
//! No test calls the real systemctl: the unit is written with `--no-enable` into a test
//! folder, or systemctl and loginctl are stand-in scripts that record their arguments.
//! The reboot is simulated on a real daemon: it is shut down, the managed tree the test
//! started is killed, and the registry's runs are marked as another boot's (as the boot
//! id in every run record differs after a real reboot); a new daemon then starts on the
//! same home.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::daemon::Daemon;
use common::{Procward, is_running, wait_for};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn signal(pid: u32, group: bool) {
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    let kill = nix::sys::signal::Signal::SIGKILL;
    let _ = if group {
        nix::sys::signal::killpg(pid, kill)
    } else {
        nix::sys::signal::kill(pid, kill)
    };
}

#[test]
fn after_a_reboot_what_ran_runs_again_and_what_was_stopped_stays_stopped() {
    let d = Daemon::new();
    for name in ["runner", "idle"] {
        d.cmd()
            .args(["start", name, "--", "sleep", "1000"])
            .assert()
            .success();
        d.wait_state(name, "running", Duration::from_secs(10));
    }
    d.cmd().args(["stop", "idle"]).assert().success();
    d.wait_state("idle", "stopped", Duration::from_secs(10));
    let out = d.cmd().args(["list", "--json"]).output().unwrap();
    let list = common::json(&out);
    let runner = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["spec"]["name"] == "runner")
        .expect("runner listed");
    let old_pid = runner["pid"].as_u64().expect("pid") as u32;
    let shim = runner["shim_pid"].as_u64().expect("shim_pid") as u32;

    // The machine goes down: the daemon first (as systemd stops the unit), then whatever
    // is left (the managed tree this test started: its shim and its process group).
    d.cmd().args(["daemon", "stop"]).assert().success();
    signal(shim, false);
    signal(old_pid, true);
    assert!(
        wait_for(Duration::from_secs(5), || !is_running(old_pid)
            && !is_running(shim)),
        "the old tree did not end"
    );
    // A new boot: every recorded run is another boot's. The run folders live in
    // PROCWARD_HOME (not on a tmpfs such as /run), so a reboot keeps them.
    let registry = d.pw.dir().join("home/registry");
    for entry in std::fs::read_dir(&registry).unwrap() {
        let path = entry.unwrap().path();
        let mut record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if let Some(run) = record["run"].as_object_mut() {
            assert!(run.contains_key("boot_id"), "runs record their boot");
            run.insert("boot_id".into(), "another-boot".into());
        }
        std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    }

    // The boot daemon (what the unit runs) on the same home.
    d.cmd().args(["daemon", "--detach"]).assert().success();
    let status = d.wait_state("runner", "running", Duration::from_secs(10));
    let new_pid = status["pid"].as_u64().expect("pid") as u32;
    assert_ne!(new_pid, old_pid, "runner was started afresh");
    assert!(is_running(new_pid));
    assert_eq!(status["restarts"], 0, "a reboot is not a crash: {status}");
    let idle = d.status("idle");
    assert_eq!(idle["state"], "stopped", "{idle}");
    assert!(idle["pid"].is_null(), "{idle}");
    // Still so a moment later (no restart policy brings it back).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(d.status("idle")["state"], "stopped");
}

/// A unit folder for one test.
fn unit_dir(pw: &Procward) -> PathBuf {
    pw.dir().join("units")
}

#[test]
fn the_unit_is_written_with_this_binary_and_home_and_removed_again() {
    let pw = Procward::new();
    let dir = unit_dir(&pw);
    let dir_arg = dir.to_str().unwrap();
    let out = pw
        .cmd()
        .args(["startup", "--user", "--unit-dir", dir_arg, "--no-enable"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let file = dir.join("procward.service");
    assert!(stdout(&out).contains(&format!("wrote {}", file.display())));
    let text = std::fs::read_to_string(&file).unwrap();
    let exe = std::fs::canonicalize(assert_cmd::cargo::cargo_bin("procward")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for expected in [
        format!("ExecStart={} daemon", exe.display()),
        format!(
            "Environment=PROCWARD_HOME={}",
            pw.dir().join("home").display()
        ),
        "Type=simple".into(),
        "Restart=on-failure".into(),
        "KillMode=process".into(),
        "After=network.target".into(),
        "WantedBy=default.target".into(),
    ] {
        assert!(lines.contains(&expected.as_str()), "{expected}\n{text}");
    }
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644);

    // --print shows the same unit and writes nothing.
    let printed = pw
        .cmd()
        .args(["startup", "--user", "--print"])
        .output()
        .unwrap();
    assert!(printed.status.success());
    assert_eq!(stdout(&printed), text);

    let remove = ["unstartup", "--user", "--unit-dir", dir_arg, "--no-disable"];
    let out = pw.cmd().args(remove).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!file.exists());
    let out = pw.cmd().args(remove).output().unwrap();
    assert!(out.status.success(), "nothing to do is not an error");
    assert!(stdout(&out).contains("nothing to do"), "{}", stdout(&out));

    // A unit procward did not write is left alone.
    std::fs::write(&file, "[Service]\nExecStart=/bin/true\n").unwrap();
    let out = pw.cmd().args(remove).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(file.exists());
}

#[test]
fn systemd_analyze_accepts_the_units() {
    let Some(analyze) = find("systemd-analyze") else {
        println!("skipped: systemd-analyze not installed");
        return;
    };
    let pw = Procward::new();
    let dir = unit_dir(&pw);
    let dir_arg = dir.to_str().unwrap();
    for scope in ["--user", "--system"] {
        pw.cmd()
            .args(["startup", scope, "--unit-dir", dir_arg, "--no-enable"])
            .assert()
            .success();
        let out = std::process::Command::new(&analyze)
            .arg("verify")
            .arg(dir.join("procward.service"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "systemd-analyze verify ({scope}): {}{}",
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn without_systemd_nothing_is_written_and_print_is_suggested() {
    let pw = Procward::new();
    let dir = unit_dir(&pw);
    let empty = pw.dir().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = pw
        .cmd()
        .env("PATH", &empty)
        .args(["startup", "--user", "--unit-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("systemctl is not on PATH"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--print"), "{}", stderr(&out));
    assert!(!dir.exists(), "nothing written");

    // systemctl installed, systemd not running (a container).
    let bin = stand_ins(&pw, 0);
    let out = pw
        .cmd()
        .env("PATH", &bin)
        .env("PROCWARD_SYSTEMD_RUNTIME_DIR", pw.dir().join("no-such-dir"))
        .args(["startup", "--user", "--unit-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("systemd is not running"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.exists(), "nothing written");
    assert!(!pw.dir().join("calls").exists(), "systemctl was not called");
}

#[test]
fn startup_and_unstartup_call_systemctl_and_loginctl_and_report_their_failure() {
    let pw = Procward::new();
    let dir = unit_dir(&pw);
    let dir_arg = dir.to_str().unwrap();
    let runtime = pw.dir().join("run-systemd");
    std::fs::create_dir_all(&runtime).unwrap();
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    let bin = stand_ins(&pw, 0);
    let run = |args: &[&str]| {
        pw.cmd()
            .env("PATH", &bin)
            .env("PROCWARD_SYSTEMD_RUNTIME_DIR", &runtime)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["startup", "--user", "--unit-dir", dir_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("procward.service").is_file());
    assert_eq!(
        calls(&pw),
        [
            "systemctl --user daemon-reload".to_owned(),
            "systemctl --user enable --now procward.service".into(),
            format!("loginctl enable-linger {me}"),
        ]
    );
    std::fs::remove_file(pw.dir().join("calls")).unwrap();

    let out = run(&["unstartup", "--user", "--unit-dir", dir_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dir.join("procward.service").exists());
    assert_eq!(
        calls(&pw),
        [
            "systemctl --user disable --now procward.service",
            "systemctl --user daemon-reload"
        ]
    );

    // A failing systemctl: its stderr is shown and the exit is not 0.
    stand_ins(&pw, 1);
    let out = run(&["startup", "--system", "--unit-dir", dir_arg]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`systemctl --system daemon-reload` failed") && err.contains("no bus here"),
        "{err}"
    );
}

/// Writes stand-in `systemctl` and `loginctl` into the test's `bin` folder: each appends
/// its name and arguments to `calls`, prints to stderr and exits with `code`.
fn stand_ins(pw: &Procward, code: u8) -> PathBuf {
    let bin = pw.dir().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = pw.dir().join("calls");
    for name in ["systemctl", "loginctl"] {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >> '{}'\necho 'no bus here' >&2\nexit {code}\n",
                calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

fn calls(pw: &Procward) -> Vec<String> {
    std::fs::read_to_string(pw.dir().join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| Path::new(p).is_file())
}
