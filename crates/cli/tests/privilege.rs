//! Privilege tests for `procward kill`: another user's process, and `--elevated`.
//!
//! These run as root (as CI does) and drive the real binary as an unprivileged system
//! user, `procward-test`, created on first use and entered with `setpriv`. The target is
//! always a `sleep 1000` this test spawned as root, so nothing else is ever signalled.
//!
//! - Without `--elevated`, the unprivileged user gets exit 3 and a hint to `--elevated`.
//! - `sudo -n` really runs with a temporary NOPASSWD sudoers rule, and without one.
//! - pkexec's 126 and 127 exits come from a fake `pkexec` at the front of `PATH` (no
//!   polkit authentication agent can run here); real pkexec is tried when installed.
//!
//! Every failure must leave the target running, and every guard kills and reaps on drop.
//! When not root the tests print "skipped: ..." and pass.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

use assert_cmd::Command;
use nix::sys::signal::kill;
use nix::unistd::{Pid, Uid, User};
use predicates::prelude::*;
use predicates::str::contains;

/// The unprivileged user the CLI runs as.
const USER: &str = "procward-test";

/// Serialises the sudo tests: one installs a sudoers rule the other must not see.
static SUDO_LOCK: Mutex<()> = Mutex::new(());

/// What every test needs: `setpriv` and the canonical path of the binary under test.
struct Env {
    setpriv: PathBuf,
    procward: PathBuf,
}

/// Checks for root, creates the user once, and finds the tools; `None` means skip.
fn setup() -> Option<Env> {
    if !Uid::effective().is_root() {
        let test = std::thread::current().name().unwrap_or("test").to_owned();
        println!("skipped: {test}: not running as root (cannot create a user or switch to it)");
        return None;
    }
    ensure_user();
    let setpriv = which("setpriv").expect("setpriv (util-linux) is needed to run as another user");
    let procward = fs::canonicalize(assert_cmd::cargo::cargo_bin("procward"))
        .expect("the procward binary under test exists");
    Some(Env { setpriv, procward })
}

/// Creates `procward-test` once per test binary, tolerating "already exists" (exit 9) and
/// a concurrent `useradd` from another test binary holding the passwd lock.
fn ensure_user() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for _ in 0..20 {
            if User::from_name(USER).expect("read passwd").is_some() {
                return;
            }
            let status = StdCommand::new(which("useradd").expect("useradd is installed"))
                .args([
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                ])
                .arg(USER)
                .status()
                .expect("run useradd");
            if !(status.success() || status.code() == Some(9)) {
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        let user = User::from_name(USER).expect("read passwd");
        assert!(user.is_some(), "cannot create {USER}");
    });
}

/// A program on `PATH`, or in the usual system folders (`PATH` may lack the sbin ones).
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `procward` run as `procward-test`, with `PATH` replaced when given.
///
/// `HOME` points nowhere: setpriv keeps root's `HOME`, and an unreadable default config
/// (`/root` is 0700) is a hard error in procward.
fn as_user(env: &Env, path: Option<&str>) -> Command {
    let mut cmd = Command::new(&env.setpriv);
    cmd.arg(format!("--reuid={USER}"))
        .arg(format!("--regid={USER}"))
        .args(["--clear-groups", "--"])
        .arg(&env.procward)
        .env("HOME", "/nonexistent")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("PROCWARD_CONFIG")
        .env_remove("PROCWARD_HELPER")
        .timeout(Duration::from_secs(60));
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    cmd
}

/// `procward kill PID --elevated --elevate-with METHOD` as `procward-test`.
fn elevated_kill(env: &Env, target: &Target, method: &str, path: Option<&str>) -> Command {
    let mut cmd = as_user(env, path);
    let pid = target.pid().to_string();
    cmd.args(["kill", &pid, "--elevated", "--elevate-with", method]);
    cmd
}

/// A `sleep 1000` owned by root; killed and reaped on drop.
struct Target(Child);

impl Target {
    fn spawn() -> Self {
        let child = StdCommand::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        Self(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Fails unless the target is still running (neither dead nor a zombie).
    fn assert_alive(&mut self) {
        let pid = Pid::from_raw(i32::try_from(self.pid()).expect("pid fits in i32"));
        assert!(kill(pid, None).is_ok(), "target {pid} is gone");
        let status = self.0.try_wait().expect("try_wait on target");
        assert!(status.is_none(), "target {pid} exited: {status:?}");
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `/etc/sudoers.d/procward-test-<pid>`: lets `procward-test` run the binary as root.
/// Removed on drop.
struct SudoRule(PathBuf);

impl SudoRule {
    fn install(procward: &Path) -> Self {
        let text = procward.to_str().expect("UTF-8 binary path");
        assert!(!text.contains(' '), "sudoers path has spaces: {text}");
        let rule = Self(format!("/etc/sudoers.d/{USER}-{}", std::process::id()).into());
        // sudo ignores names with a dot, so the rule is checked before it takes effect.
        let staging = rule.staging();
        fs::write(&staging, format!("{USER} ALL=(root) NOPASSWD: {text}\n")).expect("write rule");
        fs::set_permissions(&staging, fs::Permissions::from_mode(0o440)).expect("chmod rule");
        if let Some(visudo) = which("visudo") {
            let mut check = StdCommand::new(visudo);
            let status = check
                .arg("-cf")
                .arg(&staging)
                .stdout(Stdio::null())
                .status();
            assert!(
                status.expect("run visudo").success(),
                "visudo rejects the rule"
            );
        }
        fs::rename(&staging, &rule.0).expect("install rule");
        rule
    }

    fn staging(&self) -> PathBuf {
        self.0.with_extension("tmp")
    }
}

impl Drop for SudoRule {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.staging());
        let _ = fs::remove_file(&self.0);
    }
}

/// [`setup`] plus [`SUDO_LOCK`] (held even after another test panicked with it).
fn sudo() -> Option<(Env, MutexGuard<'static, ()>)> {
    let env = setup()?;
    if which("sudo").is_none() {
        println!("skipped: sudo is not installed");
        return None;
    }
    Some((env, SUDO_LOCK.lock().unwrap_or_else(|e| e.into_inner())))
}

/// A folder (readable by `procward-test`) holding a fake `pkexec` that records its
/// arguments in `pkexec.args` and exits with `code`.
fn fake_pkexec(code: i32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mode = |path: &Path, mode| {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    };
    mode(dir.path(), 0o755);
    let script = dir.path().join("pkexec");
    let body = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.args\"\necho 'fake pkexec: exit {code}' >&2\n\
         exit {code}\n"
    );
    fs::write(&script, body).expect("write fake pkexec");
    mode(&script, 0o755);
    let args = dir.path().join("pkexec.args");
    fs::write(&args, "").expect("create args file");
    mode(&args, 0o666);
    dir
}

/// `PATH` with `dir` first.
fn path_with(dir: &Path) -> String {
    let rest = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    format!("{}:{rest}", dir.display())
}

#[test]
fn another_users_process_is_permission_denied_without_elevation() {
    let Some(env) = setup() else { return };
    let mut target = Target::spawn();
    as_user(&env, None)
        .args(["kill", &target.pid().to_string()])
        .assert()
        .code(3)
        .stderr(contains("permission denied").and(contains("--elevated")));
    target.assert_alive();
}

#[test]
fn sudo_with_a_nopasswd_rule_kills_for_real() {
    let Some((env, _lock)) = sudo() else { return };
    let _rule = SudoRule::install(&env.procward);
    let mut target = Target::spawn();
    let pid = target.pid();
    let line = format!(r"^pid {pid} \(sleep\): ended by SIGTERM after \d+ ms\n$");
    elevated_kill(&env, &target, "sudo", None)
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(line).expect("valid regex"));
    let status = target.0.wait().expect("reap target");
    assert_eq!(status.signal(), Some(15), "target ended by {status:?}");
}

#[test]
fn sudo_without_a_rule_needs_nopasswd_and_signals_nothing() {
    let Some((env, _lock)) = sudo() else { return };
    let mut target = Target::spawn();
    elevated_kill(&env, &target, "sudo", None)
        .assert()
        .code(4)
        .stderr(contains("NOPASSWD").and(contains("nothing was signalled")));
    target.assert_alive();
}

#[test]
fn pkexec_126_means_dismissed() {
    let Some(env) = setup() else { return };
    let fake = fake_pkexec(126);
    let mut target = Target::spawn();
    elevated_kill(&env, &target, "pkexec", Some(&path_with(fake.path())))
        .assert()
        .code(4)
        .stderr(contains("dismissed").and(contains("exit 126")));
    target.assert_alive();

    // pkexec was asked to run this very binary's `kill`, pinned to the target's start time
    // in seconds and, exactly, in clock ticks since boot.
    let args = fs::read_to_string(fake.path().join("pkexec.args")).expect("args file");
    let mut args: Vec<&str> = args.lines().collect();
    let start_time: Option<u64> = args.get(6).and_then(|t| t.parse().ok());
    assert!(start_time.is_some(), "{args:?}");
    let start_ticks: Option<u64> = args.get(8).and_then(|t| t.parse().ok());
    assert_eq!(
        start_ticks,
        procward_core::sys::process::start_ticks_of(target.pid()),
        "{args:?}"
    );
    args[6] = "T";
    args[8] = "K";
    let (helper, pid) = (env.procward.display(), target.pid());
    let expected = format!(
        "{helper} kill --json --signal SIGTERM --start-time T --start-ticks K --timeout 5 -- {pid}"
    );
    assert_eq!(args.join(" "), expected);
}

#[test]
fn pkexec_127_is_reported_with_its_exit_code() {
    let Some(env) = setup() else { return };
    let fake = fake_pkexec(127);
    let mut target = Target::spawn();
    elevated_kill(&env, &target, "pkexec", Some(&path_with(fake.path())))
        .assert()
        .code(4)
        .stderr(contains("exit 127").and(contains("nothing was signalled")));
    target.assert_alive();
}

#[test]
fn pkexec_missing_from_path_is_reported() {
    let Some(env) = setup() else { return };
    let empty = tempfile::tempdir().expect("temp dir");
    let path = empty.path().to_str().expect("UTF-8 temp path").to_owned();
    let mut target = Target::spawn();
    elevated_kill(&env, &target, "pkexec", Some(&path))
        .assert()
        .code(4)
        .stderr(contains("pkexec not found"));
    target.assert_alive();
}

#[test]
fn real_pkexec_without_an_agent_fails_and_signals_nothing() {
    let Some(env) = setup() else { return };
    if !Path::new("/usr/bin/pkexec").is_file() {
        println!("skipped: /usr/bin/pkexec is not installed");
        return;
    }
    let mut target = Target::spawn();
    elevated_kill(&env, &target, "pkexec", Some("/usr/bin:/bin"))
        .assert()
        .code(4)
        .stderr(contains("elevation failed").and(contains("pkexec")));
    target.assert_alive();
}
