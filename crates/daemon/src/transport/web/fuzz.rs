//! Property tests of the socket.io payloads: any JSON, for every event, is either
//! accepted or refused with a message; nothing panics or hangs. The data events run
//! against a backend whose every call fails, so no generated payload can reach a real
//! process (a random `process:kill` pid stays harmless).

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{WebState, data, payloads};
use crate::engine::reaper::OwnedChildren;
use crate::token::TokenCheck;
use crate::transport::web::SessionTable;

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

/// Handlers' state whose backend refuses every call.
fn offline_state(dir: &std::path::Path) -> WebState {
    let fail = tower::service_fn(|_: http::Request<tonic::body::Body>| async {
        Err::<http::Response<tonic::body::Body>, _>(std::io::Error::other("no daemon in this test"))
    });
    WebState {
        backend: procward_proto::client::Backend::new(fail),
        tokens: TokenCheck::new(dir.join("token")),
        sessions: SessionTable::new(OwnedChildren::default()),
        auth_timeout: std::time::Duration::from_secs(10),
    }
}

const DATA_EVENTS: &[&str] = &[
    "system:info",
    "processes:list",
    "process:kill",
    "ports:list",
    "port:kill",
    "managed:list",
    "managed:start",
    "managed:action",
    "no:such-event",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn stream_payloads_never_panic(payload in payload()) {
        check_stream_payloads(&payload);
    }

    #[test]
    fn data_payloads_are_answered(payload in payload(), event in prop::sample::select(DATA_EVENTS)) {
        let dir = tempfile::tempdir().unwrap();
        let state = offline_state(dir.path());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let answer = runtime.block_on(data::dispatch(event, &state, payload.clone()));
        // The backend fails every call, so nothing is ever accepted; what matters is a
        // reason, from the payload check or from the call.
        let why = answer.expect_err("an offline backend cannot succeed");
        prop_assert!(!why.trim().is_empty(), "{event} {payload}: empty refusal");
    }
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
