//! Property tests of the MCP tools' argument parsing: any JSON object, for every tool
//! (and for unknown ones), gets a tool result, an error naming what is wrong or the
//! call's own failure; nothing panics or hangs. The backend refuses every call, so no
//! generated argument can reach a real process (a random `kill_process` pid stays
//! harmless, a random `start_process` command never runs).

use procward_mcp::tools;
use procward_mcp::{KillScope, Policy};
use proptest::prelude::*;
use rmcp::model::{CallToolResult, JsonObject};
use serde_json::{Map, Value, json};

/// Cases per property (each one is cheap: no I/O).
const CASES: u32 = 3000;

/// Every tool's argument names, so generated objects often get past "unknown field".
const FIELDS: &[&str] = &[
    "name",
    "command",
    "env",
    "cwd",
    "restart",
    "lines",
    "stream",
    "user",
    "sort",
    "limit",
    "pid",
    "protocol",
    "port",
    "expected_start_time",
    "expected_start_ticks",
    "signal",
    "timeout_seconds",
    "force",
    "group",
    "priority",
    "delay_seconds",
    "attempts",
    "backoff",
    "after",
    "after_any",
    "labels",
    "states",
    "id",
    "attempt",
];

fn json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![Just(0i64), Just(-1), Just(1), Just(65_536), Just(1 << 32)]
            .prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        prop_oneof![
            Just(1e99),
            Just(-0.0),
            Just(1e-300),
            Just(3600.5),
            Just(-5.0)
        ]
        .prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::String),
        prop_oneof![
            Just(String::new()),
            Just("SIGKILL".into()),
            Just("\"unterminated".into()),
            Just("x".repeat(5000)),
            Just("a=b".into()),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            arguments(inner).prop_map(Value::Object),
        ]
    })
    .boxed()
}

fn arguments(values: impl Strategy<Value = Value> + Clone) -> impl Strategy<Value = JsonObject> {
    let key = prop_oneof![
        4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ];
    prop::collection::btree_map(key, values, 0..6)
        .prop_map(|m| m.into_iter().collect::<Map<_, _>>())
}

/// A backend whose every call fails, as if the daemon were gone.
fn offline() -> procward_mcp::Backend {
    let fail = tower::service_fn(|_: http::Request<tonic::body::Body>| async {
        Err::<http::Response<tonic::body::Body>, _>(std::io::Error::other("no daemon in this test"))
    });
    procward_mcp::Backend::new(fail)
}

fn policy() -> Policy {
    Policy {
        read_only: false,
        kill: KillScope::Any,
    }
}

fn tool_names() -> Vec<String> {
    let mut names: Vec<String> = tools::catalog(&policy())
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    names.push("no_such_tool".into());
    names
}

fn text(result: &CallToolResult) -> String {
    serde_json::to_value(&result.content)
        .unwrap_or_default()
        .to_string()
}

fn call(tool: &str, arguments: Option<JsonObject>) -> CallToolResult {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(tools::call(&offline(), &policy(), tool, arguments))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_arguments_get_a_tool_error(
        tool in prop::sample::select(tool_names()),
        arguments in prop::option::weighted(0.9, arguments(json())),
    ) {
        let result = call(&tool, arguments.clone());
        // Offline, nothing can succeed: every call is refused with a reason.
        prop_assert_eq!(result.is_error, Some(true), "{} {:?}", tool, arguments);
        prop_assert!(text(&result).len() > 10, "{} {:?}: no reason", tool, arguments);
    }
}

#[test]
fn wrong_types_name_the_field() {
    for (tool, arguments, expect) in [
        (
            "kill_process",
            json!({"pid": "12"}),
            "invalid arguments for kill_process",
        ),
        ("kill_process", json!({"pid": 12, "colour": 1}), "colour"),
        (
            "start_process",
            json!({"name": "a", "command": 5}),
            "command must be a string",
        ),
        (
            "start_process",
            json!({"name": "a", "command": ["ok", 1]}),
            "every array element",
        ),
        (
            "get_process_logs",
            json!({"name": "x".repeat(5000)}),
            "'name' is 5000 bytes",
        ),
        (
            "list_ports",
            json!({"port": []}),
            "invalid arguments for list_ports",
        ),
        (
            "queue_add",
            json!({"command": ["true"], "priority": "high"}),
            "invalid arguments for queue_add",
        ),
        (
            "queue_add",
            json!({"command": ["true"], "delay_seconds": -2}),
            "delay_seconds must be a number of seconds",
        ),
        ("queue_add", json!({"command": "   "}), "empty command"),
        ("queue_list", json!({"states": ["done"]}), "states"),
        (
            "queue_status",
            json!({"id": -1}),
            "invalid arguments for queue_status",
        ),
        (
            "queue_logs",
            json!({"id": 1, "lines": 0}),
            "lines must be between",
        ),
    ] {
        let Value::Object(arguments) = arguments else {
            unreachable!()
        };
        let result = call(tool, Some(arguments));
        assert_eq!(result.is_error, Some(true));
        assert!(text(&result).contains(expect), "{tool}: {}", text(&result));
    }
}
