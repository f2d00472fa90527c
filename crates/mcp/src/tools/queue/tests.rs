use rmcp::model::JsonObject;
use serde_json::json;

use super::*;
use crate::policy::Policy;
use crate::tools::{catalog, parse};

fn job(state: v1::JobState, attempts: Vec<v1::Attempt>) -> v1::Job {
    v1::Job {
        id: 7,
        spec: Some(v1::JobSpec {
            command: vec!["sh".into(), "-c".into(), "echo hi".into()],
            group: "default".into(),
            attempts: Some(3),
            labels: [("ticket".to_owned(), "ops-1".to_owned())].into(),
            env: [("SECRET".to_owned(), "hunter2".to_owned())].into(),
            ..Default::default()
        }),
        state: state.into(),
        created_ms: 1,
        attempts,
        ..Default::default()
    }
}

fn attempt(ended: bool) -> v1::Attempt {
    v1::Attempt {
        number: 1,
        pid: 4242,
        started_ms: 1_000,
        ended_ms: ended.then_some(2_500),
        exit_code: ended.then_some(0),
        ..Default::default()
    }
}

fn args(value: serde_json::Value) -> Option<JsonObject> {
    Some(serde_json::from_value(value).unwrap())
}

#[test]
fn queue_add_schema_is_plain_typed_and_needs_only_a_command() {
    let tools = catalog(&Policy::default());
    let add = tools.iter().find(|t| t.name == "queue_add").unwrap();
    assert_eq!(add.input_schema["required"], json!(["command"]));
    let properties = add.input_schema["properties"].as_object().unwrap();
    assert_eq!(properties["priority"]["type"], "integer");
    assert_eq!(properties["delay_seconds"]["type"], "number");
    assert_eq!(properties["timeout_seconds"]["type"], "number");
    assert_eq!(properties["attempts"]["type"], "integer");
    assert_eq!(properties["backoff"]["type"], "string");
    assert_eq!(properties["after"]["type"], "array");
    for (name, property) in properties {
        assert!(property["description"].is_string(), "{name}");
    }
    let notes = add.annotations.as_ref().unwrap();
    assert_eq!(
        (notes.read_only_hint, notes.destructive_hint),
        (Some(false), Some(false))
    );
    for name in ["queue_list", "queue_status", "queue_logs"] {
        let tool = tools.iter().find(|t| t.name == name).unwrap();
        assert_eq!(
            tool.annotations.as_ref().unwrap().read_only_hint,
            Some(true)
        );
    }
}

#[test]
fn a_negative_priority_is_parsed_for_the_daemon_to_refuse() {
    let parsed: QueueAddArgs = parse(
        "queue_add",
        args(json!({"command": "true", "priority": -1})),
    )
    .unwrap();
    assert_eq!(parsed.priority, Some(-1));
    let err = parse::<QueueAddArgs>("queue_add", args(json!({"command": "true", "prio": 1})))
        .unwrap_err();
    assert!(err.0.contains("unknown field `prio`"), "{err}");
    let err = parse::<QueueAddArgs>("queue_add", args(json!({}))).unwrap_err();
    assert!(err.0.contains("missing field `command`"), "{err}");
}

#[test]
fn seconds_become_milliseconds_and_negative_ones_are_named() {
    assert_eq!(millis("delay_seconds", 1.5).unwrap(), 1500);
    assert_eq!(millis("delay_seconds", 0.0).unwrap(), 0);
    assert_eq!(millis("timeout_seconds", 1e30).unwrap(), u64::MAX);
    let err = millis("delay_seconds", -1.0).unwrap_err();
    assert!(
        err.0.contains("delay_seconds") && err.0.contains("Nothing was queued"),
        "{err}"
    );
}

#[test]
fn state_names_are_checked() {
    let names = ["running".to_owned(), "Failed".to_owned()];
    assert_eq!(
        wire_states(&names).unwrap(),
        vec![v1::JobState::Running as i32, v1::JobState::Failed as i32]
    );
    let err = wire_states(&["done".to_owned()]).unwrap_err();
    assert!(
        err.0.contains("states") && err.0.contains("completed"),
        "{err}"
    );
}

#[test]
fn a_job_reads_as_one_line_and_compact_data() {
    let running = job(v1::JobState::Running, vec![attempt(false)]);
    assert_eq!(
        line(&running),
        "job 7 running (attempt 1, pid 4242) [default]: sh -c 'echo hi'"
    );
    assert_eq!(view(&running)["pid"], 4242);
    let mut done = job(v1::JobState::Completed, vec![attempt(true)]);
    done.exit_code = Some(0);
    assert!(line(&done).starts_with("job 7 completed (exit 0)"));
    let data = full_view(&done);
    assert_eq!(data["pid"], json!(null));
    assert_eq!(data["attempts"][0]["outcome"], "exit 0");
    assert_eq!(data["attempts"][0]["ran_seconds"], 1.5);
    assert_eq!(
        view::attempt_line(&done.attempts[0]),
        "attempt 1: pid 4242, ran 1.5s, exit 0"
    );
    assert_eq!(data["labels"]["ticket"], "ops-1");
    assert_eq!(data["env_keys"], json!(["SECRET"]));
    assert!(
        !data.to_string().contains("hunter2"),
        "env values are not shown"
    );
    let mut cancelled = job(v1::JobState::Cancelled, vec![]);
    cancelled.reason = "cancelled".into();
    assert_eq!(
        line(&cancelled),
        "job 7 cancelled [default]: sh -c 'echo hi'"
    );
    cancelled.reason = "dependency 3 failed".into();
    assert!(line(&cancelled).ends_with("(dependency 3 failed)"));
}

#[test]
fn daemon_refusals_say_what_to_try() {
    let err = refused(&Status::not_found("no job 99"));
    assert!(
        err.0.starts_with("not found: no job 99") && err.0.contains("queue_list"),
        "{err}"
    );
    let err = refused(&Status::failed_precondition(
        "job 3 is already completed; nothing to cancel",
    ));
    assert!(
        err.0.starts_with("refused: job 3") && err.0.contains("queue_retry"),
        "{err}"
    );
}
