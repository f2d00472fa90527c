//! Schedules through the engine with real time: an interval schedule queues a job per
//! fire, labelled with its name; `no_overlap` skips fires while the last job runs; bad
//! timetables are refused with nothing added.

mod common;

use std::time::Duration;

use common::Fixture;
use procward_core::queue::{JobSpec, ScheduleSpec, When};
use procward_daemon::engine::EngineError;
use procward_daemon::engine::queue::JobFilter;

fn schedule(name: &str, when: When, script: &str) -> ScheduleSpec {
    ScheduleSpec {
        name: name.into(),
        when,
        no_overlap: false,
        catch_up: false,
        job: JobSpec::new(vec!["sh".into(), "-c".into(), script.into()]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interval_schedule_queues_a_labelled_job_per_fire_and_no_overlap_skips() {
    let f = Fixture::new();
    let queue = f.engine.queue();
    queue
        .add_schedule(schedule(
            "tick",
            When::Every(Duration::from_secs(1)),
            "true",
        ))
        .await
        .unwrap();
    let mut slow = schedule("slow", When::Every(Duration::from_secs(1)), "sleep 2.5");
    slow.no_overlap = true;
    queue.add_schedule(slow).await.unwrap();
    let of = |jobs: &[procward_core::queue::Job], name: &str| {
        jobs.iter()
            .filter(|j| j.spec.labels.get("schedule").map(String::as_str) == Some(name))
            .count()
    };
    // Fires at 1, 2 and 3 s: polled rather than slept, so a slow machine cannot miss one.
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    let skipped = |schedules: &[procward_core::queue::Schedule]| {
        schedules
            .iter()
            .find(|s| s.spec.name == "slow")
            .map_or(0, |s| s.skipped)
    };
    // Both fire at 3 s: wait for the third tick as well as the second skip, whichever of
    // the two the queue handled first.
    loop {
        let schedules = queue.schedules().await.unwrap();
        let jobs = queue.list(JobFilter::default()).await.unwrap();
        let done = skipped(&schedules) >= 2 && of(&jobs, "tick") >= 3;
        if done || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let jobs = queue.list(JobFilter::default()).await.unwrap();
    let schedules = queue.schedules().await.unwrap();
    assert_eq!(
        skipped(&schedules),
        2,
        "the fires at 2 and 3 s found the first job running"
    );
    assert_eq!(of(&jobs, "slow"), 1, "{jobs:#?}");
    assert!(of(&jobs, "tick") >= 3, "{jobs:#?}");
    assert!(schedules.iter().all(|s| s.next_ms.is_some()));
    queue.remove_schedule("tick".into()).await.unwrap();
    queue.remove_schedule("slow".into()).await.unwrap();
    assert!(queue.schedules().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_schedules_are_refused_and_nothing_is_added() {
    let f = Fixture::new();
    let queue = f.engine.queue();
    let mut unknown_group = schedule("a", When::Every(Duration::from_secs(60)), "true");
    unknown_group.job.group = "nope".into();
    let mut empty = schedule("b", When::Every(Duration::from_secs(60)), "true");
    empty.job.command.clear();
    for (spec, words) in [
        (
            schedule("c", When::Cron("* * *".into()), "true"),
            "five fields",
        ),
        (
            schedule("d", When::Cron("99 * * * *".into()), "true"),
            "cron",
        ),
        (
            schedule("e", When::Every(Duration::from_millis(5)), "true"),
            "every",
        ),
        (unknown_group, "unknown group"),
        (empty, "empty command"),
    ] {
        match queue.add_schedule(spec).await {
            Err(EngineError::Invalid(message)) => assert!(message.contains(words), "{message}"),
            other => panic!("expected a refusal naming {words}: {other:?}"),
        }
    }
    assert!(queue.schedules().await.unwrap().is_empty());
    let fine = schedule("fine", When::Cron("0 3 * * *".into()), "true");
    queue.add_schedule(fine.clone()).await.unwrap();
    assert!(matches!(
        queue.add_schedule(fine).await,
        Err(EngineError::Invalid(_))
    ));
    assert!(matches!(
        queue.remove_schedule("missing".into()).await,
        Err(EngineError::NotFound(_))
    ));
}
