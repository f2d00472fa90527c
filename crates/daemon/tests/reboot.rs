//! The registry after a reboot: runs recorded in another boot are gone, and their PIDs
//! may belong to anything this boot started. The engine must signal none of them, start
//! again what was meant to run and leave stopped what was stopped.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::Duration;

use common::{Fixture, eventually};
use procward_core::supervisor::spec::ProcessSpec;
use procward_core::supervisor::state::{RestartPolicy, RestartTracker, State};
use procward_daemon::engine::registry::{Record, Registry, RunRecord};

/// A process group the test owns, standing for whatever a new boot gave the old PIDs to.
struct Bystander(Child);

impl Bystander {
    fn start() -> Self {
        let child = Command::new("sleep")
            .arg("1000")
            .process_group(0)
            .spawn()
            .expect("spawn sleep");
        Self(child)
    }

    fn alive(&mut self) -> bool {
        self.0.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A run of another boot whose process and shim PIDs are `pid` (the start ticks are
/// another boot's, as they would be).
fn old_run(pid: u32) -> RunRecord {
    RunRecord {
        child_pid: pid,
        child_start_time: 1_600_000_000,
        shim_pid: pid,
        shim_start_time: 1_600_000_000,
        child_start_ticks: Some(1),
        shim_start_ticks: Some(1),
        started_at_ms: 1_600_000_000_000,
        boot_id: Some("00000000-0000-0000-0000-000000000000".into()),
        unit: None,
    }
}

fn record(name: &str, desired: bool, run: Option<RunRecord>) -> Record {
    let mut spec = ProcessSpec::new(name, vec!["sleep".into(), "1000".into()]);
    // `never`: a run the reboot ended did not exit on its own, so even this policy must
    // not keep it down.
    spec.restart = RestartPolicy::Never;
    Record {
        retiring: None,
        spec,
        desired,
        tracker: RestartTracker::default(),
        run,
        last_exit: None,
        reason: String::new(),
        failed: false,
        stop_deadline_ms: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reboot_running_processes_start_afresh_stopped_ones_stay_stopped_and_no_old_pid_is_signalled()
 {
    if procward_core::sys::boot_id().is_none() {
        println!("skipped: /proc/sys/kernel/random/boot_id is not readable here");
        return;
    }
    let mut bystander = Bystander::start();
    let pid = bystander.0.id();
    let fixture = Fixture::prepared(|home| {
        let registry = Registry::synchronous(home.registry_dir());
        // Running when the machine went down.
        registry
            .save(&record("web", true, Some(old_run(pid))))
            .unwrap();
        // Stopped by the user before the reboot.
        registry.save(&record("worker", false, None)).unwrap();
        // Being stopped when the machine went down.
        let mut halting = record("halting", false, Some(old_run(pid)));
        halting.stop_deadline_ms = Some(1_600_000_010_000);
        registry.save(&halting).unwrap();
    });
    let supervisor = fixture.engine.supervisor().clone();

    let started = eventually(Duration::from_secs(10), || async {
        let view = supervisor.status("web").await.unwrap();
        view.state == State::Running && view.pid.is_some_and(|p| p != pid)
    })
    .await;
    let web = supervisor.status("web").await.unwrap();
    assert!(started, "web was not started afresh: {web:?}");
    assert_eq!(web.restarts, 0, "a reboot is not a restart of the policy's");
    for name in ["worker", "halting"] {
        let view = supervisor.status(name).await.unwrap();
        assert_eq!(view.state, State::Stopped, "{name}: {view:?}");
        assert_eq!(view.pid, None, "{name} has no run");
    }
    // A stop signal would have reached it at once; give a wrong SIGKILL time too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        bystander.alive(),
        "the process now holding an old run's PID (and group id) was signalled"
    );

    // What a later daemon finds is this boot's state: the stopped ones' runs are gone.
    let saved = Registry::synchronous(fixture.home.registry_dir())
        .load()
        .unwrap();
    let halting = saved.iter().find(|r| r.spec.name == "halting").unwrap();
    assert_eq!((halting.desired, &halting.run), (false, &None));
    let web = saved.iter().find(|r| r.spec.name == "web").unwrap();
    assert_eq!(
        web.run.as_ref().and_then(|r| r.boot_id.as_deref()),
        procward_core::sys::boot_id()
    );
}

/// A job that was running when the machine went down: its attempt ended with the boot,
/// nothing holding its old PIDs is watched or signalled, and it is run again per its
/// attempts (here: the one left), this time for real.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reboot_a_running_job_is_not_re_adopted_and_runs_again() {
    use procward_core::queue::{Attempt, Job, JobSpec, JobState};
    use procward_daemon::engine::queue::store::Store;

    if procward_core::sys::boot_id().is_none() {
        println!("skipped: /proc/sys/kernel/random/boot_id is not readable here");
        return;
    }
    let mut bystander = Bystander::start();
    let pid = bystander.0.id();
    let fixture = Fixture::prepared(|home| {
        let mut store = Store::open(&home.queue_db()).unwrap();
        let mut spec = JobSpec::new(vec!["true".into()]);
        spec.attempts = 2;
        let mut job = Job::new(1, spec, 1_600_000_000_000);
        job.state = JobState::Running;
        job.attempts
            .push(Attempt::started(1, pid, 1_600_000_000_000));
        store.insert(&job).unwrap();
        store.put_run(1, &old_run(pid)).unwrap();
    });
    let queue = fixture.engine.queue().clone();
    let done = tokio::time::timeout(Duration::from_secs(20), queue.wait(1)).await;
    let job = queue.get(1).await.unwrap();
    assert!(done.is_ok(), "the job never finished: {job:?}");
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    assert_eq!(
        job.attempts.len(),
        2,
        "the lost attempt, then a real one: {job:?}"
    );
    let lost = &job.attempts[0];
    assert_eq!(
        (lost.exit_code, lost.signal),
        (None, None),
        "no exit seen: {job:?}"
    );
    assert!(
        bystander.alive(),
        "the process now holding the job's old PID was signalled"
    );
}
