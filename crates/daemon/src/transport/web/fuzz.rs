//! Property tests of the socket.io payloads: any JSON, for every event, is either
//! accepted or refused with a message; nothing panics or hangs. Only the parsers run
//! (payload to typed request), never the engine, so no generated payload can reach a
//! real process (a random `process:kill` pid stays harmless).

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::data::DataRequest;
use super::events::Event;
use super::payloads;

/// Cases per property (each one is cheap: no I/O).
const CASES: u32 = 2000;

/// The fields the events know, so generated objects often get past "unknown field".
const FIELDS: &[&str] = &[
    "command",
    "args",
    "cwd",
    "env",
    "interactive",
    "cols",
    "rows",
    "detached",
    "sessionId",
    "data",
    "name",
    "lines",
    "interval",
    "pid",
    "expectedStartTime",
    "expectedStartTicks",
    "force",
    "port",
    "action",
    "sort",
    "user",
    "limit",
    "instances",
    "successExitCodes",
    "readiness",
    "health",
    "tcp",
    "http",
    "intervalMs",
];

/// Any JSON value, with numbers and strings that probe the edges.
fn json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(65_536),
            Just(u32::MAX as i64 + 1)
        ]
        .prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| {
            serde_json::Number::from_f64(f).map(Value::Number)
        }),
        prop_oneof![
            Just(1e99),
            Just(-0.0),
            Just(0.1999),
            Just(60.0001),
            Just(1e-300)
        ]
        .prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::String),
        prop_oneof![
            Just(String::new()),
            Just(" ".into()),
            Just("x".repeat(70_000))
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            object(inner),
        ]
    })
    .boxed()
}

/// Objects whose keys are mostly the events' own fields.
fn object(values: impl Strategy<Value = Value> + Clone) -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ];
    prop::collection::btree_map(key, values, 0..6)
        .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>()))
}

fn payload() -> BoxedStrategy<Value> {
    prop_oneof![3 => object(json()), 1 => json()].boxed()
}

/// Runs every pure payload check; each returns `Ok` or a non-empty reason.
fn check_stream_payloads(payload: &Value) {
    let reasons = [
        payloads::create_args(payload.clone()).err(),
        payloads::execute_args(payload.clone()).err(),
        payloads::input_args(payload.clone()).err(),
        payloads::resize_args(payload.clone()).err(),
        payloads::logs_args(payload.clone()).err(),
        payloads::metrics_args(payload.clone()).err(),
        payloads::session_ref(payload.clone()).err(),
    ];
    for why in reasons.into_iter().flatten() {
        assert!(!why.trim().is_empty(), "an empty refusal for {payload}");
    }
}

const DATA_EVENTS: &[Event] = &[
    Event::SystemInfo,
    Event::ProcessesList,
    Event::ProcessKill,
    Event::PortsList,
    Event::PortKill,
    Event::ManagedList,
    Event::ManagedStart,
    Event::ManagedAction,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn stream_payloads_never_panic(payload in payload()) {
        check_stream_payloads(&payload);
    }

    #[test]
    fn data_payloads_parse_or_are_refused_with_a_reason(payload in payload(), event in prop::sample::select(DATA_EVENTS)) {
        if let Err(why) = DataRequest::parse(event, payload.clone()) {
            prop_assert!(!why.trim().is_empty(), "{} {payload}: empty refusal", event.name());
        }
    }
}

#[test]
fn data_refusals_name_the_field() {
    let why = |event, payload: Value| DataRequest::parse(event, payload).unwrap_err();
    assert!(why(Event::ProcessKill, serde_json::json!({})).contains("`pid`"));
    assert!(
        why(
            Event::ProcessKill,
            serde_json::json!({"pid": 1, "colour": 1})
        )
        .contains("`colour`")
    );
    assert!(why(Event::PortKill, serde_json::json!({"port": "x"})).contains("invalid type"));
    assert!(
        why(
            Event::ManagedAction,
            serde_json::json!({"name": "a", "action": "explode"})
        )
        .contains("unknown action 'explode'")
    );
    assert!(why(Event::SessionCreate, serde_json::json!({})).contains("not a data event"));
    let start = |extra: Value| {
        let mut payload = serde_json::json!({"name": "a", "command": "sleep 1"});
        payload
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        why(Event::ManagedStart, payload)
    };
    assert!(
        start(serde_json::json!({"readiness": {}}))
            .starts_with("readiness: give exactly one probe")
    );
    let both = start(serde_json::json!({"health": {"tcp": "h:1", "http": "http://h/"}}));
    assert!(both.starts_with("health: give exactly one probe"), "{both}");
    assert!(
        start(serde_json::json!({"readiness": {"tcp": "nohost"}})).starts_with("readiness: tcp")
    );
    assert!(start(serde_json::json!({"instances": -1})).contains("instances"));
    assert!(start(serde_json::json!({"successExitCodes": [1.5]})).contains("successExitCodes"));
    let act = |payload: Value| why(Event::ManagedAction, payload);
    assert!(act(serde_json::json!({"name": "a", "action": "scale"})).starts_with("instances:"));
    assert!(
        act(serde_json::json!({"name": "a", "action": "stop", "instances": 2}))
            .starts_with("instances:")
    );
    assert!(matches!(
        DataRequest::parse(
            Event::ManagedAction,
            serde_json::json!({"name": "a", "action": "scale", "instances": 3})
        ),
        Ok(DataRequest::Act(_, super::data::Action::Scale(3)))
    ));
    assert!(matches!(
        DataRequest::parse(Event::PortsList, serde_json::json!({})),
        Ok(DataRequest::Ports)
    ));
}

#[test]
fn refusals_name_the_field() {
    let bad = |f: fn(Value) -> Result<(), String>, payload: Value, field: &str| {
        let why = f(payload.clone()).unwrap_err();
        assert!(why.contains(field), "{payload} → {why}");
    };
    bad(
        |p| payloads::create_args(p).map(drop),
        serde_json::json!({"command": 5}),
        "invalid type",
    );
    bad(
        |p| payloads::create_args(p).map(drop),
        serde_json::json!({}),
        "`command`",
    );
    bad(
        |p| payloads::create_args(p).map(drop),
        serde_json::json!({"command": "x", "colour": 1}),
        "`colour`",
    );
    bad(
        |p| payloads::resize_args(p).map(drop),
        serde_json::json!({"sessionId": "s", "cols": 0, "rows": 5}),
        "terminal size",
    );
    bad(
        |p| payloads::resize_args(p).map(drop),
        serde_json::json!({"sessionId": "s", "cols": 70000, "rows": 5}),
        "terminal size",
    );
    bad(
        |p| payloads::metrics_args(p).map(drop),
        serde_json::json!({"interval": 1e99}),
        "interval",
    );
    bad(
        |p| payloads::logs_args(p).map(drop),
        serde_json::json!({"name": "a", "lines": 10001}),
        "lines",
    );
    bad(
        |p| payloads::input_args(p).map(drop),
        serde_json::json!({"sessionId": "s", "data": "x".repeat(70_000)}),
        "input",
    );
    bad(
        |p| payloads::execute_args(p).map(drop),
        serde_json::json!({"command": "  "}),
        "empty",
    );
    bad(
        |p| payloads::session_ref(p).map(drop),
        serde_json::json!("s"),
        "invalid type",
    );
}
