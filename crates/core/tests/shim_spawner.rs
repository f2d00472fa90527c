//! The shim spawner end to end, with real processes: shims forked by it report and record
//! exits as executed ones do, are its children (reaped by it, never left as zombies),
//! carry an exact identity, outlive it, and a dead or wrong spawner is an error the
//! daemon can fall back from. A job's shim hands its exit back on its report channel and
//! writes the status file only when nobody answers.
//!
//! The spawner runs as `target/<profile>/examples/shim --spawner`
//! (crates/core/examples/shim.rs), which `cargo test` builds along with the tests.

mod common;

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{shim_exe, spec};
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use procward_core::supervisor::shim::{
    ChannelEvent, HandedOver, LaunchError, Launched, Spawner, await_report,
    await_report_with_channel, read_status, receive, spawn_forked,
};
use procward_core::sys::process::identify;
use tempfile::TempDir;

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        sleep(Duration::from_millis(10));
    }
    done()
}

/// The spawner, ended (its socket closed) and reaped however the test ends.
struct Started(Option<Spawner>);

impl Started {
    fn new(exe: &Path) -> Self {
        Self(Some(Spawner::start(exe).unwrap()))
    }

    fn get(&self) -> &Spawner {
        self.0.as_ref().unwrap()
    }

    fn launch(&self, dir: &Path, argv: &[&str]) -> Result<Launched, LaunchError> {
        let file = dir.join("launch.json");
        await_report(spawn_forked(self.get(), &spec(dir, argv), &file)?)
    }

    /// Closes the socket and reaps the spawner; its exit code.
    fn end(&mut self) -> Option<i32> {
        let spawner = self.0.take()?;
        let pid = Pid::from_raw(spawner.pid() as i32);
        drop(spawner);
        match waitpid(pid, None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => Some(code),
            _ => None,
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.end();
    }
}

#[test]
fn forked_shims_report_record_exits_and_are_reaped_by_the_spawner() {
    let mut spawner = Started::new(&shim_exe());
    let spawner_pid = spawner.get().pid();
    let tmp = TempDir::new().unwrap();
    for round in 0..3 {
        let dir = tmp.path().join(format!("run{round}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut launched = spawner
            .launch(
                &dir,
                &["sh", "-c", "echo out $0; echo err >&2; exit 3", "x"],
            )
            .unwrap();
        let shim = launched.shim.id();
        assert!(!launched.shim.is_child(), "forked by the spawner");
        // The identities the spawner and the shim read are the kernel's.
        let (time, ticks) = launched.shim.identity().expect("the spawner's reading");
        if let Ok(now) = identify(shim) {
            assert_eq!(
                (now.start_time, now.start_ticks, now.ppid),
                (time, ticks, spawner_pid)
            );
        }
        assert!(launched.child_start_ticks.is_some());
        assert!(
            !dir.join("launch.json").exists(),
            "the spec went in the request"
        );
        assert_eq!(launched.shim.wait().unwrap(), None, "not ours to reap");
        let status = dir.join("status.json");
        assert!(wait_until(Duration::from_secs(10), || status.exists()));
        let record = read_status(&status).unwrap().unwrap();
        assert_eq!((record.exit_code, record.signal), (Some(3), None));
        assert_eq!(
            std::fs::read_to_string(dir.join("logs/out.log")).unwrap(),
            "out x\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("logs/err.log")).unwrap(),
            "err\n"
        );
        // Reaped by the spawner: gone from /proc, not left a zombie.
        assert!(
            wait_until(Duration::from_secs(10), || identify(shim).is_err()),
            "shim {shim} was not reaped"
        );
    }
    assert_eq!(spawner.end(), Some(0), "exits when the daemon's end closes");
}

#[test]
fn a_launch_spec_too_large_for_a_request_goes_through_a_launch_file() {
    let spawner = Started::new(&shim_exe());
    let dir = TempDir::new().unwrap();
    let mut spec = spec(dir.path(), &["sh", "-c", "printf %s \"$BIG\" | wc -c"]);
    let big = "x".repeat(spawner_inline_max());
    spec.env.insert("BIG".into(), big);
    let file = dir.path().join("launch.json");
    let mut launched = await_report(spawn_forked(spawner.get(), &spec, &file).unwrap()).unwrap();
    assert!(
        file.exists(),
        "too large for a request: written to the file"
    );
    assert_eq!(launched.shim.wait().unwrap(), None, "not ours to reap");
    let status = dir.path().join("status.json");
    assert!(wait_until(Duration::from_secs(10), || status.exists()));
    assert_eq!(read_status(&status).unwrap().unwrap().exit_code, Some(0));
    let out = std::fs::read_to_string(dir.path().join("logs/out.log")).unwrap();
    assert_eq!(
        out.trim(),
        spawner_inline_max().to_string(),
        "the whole variable"
    );
}

fn spawner_inline_max() -> usize {
    procward_core::supervisor::shim::spawner::INLINE_MAX
}

#[test]
fn a_spawn_error_comes_through_the_forked_shim() {
    let spawner = Started::new(&shim_exe());
    let tmp = TempDir::new().unwrap();
    let error = spawner
        .launch(tmp.path(), &["no-such-command-procward-test"])
        .unwrap_err();
    assert!(
        matches!(&error, LaunchError::Spawn(m) if m.contains("command not found")),
        "{error}"
    );
    // The spawner goes on serving.
    let dir = tmp.path().join("next");
    std::fs::create_dir_all(&dir).unwrap();
    spawner.launch(&dir, &["true"]).unwrap();
}

#[test]
fn shims_outlive_the_spawner_and_a_dead_spawner_is_an_error() {
    let mut spawner = Started::new(&shim_exe());
    let tmp = TempDir::new().unwrap();
    let launched = spawner.launch(tmp.path(), &["sleep", "30"]).unwrap();
    let (shim, child) = (launched.shim.id(), launched.child_pid);
    let spawner_pid = spawner.get().pid();
    kill(Pid::from_raw(spawner_pid as i32), Signal::SIGKILL).unwrap();
    let error = spawner
        .launch(tmp.path(), &["true"])
        .expect_err("the spawner is dead");
    assert!(matches!(error, LaunchError::Shim(_)), "{error}");
    spawner.end();
    sleep(Duration::from_millis(100));
    assert!(
        identify(shim).is_ok() && identify(child).is_ok(),
        "the shim lives on"
    );
    killpg(Pid::from_raw(child as i32), Signal::SIGKILL).unwrap();
    let status = tmp.path().join("status.json");
    assert!(wait_until(Duration::from_secs(10), || status.exists()));
    let record = read_status(&status).unwrap().unwrap();
    assert_eq!(record.signal, Some(9));
}

#[test]
fn a_program_that_is_no_spawner_is_an_error() {
    let spawner = Started::new(Path::new("/bin/true"));
    let tmp = TempDir::new().unwrap();
    let error = spawner.launch(tmp.path(), &["true"]).unwrap_err();
    assert!(matches!(error, LaunchError::Shim(_)), "{error}");
}

/// A signal the daemon (so the spawner) ignores, as under `nohup`, is at its default in
/// the process: the spawner reads the ignored set once for all the shims it forks.
#[test]
#[allow(unsafe_code)]
fn an_ignored_signal_reaches_the_process_at_its_default() {
    use nix::sys::signal::{SigHandler, signal};
    // SAFETY: SIG_IGN and SIG_DFL are no handlers; only inherited by the spawner started
    // in between (other tests' children may inherit it too, which they do not check).
    let old = unsafe { signal(Signal::SIGHUP, SigHandler::SigIgn) }.unwrap();
    let spawner = Spawner::start(&shim_exe());
    unsafe { signal(Signal::SIGHUP, old) }.unwrap();
    let spawner = Started(Some(spawner.unwrap()));
    let tmp = TempDir::new().unwrap();
    let script = "grep SigIgn /proc/self/status; grep SigIgn /proc/$PPID/status";
    spawner.launch(tmp.path(), &["sh", "-c", script]).unwrap();
    let status = tmp.path().join("status.json");
    assert!(wait_until(Duration::from_secs(10), || status.exists()));
    let out = std::fs::read_to_string(tmp.path().join("logs/out.log")).unwrap();
    let masks: Vec<u64> = out
        .lines()
        .filter_map(|l| l.split_once("SigIgn:\t"))
        .filter_map(|(_, mask)| u64::from_str_radix(mask.trim(), 16).ok())
        .collect();
    assert_eq!(masks.len(), 2, "{out}");
    assert_eq!(masks[1] & 1, 1, "the shim inherited SIGHUP ignored: {out}");
    assert_eq!(
        masks[0] & 1,
        0,
        "the process has SIGHUP at its default: {out}"
    );
}

/// Launches `sh -c "echo out; exit 3"` under a shim that hands its exit over, and waits
/// until the exit comes on its channel; the handed-over record, unanswered yet.
fn handed_over(spawner: &Started, dir: &Path) -> (u32, HandedOver) {
    let mut spec = spec(dir, &["sh", "-c", "echo out; exit 3"]);
    spec.hand_over_exit = true;
    spec.no_log_state = true;
    let shim = spawn_forked(spawner.get(), &spec, &dir.join("launch.json")).unwrap();
    let (launched, channel) = await_report_with_channel(shim).unwrap();
    let mut channel = Some(channel.expect("the spawner's report channel is a socket"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match receive(channel.take().unwrap()) {
            (ChannelEvent::Exit(handed_over), _) => return (launched.shim.id(), handed_over),
            (ChannelEvent::Nothing, Some(fd)) => channel = Some(fd),
            (event, _) => panic!("the shim closed its channel: {event:?}"),
        }
        sleep(Duration::from_millis(10));
    }
    panic!("no exit handed over in 10 s");
}

#[test]
fn a_shim_that_hands_its_exit_over_writes_no_file_once_the_daemon_has_it() {
    let spawner = Started::new(&shim_exe());
    let dir = TempDir::new().unwrap();
    let (shim, handed_over) = handed_over(&spawner, dir.path());
    assert_eq!(
        (handed_over.record.exit_code, handed_over.record.signal),
        (Some(3), None)
    );
    // The logs are complete before the exit is handed over.
    let out = std::fs::read_to_string(dir.path().join("logs/out.log")).unwrap();
    assert_eq!(out, "out\n");
    // The shim waits for the answer before it exits.
    sleep(Duration::from_millis(100));
    assert!(identify(shim).is_ok(), "shim {shim} exited unanswered");
    handed_over.acknowledge();
    assert!(
        wait_until(Duration::from_secs(10), || identify(shim).is_err()),
        "shim {shim} did not exit once answered"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["logs"], "no status, staging or log state file");
}

#[test]
fn a_shim_whose_daemon_does_not_answer_writes_the_status_file() {
    let spawner = Started::new(&shim_exe());
    let dir = TempDir::new().unwrap();
    let (shim, handed_over) = handed_over(&spawner, dir.path());
    // The daemon died before saving: its end of the channel closes unanswered.
    drop(handed_over);
    let status = dir.path().join("status.json");
    assert!(wait_until(Duration::from_secs(10), || status.exists()));
    let record = read_status(&status).unwrap().unwrap();
    assert_eq!((record.exit_code, record.signal), (Some(3), None));
    assert!(wait_until(Duration::from_secs(10), || identify(shim).is_err()));
}

/// Neither gone nor a zombie (one left by a dead spawner waits for init to reap it).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, r)| !r.starts_with('Z'))
    })
}

/// The spawner's children that are waiting shims (spares): every live child but `except`.
fn spares_of(spawner: u32, except: &[u32]) -> Vec<u32> {
    let children = std::fs::read_to_string(format!("/proc/{spawner}/task/{spawner}/children"));
    children
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter(|p| !except.contains(p) && alive(*p))
        .collect()
}

#[test]
fn a_spare_forked_ahead_takes_the_next_request_a_killed_one_is_replaced_and_none_outlives_the_spawner()
 {
    let mut spawner = Started::new(&shim_exe());
    let spawner_pid = spawner.get().pid();
    let tmp = TempDir::new().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let first = spawner.launch(&a, &["sleep", "30"]).unwrap();
    let mut spare = Vec::new();
    assert!(
        wait_until(Duration::from_secs(10), || {
            spare = spares_of(spawner_pid, &[first.shim.id()]);
            spare.len() == 1
        }),
        "one spare waits beside the first shim: {spare:?}"
    );
    // The next request goes to that very process, with its identity as forked.
    let second = spawner.launch(&b, &["sleep", "30"]).unwrap();
    assert_eq!(second.shim.id(), spare[0], "the spare took the request");
    let now = identify(spare[0]).unwrap();
    assert_eq!(
        second.shim.identity(),
        Some((now.start_time, now.start_ticks))
    );
    // A spare killed while it waits: the next start is forked on request, then a new
    // spare is ready again.
    let shims = [first.shim.id(), second.shim.id()];
    assert!(wait_until(Duration::from_secs(10), || spares_of(
        spawner_pid,
        &shims
    )
    .len()
        == 1));
    let killed = spares_of(spawner_pid, &shims)[0];
    kill(Pid::from_raw(killed as i32), Signal::SIGKILL).unwrap();
    // Dead, not only signalled: a spare killed during the hand-over itself takes the
    // request down with it, as a shim killed right after its fork would.
    assert!(wait_until(Duration::from_secs(10), || spares_of(
        spawner_pid,
        &shims
    )
    .is_empty()));
    let third = spawner.launch(&c, &["true"]).unwrap();
    assert_ne!(third.shim.id(), killed);
    let status = c.join("status.json");
    assert!(wait_until(Duration::from_secs(10), || status.exists()));
    assert_eq!(read_status(&status).unwrap().unwrap().exit_code, Some(0));
    let mut waiting = Vec::new();
    assert!(wait_until(Duration::from_secs(10), || {
        waiting = spares_of(spawner_pid, &[shims[0], shims[1], third.shim.id()]);
        waiting.len() == 1 && !waiting.contains(&killed)
    }));
    // The spawner ends: its spare goes with it, the shims that run stay.
    assert_eq!(spawner.end(), Some(0));
    assert!(
        wait_until(Duration::from_secs(10), || !alive(waiting[0])),
        "spare {} outlived the spawner",
        waiting[0]
    );
    for launched in [&first, &second] {
        assert!(alive(launched.shim.id()), "a running shim stays");
        killpg(Pid::from_raw(launched.child_pid as i32), Signal::SIGKILL).unwrap();
    }
}
