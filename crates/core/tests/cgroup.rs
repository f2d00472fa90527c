//! The cgroup backend on this machine, with real processes: probing, placing a child
//! before it execs, killing a tree with a setsid escapee, memory and pids limits held by
//! the kernel, spare units kept for reuse, and cgroups turned off. Each test has its own namespace, removed at the end.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use procward_core::cgroup::{Cgroups, Controller, Spares, Unit, UnitLimits};

/// A namespace of this test's own, removed (with its units) when dropped.
struct Namespace {
    cgroups: Cgroups,
    units: Vec<Unit>,
}

impl Namespace {
    fn new(test: &str) -> Self {
        let name = format!("procward-test-{test}-{}", std::process::id());
        // The probe reads this process's own cgroup: not while another test has moved
        // the whole process into its unit (the namespace would be made inside that unit,
        // and killing that unit would then kill this test binary).
        let _one = JOIN.lock().unwrap_or_else(|e| e.into_inner());
        Self {
            cgroups: Cgroups::probe(&name),
            units: Vec::new(),
        }
    }

    fn unit(&mut self, name: &str, limits: UnitLimits) -> Unit {
        let unit = self.cgroups.create(name, &limits).expect("unit");
        self.units.push(unit.clone());
        unit
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        for unit in &self.units {
            let _ = unit.kill();
            let _ = unit.remove();
        }
        self.cgroups.remove_namespace();
    }
}

/// Joining moves the whole test process (every thread): one test at a time may do it.
static JOIN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn spawn_in(unit: &Unit, program: &str, args: &[&str]) -> Child {
    let _one = JOIN.lock().unwrap_or_else(|e| e.into_inner());
    let placement = unit.join().expect("join");
    let child = Command::new(program).args(args).spawn().expect("spawn");
    Unit::leave(placement).expect("leave");
    child
}

fn wait_for(timeout: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ok()
}

/// Whether this machine has a writable cgroup hierarchy with `controller` (read from
/// /proc/self/mountinfo, independently of the code under test).
fn has_hierarchy(controller: &str) -> bool {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mountinfo.lines().any(|line| {
        let Some((_, right)) = line.split_once(" - ") else {
            return false;
        };
        let tail: Vec<&str> = right.split(' ').collect();
        match tail.first() {
            Some(&"cgroup") => tail
                .get(2)
                .is_some_and(|o| o.split(',').any(|c| c == controller)),
            Some(&"cgroup2") => std::fs::read_to_string(
                line.split(' ').nth(4).unwrap().to_owned() + "/cgroup.controllers",
            )
            .is_ok_and(|c| c.split_whitespace().any(|c| c == controller)),
            _ => false,
        }
    })
}

#[test]
fn probe_matches_the_machine() {
    let ns = Namespace::new("probe");
    eprintln!("{}", ns.cgroups.describe());
    let any = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(" - cgroup");
    assert_eq!(ns.cgroups.tracks(), any, "{}", ns.cgroups.describe());
    for (controller, name) in [(Controller::Memory, "memory"), (Controller::Pids, "pids")] {
        assert_eq!(
            ns.cgroups.enforces(controller),
            has_hierarchy(name),
            "{name}: {}",
            ns.cgroups.describe()
        );
    }
    let off = Cgroups::disabled("turned off");
    assert!(!off.tracks());
    assert!(off.create("web", &UnitLimits::default()).is_err());
    assert!(
        ns.cgroups
            .create("../escape", &UnitLimits::default())
            .is_err()
    );
}

#[test]
fn a_child_is_placed_before_exec_and_the_caller_goes_back() {
    let mut ns = Namespace::new("place");
    if !ns.cgroups.tracks() {
        return eprintln!("no cgroups here: {}", ns.cgroups.describe());
    }
    let unit = ns.unit("placed", UnitLimits::default());
    // Joining moves the whole test process: read where it is under the same lock.
    let one = JOIN.lock().unwrap_or_else(|e| e.into_inner());
    let before = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let placement = unit.join().expect("join");
    let mut child = Command::new("sleep").arg("30").spawn().expect("spawn");
    Unit::leave(placement).expect("leave");
    let after = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    drop(one);
    assert_eq!(unit.pids(), [child.id()]);
    assert_eq!(after, before);
    // The child's own view names the unit.
    let its = std::fs::read_to_string(format!("/proc/{}/cgroup", child.id())).unwrap();
    assert!(its.contains("/placed"), "{its}");
    unit.kill().unwrap();
    let _ = child.wait();
    assert!(wait_for(Duration::from_secs(2), || !unit.is_populated()));
    unit.remove().unwrap();
    assert!(!unit.tracking_dir().exists());
}

#[test]
fn kill_ends_a_tree_with_a_setsid_escapee() {
    let mut ns = Namespace::new("kill");
    if !ns.cgroups.tracks() {
        return eprintln!("no cgroups here: {}", ns.cgroups.describe());
    }
    let unit = ns.unit("tree", UnitLimits::default());
    let mut child = spawn_in(&unit, "sh", &["-c", "setsid sleep 60 & sleep 60 & wait"]);
    assert!(
        wait_for(Duration::from_secs(5), || unit.pids().len() == 3),
        "{:?}",
        unit.pids()
    );
    let members = unit.pids();
    unit.kill().unwrap();
    let _ = child.wait();
    assert!(
        wait_for(Duration::from_secs(5), || !unit.is_populated()),
        "{:?}",
        unit.pids()
    );
    for pid in members {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for its parent (init reaps the escapee).
        assert!(state.is_empty() || state.contains(") Z "), "{pid}: {state}");
    }
    unit.remove().unwrap();
}

#[test]
fn a_memory_hog_is_oom_killed_at_memory_max() {
    let mut ns = Namespace::new("oom");
    if !ns.cgroups.enforces(Controller::Memory) {
        return eprintln!("memory not enforced here: {}", ns.cgroups.describe());
    }
    let limits = UnitLimits {
        memory_max: Some(64 << 20),
        ..Default::default()
    };
    let unit = ns.unit("hog", limits);
    let hog = "b=[]\nwhile len(b)<400: b.append(b'x'*(1<<20))\nimport time; time.sleep(60)";
    let mut child = spawn_in(&unit, "python3", &["-c", hog]);
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "{status:?}");
    assert!(unit.oom_kills() >= 1);
    assert!(unit.memory_current().unwrap_or(0) <= 64 << 20);
}

#[test]
fn a_fork_loop_is_held_by_pids_max() {
    let mut ns = Namespace::new("pids");
    if !ns.cgroups.enforces(Controller::Pids) {
        return eprintln!("pids not enforced here: {}", ns.cgroups.describe());
    }
    let limits = UnitLimits {
        pids_max: Some(20),
        ..Default::default()
    };
    let unit = ns.unit("forks", limits);
    let mut child = spawn_in(
        &unit,
        "sh",
        &[
            "-c",
            "for i in $(seq 100); do sleep 30 & done 2>/dev/null; sleep 30",
        ],
    );
    assert!(wait_for(Duration::from_secs(5), || unit.pids_current() == Some(20)));
    std::thread::sleep(Duration::from_millis(300));
    assert!(unit.pids_current().unwrap() <= 20);
    assert!(unit.pids().len() <= 20);
    unit.kill().unwrap();
    let _ = child.wait();
    assert!(wait_for(Duration::from_secs(5), || !unit.is_populated()));
}

#[test]
fn spare_units_are_kept_reused_swept_by_the_next_owner_and_cleared() {
    let mut ns = Namespace::new("spares");
    let spares = Spares::new(&ns.cgroups);
    let Some(first) = spares.take(&UnitLimits::default()) else {
        return eprintln!("no cgroup v2 here: {}", ns.cgroups.describe());
    };
    let first = first.expect("a spare unit");
    ns.units.push(first.clone());
    assert_eq!(first.name, "run@0");
    assert!(first.tracking_dir().is_dir());
    let limited = UnitLimits {
        pids_max: Some(5),
        ..UnitLimits::default()
    };
    assert!(
        spares.take(&limited).is_none(),
        "a limit needs a unit of its own"
    );

    // A run in it ends; the empty unit is kept, and the next run gets it again.
    let mut child = spawn_in(&first, "sleep", &["30"]);
    first.kill().unwrap();
    let _ = child.wait();
    assert!(wait_for(Duration::from_secs(2), || !first.is_populated()));
    spares.give_back(&first, !first.is_populated()).unwrap();
    assert!(first.tracking_dir().is_dir(), "kept, not removed");
    let again = spares.take(&UnitLimits::default()).unwrap().unwrap();
    assert_eq!(again, first);
    let second = spares.take(&UnitLimits::default()).unwrap().unwrap();
    ns.units.push(second.clone());
    assert_eq!(second.name, "run@1", "one out already: a new one");

    // A daemon killed with a run in `first` and `second` kept: the next one sweeps the
    // empty unit, leaves the one with a process in it, and numbers on past both.
    let mut running = spawn_in(&first, "sleep", &["30"]);
    spares.give_back(&second, true).unwrap();
    drop(spares);
    let next = Spares::new(&ns.cgroups);
    assert!(!second.tracking_dir().exists(), "the empty spare was swept");
    assert_eq!(first.pids(), [running.id()], "the unit in use stays");
    let third = next.take(&UnitLimits::default()).unwrap().unwrap();
    ns.units.push(third.clone());
    assert_eq!(third.name, "run@2");

    // A unit given back with a process still in it is not kept: it is removed, which
    // cannot happen while the process is there.
    assert!(next.give_back(&first, false).is_err());
    first.kill().unwrap();
    let _ = running.wait();
    // A kept unit removed behind the daemon's back is not handed out again.
    next.give_back(&third, true).unwrap();
    std::fs::remove_dir(third.tracking_dir()).unwrap();
    let fourth = next.take(&UnitLimits::default()).unwrap().unwrap();
    ns.units.push(fourth.clone());
    assert_eq!(fourth.name, "run@3");
    assert!(fourth.tracking_dir().is_dir());
    next.give_back(&fourth, true).unwrap();
    next.clear();
    assert!(!fourth.tracking_dir().exists(), "cleared with the daemon");
}
