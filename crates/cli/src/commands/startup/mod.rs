//! `procward startup` and `procward unstartup`: start the daemon at boot through a
//! systemd unit, and take that away again.
//!
//! The unit runs the foreground daemon (`procward daemon`) on today's `PROCWARD_HOME`,
//! so the boot daemon finds the registry and restores it: what was running starts again,
//! what was stopped stays stopped (see the daemon's `engine/actor/adopt.rs`). Only
//! systemd is supported; elsewhere `--print` shows the unit to adapt by hand.

pub mod unit;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use procward_daemon::{Home, lock::DaemonLock};

use super::Context;
use crate::exit;
use unit::{Scope, UnitSpec};

const EXAMPLES: &str = "\
Examples:
  procward startup                     install and start the unit (--user unless root)
  procward startup --print             print the unit only; nothing is written or run
  sudo procward startup --system --run-as alice
                                       a system unit procward-alice.service running as alice
  procward startup --unit-dir ./units --no-enable
                                       write the unit there; systemctl is not called
  procward unstartup                   disable and remove it again

The unit runs `procward daemon` with this PROCWARD_HOME and PATH. At boot the
daemon starts again what was running; what you stopped stays stopped. A --user unit
also gets `loginctl enable-linger`, so it starts at boot without a login.
KillMode=process: `systemctl stop` ends the daemon only, never managed processes.
A daemon already running for this home outside systemd is stopped first (managed
processes keep running) so that the unit's daemon takes them over.";

const REMOVE_EXAMPLES: &str = "\
Examples:
  procward unstartup                   systemctl disable --now, remove the unit, daemon-reload
  sudo procward unstartup --system --run-as alice
  procward unstartup --unit-dir ./units --no-disable
                                       remove the file only; systemctl is not called

Managed processes keep running (the next procward command starts a daemon that
re-adopts them). Linger, turned on by `startup --user`, is left on.";

/// Arguments of `procward startup`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Print the unit and exit: nothing is written, systemctl is not called.
    #[arg(long)]
    print: bool,
    /// Write the unit but do not call systemctl or loginctl (for an image, or to review).
    #[arg(long)]
    no_enable: bool,
}

/// Arguments of `procward unstartup`.
#[derive(Debug, clap::Args)]
#[command(after_help = REMOVE_EXAMPLES)]
pub struct RemoveArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Remove the unit file but do not call systemctl (the daemon keeps running).
    #[arg(long)]
    no_disable: bool,
}

/// Which unit: shared by both commands, so `unstartup` finds what `startup` wrote.
#[derive(Debug, clap::Args)]
struct TargetArgs {
    /// A user unit (`systemctl --user`, with linger): the default unless run as root.
    #[arg(long, conflicts_with = "system")]
    user: bool,
    /// A system unit in /etc/systemd/system: the default for root.
    #[arg(long)]
    system: bool,
    /// System unit only: run the daemon as USER (unit procward-USER.service, USER's home).
    #[arg(long, value_name = "USER", conflicts_with = "user")]
    run_as: Option<String>,
    /// Where to write (or look for) the unit, instead of systemd's directory.
    #[arg(long, value_name = "DIR")]
    unit_dir: Option<PathBuf>,
}

/// The unit one command line names, and whose daemon it is.
struct Target {
    scope: Scope,
    /// `User=` (system units run as someone other than root).
    run_as: Option<String>,
    name: String,
    file: PathBuf,
    home: PathBuf,
}

impl TargetArgs {
    fn resolve(&self) -> anyhow::Result<Target> {
        let root = nix::unistd::geteuid().is_root();
        let scope = if self.user {
            Scope::User
        } else if self.system || self.run_as.is_some() || root {
            Scope::System
        } else {
            Scope::User
        };
        let me = current_user()?;
        let run_as = match (scope, &self.run_as) {
            (Scope::User, _) => None,
            (Scope::System, Some(user)) => Some(user.clone()),
            (Scope::System, None) if root => None,
            (Scope::System, None) => Some(me.name.clone()),
        }
        .filter(|user| user.as_str() != "root");
        let mut home = Home::from_env()?.root().to_path_buf();
        if let Some(user) = &run_as {
            unit::check_user(user)?;
            let account = nix::unistd::User::from_name(user)
                .ok()
                .flatten()
                .ok_or_else(|| invalid(format!("--run-as {user}: no such user")))?;
            if *user != me.name && std::env::var_os("PROCWARD_HOME").is_none_or(|h| h.is_empty()) {
                // Their default home, not ours: the daemon runs as them.
                home = account.dir.join(".local/state/procward");
            }
        }
        let name = unit::unit_name(run_as.as_deref());
        let dir = match &self.unit_dir {
            Some(dir) => std::path::absolute(dir)?,
            None => scope.default_dir()?,
        };
        Ok(Target {
            scope,
            run_as,
            file: dir.join(&name),
            name,
            home,
        })
    }
}

/// Runs `procward startup`.
pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<u8> {
    let target = args.target.resolve()?;
    let exe = std::env::current_exe().context("cannot find procward's own path")?;
    let spec = UnitSpec {
        scope: target.scope,
        exe: utf8("procward's path", &exe)?,
        home: utf8("PROCWARD_HOME", &target.home)?,
        path: std::env::var("PATH").ok().filter(|p| !p.is_empty()),
        run_as: target.run_as.clone(),
    };
    let text = unit::render(&spec)?;
    if args.print {
        print!("{text}");
        return Ok(exit::OK);
    }
    let systemctl = if args.no_enable {
        None
    } else {
        match systemd() {
            Ok(path) => Some(path),
            Err(why) => return Ok(no_systemd(&why, "--unit-dir DIR --no-enable")),
        }
    };
    let previous = std::fs::read_to_string(&target.file).ok();
    if let Err(e) = write_unit(&target.file, &text) {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            eprintln!(
                "procward: cannot write {}: {e}\n  a --system unit needs root (sudo); --user installs one for you",
                target.file.display()
            );
            return Ok(exit::PERMISSION);
        }
        return Err(
            anyhow::Error::new(e).context(format!("cannot write {}", target.file.display()))
        );
    }
    let changed = previous.as_deref() != Some(text.as_str());
    println!(
        "{} {}",
        if changed { "wrote" } else { "unchanged:" },
        target.file.display()
    );
    let Some(systemctl) = systemctl else {
        println!(
            "not enabled (--no-enable): systemctl {} daemon-reload && systemctl {} enable --now {}",
            target.scope.flag(),
            target.scope.flag(),
            target.name
        );
        return Ok(exit::OK);
    };
    let scope = target.scope.flag();
    run_tool(&systemctl, &[scope, "daemon-reload"])?;
    hand_over(&target)?;
    run_tool(&systemctl, &[scope, "enable", "--now", &target.name])?;
    if target.scope == Scope::User {
        let me = current_user()?.name;
        let loginctl = find_on_path("loginctl").ok_or_else(|| {
            anyhow::anyhow!(
                "loginctl not found: {} is enabled, but starts only at your login; \
                 run `loginctl enable-linger {me}` to start it at boot",
                target.name
            )
        })?;
        run_tool(&loginctl, &["enable-linger", &me])?;
    }
    if changed && previous.is_some() {
        println!(
            "the unit changed: `systemctl {scope} restart {}` applies it (managed processes keep running)",
            target.name
        );
    }
    println!(
        "procward starts at boot: {} unit {}, home {}; undo with `procward unstartup {scope}`",
        &scope[2..],
        target.name,
        target.home.display()
    );
    Ok(exit::OK)
}

/// Runs `procward unstartup`.
pub fn run_remove(args: RemoveArgs, _ctx: &Context) -> anyhow::Result<u8> {
    let target = args.target.resolve()?;
    let text = match std::fs::read_to_string(&target.file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!(
                "no startup unit at {}: nothing to do",
                target.file.display()
            );
            return Ok(exit::OK);
        }
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("cannot read {}", target.file.display()))
            );
        }
    };
    if !text.starts_with(unit::MARKER) {
        eprintln!(
            "procward: {} was not written by `procward startup`; left alone",
            target.file.display()
        );
        return Ok(exit::REFUSED);
    }
    let systemctl = if args.no_disable {
        None
    } else {
        match systemd() {
            Ok(path) => Some(path),
            Err(why) => return Ok(no_systemd(&why, "--unit-dir DIR --no-disable")),
        }
    };
    let scope = target.scope.flag();
    if let Some(systemctl) = &systemctl {
        // KillMode=process: this stops the daemon only; managed processes keep running.
        run_tool(systemctl, &[scope, "disable", "--now", &target.name])?;
    }
    std::fs::remove_file(&target.file)
        .with_context(|| format!("cannot remove {}", target.file.display()))?;
    println!("removed {}", target.file.display());
    if let Some(systemctl) = &systemctl {
        run_tool(systemctl, &[scope, "daemon-reload"])?;
        println!(
            "procward no longer starts at boot; managed processes keep running (the next \
             procward command starts a daemon that re-adopts them)"
        );
        if target.scope == Scope::User {
            println!("linger is left on: `loginctl disable-linger` turns it off");
        }
    }
    Ok(exit::OK)
}

/// The path of `systemctl`, or why systemd cannot be used here. The directory checked
/// is `/run/systemd/system` (what `sd_booted()` checks); the hidden
/// `PROCWARD_SYSTEMD_RUNTIME_DIR` replaces it in tests, which bring their own systemctl.
fn systemd() -> Result<PathBuf, String> {
    let systemctl = find_on_path("systemctl").ok_or("systemctl is not on PATH")?;
    let runtime = std::env::var_os("PROCWARD_SYSTEMD_RUNTIME_DIR")
        .map_or_else(|| PathBuf::from("/run/systemd/system"), PathBuf::from);
    if !runtime.is_dir() {
        return Err(format!(
            "systemd is not running here ({} is missing)",
            runtime.display()
        ));
    }
    Ok(systemctl)
}

/// Reports that systemd is missing; exit 2: nothing was written or run.
fn no_systemd(why: &str, offline: &str) -> u8 {
    eprintln!(
        "procward: cannot use a systemd unit: {why}; nothing was written.\n  \
         `procward startup --print` prints the unit to install by hand, and\n  \
         `{offline}` works on the file without systemctl."
    );
    exit::REFUSED
}

/// A daemon already running for this home outside the unit would hold the home's lock,
/// and the unit's daemon would fail (and be restarted in a loop): stop it first, as
/// `procward daemon stop` does (managed processes keep running; the unit's daemon
/// re-adopts them). The unit's own daemon (an earlier `startup`) is left running.
fn hand_over(target: &Target) -> anyhow::Result<()> {
    let home = Home::at(target.home.clone());
    let Some(pid) = DaemonLock::holder(&home.lock_file()) else {
        return Ok(());
    };
    let in_unit = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|cgroups| {
        cgroups
            .lines()
            .any(|line| line.ends_with(&format!("/{}", target.name)))
    });
    if in_unit {
        return Ok(());
    }
    println!(
        "a daemon runs for this home outside systemd (pid {pid}): stopping it so the unit's takes over"
    );
    super::block_on(super::daemon::stop(&home))?;
    Ok(())
}

/// Writes the unit atomically (a temporary file renamed over it), mode 0644 as systemd
/// expects, making its folder when needed.
fn write_unit(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".{}.tmp", std::process::id()));
    let result = (|| {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&temp)?;
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
        std::fs::rename(&temp, file)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Runs one external command; its failure is an error carrying its exit status and
/// stderr.
fn run_tool(program: &Path, args: &[&str]) -> anyhow::Result<()> {
    let shown = format!(
        "{} {}",
        program.file_name().unwrap_or_default().to_string_lossy(),
        args.join(" ")
    );
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        anyhow::bail!("`{shown}` failed ({}): {}", out.status, stderr.trim());
    }
    println!("{shown}: ok");
    Ok(())
}

/// The first executable file called `program` on `PATH`.
fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate.is_file()
                && rustix::fs::access(candidate, rustix::fs::Access::EXEC_OK).is_ok()
        })
}

fn current_user() -> anyhow::Result<nix::unistd::User> {
    let uid = nix::unistd::geteuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .ok_or_else(|| anyhow::anyhow!("uid {uid} has no user name"))
}

fn utf8(what: &str, path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| invalid(format!("{what} {} is not UTF-8", path.display())))
}

fn invalid(message: String) -> anyhow::Error {
    procward_core::Error::InvalidArgument(message).into()
}
