//! The job queue through the engine, with real processes: retries and their back-off,
//! timeouts and cancels that end whole trees, dependencies, priorities within a group's
//! concurrency, delays, pause, clean, and bad input refused with nothing queued.

mod common;

use std::time::Duration;

use common::{Fixture, alive, eventually, sh};
use procward_core::queue::{JobSpec, JobState, RetryBackoff};
use procward_daemon::engine::EngineError;
use procward_daemon::engine::queue::{CleanFilter, JobFilter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_is_retried_with_exponential_back_off_then_fails() {
    let f = Fixture::new();
    let mut spec = sh("echo try $PROCWARD_JOB_ATTEMPT; exit 3");
    spec.backoff = "exponential:150ms:1s".parse::<RetryBackoff>().unwrap();
    let job = f.engine.queue().add(spec).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(10), f.engine.queue().wait(job.id))
        .await
        .expect("ends")
        .unwrap();
    assert_eq!(done.state, JobState::Failed, "{done:?}");
    assert_eq!(done.attempts.len(), 3);
    assert_eq!(done.exit_code(), Some(3));
    assert!(
        done.reason.contains("attempt 3 of 3: exit 3"),
        "{}",
        done.reason
    );
    let gaps: Vec<u64> = done
        .attempts
        .windows(2)
        .map(|w| w[1].started_ms - w[0].ended_ms.unwrap())
        .collect();
    assert!(gaps[0] >= 150 && gaps[0] < 1000, "first wait {gaps:?}");
    assert!(
        gaps[1] >= 300 && gaps[1] < 1500,
        "second wait doubles: {gaps:?}"
    );
    let log = f.home.attempt_dir(job.id, 2).join("stdout.log");
    assert_eq!(
        std::fs::read_to_string(log).unwrap(),
        "try 2\n",
        "each attempt has its log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_leaves_only_the_logs_it_wrote() {
    let f = Fixture::new();
    let shared = std::env::var("PROCWARD_TEST_REDIS_URL").is_ok_and(|url| !url.is_empty());
    let job = f.engine.queue().add(sh("echo out")).await.unwrap();
    let quiet = f.engine.queue().add(sh("exit 0")).await.unwrap();
    for id in [job.id, quiet.id] {
        let done = f.engine.queue().wait(id).await.unwrap();
        assert_eq!(done.state, JobState::Completed, "{done:?}");
    }
    let files = |id: u64| -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(f.home.attempt_dir(id, 1)) else {
            return Vec::new();
        };
        let mut files: Vec<String> = dir
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        files
    };
    if shared {
        // On Redis the shim records the exit in its status file, as a managed one does.
        assert_eq!(files(job.id), ["status.json", "stderr.log", "stdout.log"]);
    } else {
        // The shim handed its exit to the daemon, which saved it: no status file; the
        // silent stderr made no file, and a silent job no folder at all.
        assert_eq!(files(job.id), ["stdout.log"]);
        assert!(!f.home.attempt_dir(quiet.id, 1).exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_succeeds_on_its_second_attempt_completes() {
    let f = Fixture::new();
    let marker = f.home.root().join("marker");
    let mut spec = sh(&format!(
        "if [ -e {m} ]; then exit 0; else touch {m}; exit 1; fi",
        m = marker.display()
    ));
    spec.backoff = "fixed:50ms".parse::<RetryBackoff>().unwrap();
    let job = f.engine.queue().add(spec).await.unwrap();
    let done = f.engine.queue().wait(job.id).await.unwrap();
    assert_eq!(done.state, JobState::Completed);
    let codes: Vec<Option<i32>> = done.attempts.iter().map(|a| a.exit_code).collect();
    assert_eq!(codes, [Some(1), Some(0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_ends_the_whole_tree_and_fails_the_attempt() {
    let f = Fixture::new();
    let pidfile = f.home.root().join("grandchild.pid");
    let mut spec = sh(&format!("sleep 60 & echo $! > {}; wait", pidfile.display()));
    spec.timeout = Some(Duration::from_millis(400));
    spec.attempts = 1;
    let job = f.engine.queue().add(spec).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(10), f.engine.queue().wait(job.id))
        .await
        .expect("the timeout ends it")
        .unwrap();
    assert_eq!(done.state, JobState::Failed);
    assert!(done.attempts[0].timed_out);
    assert!(
        done.reason.contains("timed out after 400ms"),
        "{}",
        done.reason
    );
    let grandchild: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(3), || async { !alive(grandchild) }).await,
        "the background sleep of the job was ended too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_a_running_job_and_its_dependents_fail() {
    let f = Fixture::new();
    let queue = f.engine.queue();
    let job = queue.add(sh("sleep 60")).await.unwrap();
    let mut after = sh("true");
    after.after = vec![job.id];
    let dependent = queue.add(after).await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || async {
            queue.get(job.id).await.unwrap().state == JobState::Running
        })
        .await
    );
    let pid = queue.get(job.id).await.unwrap().attempts[0].pid;
    assert!(alive(pid));
    let cancelled = tokio::time::timeout(Duration::from_secs(3), queue.cancel(job.id))
        .await
        .expect("answered once the process ended")
        .unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(!alive(pid), "the job's process is gone");
    let dependent = queue.get(dependent.id).await.unwrap();
    assert_eq!(dependent.state, JobState::Failed);
    assert_eq!(dependent.reason, format!("dependency {} cancelled", job.id));
    assert!(matches!(
        queue.cancel(job.id).await,
        Err(EngineError::Refused(_))
    ));
    let retried = queue.retry(job.id).await.unwrap();
    assert_eq!(retried.state, JobState::Queued);
    queue.cancel(job.id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependents_start_after_their_dependencies_and_after_any_survives_a_failure() {
    let f = Fixture::new();
    let queue = f.engine.queue();
    let first = queue.add(sh("sleep 0.3")).await.unwrap();
    let mut failing = sh("exit 1");
    failing.attempts = 1;
    let failing = queue.add(failing).await.unwrap();
    let mut second = sh("true");
    second.after = vec![first.id];
    let second = queue.add(second).await.unwrap();
    let mut any = sh("true");
    any.after = vec![failing.id, first.id];
    any.after_any = true;
    let any = queue.add(any).await.unwrap();
    let second = queue.wait(second.id).await.unwrap();
    let first = queue.get(first.id).await.unwrap();
    assert_eq!(second.state, JobState::Completed);
    assert!(second.attempts[0].started_ms >= first.attempts[0].ended_ms.unwrap());
    assert_eq!(queue.wait(any.id).await.unwrap().state, JobState::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn higher_priority_runs_first_within_a_group_limit() {
    let f = Fixture::new();
    let queue = f.engine.queue();
    queue.put_group("one".into(), 1).await.unwrap();
    let in_group = |script: &str, priority: u32| {
        let mut spec = sh(script);
        spec.group = "one".into();
        spec.priority = priority;
        spec
    };
    let blocker = queue.add(in_group("sleep 0.3", 0)).await.unwrap();
    // The blocker holds the group's one slot before the others are queued (a queue on
    // Redis starts it a moment after the add, not within it).
    assert!(
        eventually(Duration::from_secs(5), || async {
            queue.get(blocker.id).await.unwrap().state == JobState::Running
        })
        .await
    );
    let low = queue.add(in_group("true", 1)).await.unwrap();
    let high = queue.add(in_group("true", 9)).await.unwrap();
    let low = queue.wait(low.id).await.unwrap();
    let high = queue.get(high.id).await.unwrap();
    let blocker = queue.get(blocker.id).await.unwrap();
    assert!(high.attempts[0].started_ms >= blocker.attempts[0].ended_ms.unwrap());
    assert!(low.attempts[0].started_ms >= high.attempts[0].ended_ms.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_job_waits_and_a_paused_group_starts_nothing() {
    let f = Fixture::new();
    let queue = f.engine.queue();
    let mut delayed = sh("true");
    let not_before = now_ms() + 400;
    delayed.not_before_ms = Some(not_before);
    let delayed = queue.add(delayed).await.unwrap();
    assert_eq!(delayed.state, JobState::Delayed);
    let done = queue.wait(delayed.id).await.unwrap();
    assert!(done.attempts[0].started_ms >= not_before);

    queue.pause(Some("default".into()), true).await.unwrap();
    let held = queue.add(sh("true")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(queue.get(held.id).await.unwrap().state, JobState::Queued);
    queue.pause(None, false).await.unwrap();
    assert_eq!(
        queue.wait(held.id).await.unwrap().state,
        JobState::Completed
    );

    let removed = queue.clean(CleanFilter::default()).await.unwrap();
    assert_eq!(removed, [delayed.id, held.id]);
    assert!(!f.home.job_dir(held.id).exists(), "its logs went with it");
    assert!(matches!(
        queue.get(held.id).await,
        Err(EngineError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_jobs_are_refused_and_nothing_is_queued() {
    let f = Fixture::new();
    let queue = f.engine.queue();
    let cases: Vec<(JobSpec, &str)> = vec![
        (JobSpec::new(vec![]), "empty command"),
        (
            {
                let mut s = sh("true");
                s.priority = 5000;
                s
            },
            "priority",
        ),
        (
            {
                let mut s = sh("true");
                s.group = "nope".into();
                s
            },
            "unknown group \"nope\"",
        ),
        (
            {
                let mut s = sh("true");
                s.after = vec![42];
                s
            },
            "there is no job 42",
        ),
        (
            {
                let mut s = sh("true");
                s.timeout = Some(Duration::from_millis(1));
                s
            },
            "timeout",
        ),
        (
            {
                let mut s = sh("true");
                s.attempts = 0;
                s
            },
            "attempts",
        ),
    ];
    for (spec, words) in cases {
        match queue.add(spec).await {
            Err(EngineError::Invalid(message)) => {
                assert!(message.contains(words), "{message:?} should say {words:?}")
            }
            other => panic!("expected a refusal naming {words}, got {other:?}"),
        }
    }
    assert!(queue.list(JobFilter::default()).await.unwrap().is_empty());
    assert!(matches!(
        queue.put_group("g".into(), 0).await,
        Err(EngineError::Invalid(_))
    ));
    assert!(matches!(queue.get(7).await, Err(EngineError::NotFound(_))));
    assert!(matches!(
        queue.retry(7).await,
        Err(EngineError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_cannot_start_is_a_failed_attempt_with_exit_127() {
    let f = Fixture::new();
    let mut spec = JobSpec::new(vec!["/nonexistent/program".into()]);
    spec.attempts = 1;
    let job = f.engine.queue().add(spec).await.unwrap();
    let done = f.engine.queue().wait(job.id).await.unwrap();
    assert_eq!(done.state, JobState::Failed);
    assert_eq!(done.exit_code(), Some(127));
    assert!(done.reason.contains("nonexistent"), "{}", done.reason);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_right_after_the_add_ends_a_job_whose_process_is_still_starting() {
    let f = Fixture::new();
    let queue = f.engine.queue();
    for round in 0..5 {
        let pidfile = f.home.root().join(format!("pid{round}"));
        let job = queue
            .add(sh(&format!(
                "echo $$ > {}; exec sleep 60",
                pidfile.display()
            )))
            .await
            .unwrap();
        let cancelled = tokio::time::timeout(Duration::from_secs(8), queue.cancel(job.id))
            .await
            .expect("answered")
            .unwrap();
        assert_eq!(cancelled.state, JobState::Cancelled);
        // Empty or missing: the cancel came before the job could write its pid.
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
        {
            assert!(
                eventually(Duration::from_secs(2), || async { !alive(pid) }).await,
                "round {round}: the job's process {pid} outlived its cancel"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_job_gets_its_attempts_again_and_keeps_its_history() {
    let f = Fixture::new();
    let queue = f.engine.queue();
    let mut spec = sh("exit 1");
    spec.attempts = 1;
    let job = queue.add(spec).await.unwrap();
    assert_eq!(queue.wait(job.id).await.unwrap().state, JobState::Failed);
    queue.retry(job.id).await.unwrap();
    let again = queue.wait(job.id).await.unwrap();
    assert_eq!(again.state, JobState::Failed);
    assert_eq!(again.attempts.len(), 2, "the first round is kept");
    assert_eq!(again.retried_after, 1);
    assert_eq!(again.reason, "attempt 1 of 1: exit 1");
    for attempt in &again.attempts {
        assert!(
            attempt.ended_ms.unwrap() >= attempt.started_ms,
            "{attempt:?}"
        );
    }
}
