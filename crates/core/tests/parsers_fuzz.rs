//! Property tests of every parser of user input in the core library: procward.toml, env
//! files, durations, sizes, restart counts, backoffs and command strings. No input may
//! panic, and values that can be displayed read back as themselves.
//!
//! Each property counts its cases and prints the total (`--nocapture` shows it), so CI
//! logs how much was tried; the counts are kept small enough for the whole file to run in
//! a few seconds.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use procward_core::supervisor::compose::{check_request, parse_compose};
use procward_core::supervisor::spec::limits::{self, DurationRange};
use procward_core::supervisor::spec::{
    Backoff, ProcessSpec, check_quotes, command_from_string, format_duration, parse_duration,
    parse_env_file, parse_env_pair, parse_max_restarts, parse_size,
};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

/// Cases per property.
const CASES: u32 = 1000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Runs `test` on `CASES` values of `strategy`, panicking with the minimal failing input,
/// and prints how many cases ran.
fn check<S: Strategy>(
    name: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let ran = AtomicUsize::new(0);
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |value| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!(
        "{name}: {} cases, none panicked",
        ran.load(Ordering::Relaxed)
    );
}

/// Pieces procward.toml is made of, so random files get past the TOML syntax often.
fn toml_piece() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "command",
        "env",
        "env_file",
        "cwd",
        "restart",
        "max_restarts",
        "backoff",
        "stable_after",
        "stop_signal",
        "stop_timeout",
        "autostart",
        "depends_on",
        "health",
        "logs",
        "colour",
    ]);
    let value = prop_oneof![
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        Just("1e99".to_owned()),
        Just("-1".to_owned()),
        Just("\"1e99s\"".to_owned()),
        Just("\"99999999999999999999d\"".to_owned()),
        Just("\"echo 'open\"".to_owned()),
        Just("[\"a\", \"b\"]".to_owned()),
        Just("[]".to_owned()),
        Just("{ http = \"http://127.0.0.1:1/\", interval = \"1e9h\" }".to_owned()),
        Just("{ tcp = \"localhost:0\" }".to_owned()),
        Just("{ command = \"true\", retries = 4294967295 }".to_owned()),
        Just("{ max_bytes = \"1TiB\", max_files = 0 }".to_owned()),
        Just("{ A = 1, B = true }".to_owned()),
        Just("true".to_owned()),
    ];
    let name = "[a-z.\\-]{0,4}";
    prop_oneof![
        (name, key.clone(), value.clone())
            .prop_map(|(n, k, v)| format!("[process.{n}]\n{k} = {v}\n")),
        (key, value).prop_map(|(k, v)| format!("{k} = {v}\n")),
        "[ -~\n]{0,40}",
        Just("[process.ok]\ncommand = \"sleep 1\"\n".to_owned()),
        "[ -~]{0,12}".prop_map(|c| format!("[process.cmd]\ncommand = {c:?}\n")),
    ]
}

#[test]
fn procward_toml_never_panics() {
    let files = prop::collection::vec(toml_piece(), 0..8).prop_map(|p| p.concat());
    check("procward.toml", files, |text| {
        if let Ok(specs) = parse_compose(&text, Path::new("/")) {
            // Whatever parses is valid and orderable: the daemon's check agrees.
            for spec in &specs {
                prop_assert!(spec.validate().is_ok(), "{text}");
            }
            prop_assert!(check_request(&[], specs).is_ok(), "{text}");
        }
        Ok(())
    });
}

#[test]
fn durations_never_panic_and_round_trip() {
    let inputs = ("\\PC{0,16}", 0u64..=10_000_000_000_000);
    check("durations", inputs, |(text, ms)| {
        let _ = parse_duration(&text);
        for range in [
            limits::STOP_TIMEOUT,
            limits::SAMPLE_INTERVAL,
            limits::HEALTH_INTERVAL,
        ] {
            if let Ok(d) = range.parse("field", &text) {
                prop_assert!(range.contains(d));
            }
        }
        let d = Duration::from_millis(ms);
        let shown = format_duration(d);
        prop_assert_eq!(parse_duration(&shown).unwrap(), d, "{}", shown);
        let at_least_1ms = d.max(Duration::from_millis(1));
        let backoff = Backoff {
            base: at_least_1ms,
            max: at_least_1ms,
        };
        prop_assert_eq!(backoff.to_string().parse::<Backoff>().unwrap(), backoff);
        Ok(())
    });
}

#[test]
fn sizes_and_counts_never_panic_and_round_trip() {
    let inputs = ("[0-9.eE+\\- a-zA-Z:]{0,24}", any::<u64>());
    check("sizes and counts", inputs, |(text, n)| {
        let _ = parse_size(&text);
        let _ = parse_max_restarts(&text);
        let _ = text.parse::<Backoff>();
        let any = DurationRange {
            min: Duration::ZERO,
            max: Duration::MAX,
        };
        let _ = any.parse("x", &text);
        prop_assert_eq!(parse_size(&n.to_string()).unwrap(), n);
        if let Ok(count) = u32::try_from(n) {
            prop_assert_eq!(parse_max_restarts(&count.to_string()).unwrap(), Some(count));
        }
        Ok(())
    });
}

#[test]
fn command_strings_never_panic_and_split_back() {
    let word = "[a-zA-Z0-9_./=:@%+,-]{1,8}( [a-zA-Z0-9'\"]{0,3})?";
    let inputs = ("\\PC{0,40}", prop::collection::vec(word, 1..6));
    check("command strings", inputs, |(text, words)| {
        let _ = check_quotes(&text);
        if let Ok(argv) = command_from_string(&text) {
            // What the splitter accepts, the spec accepts.
            prop_assert!(ProcessSpec::new("x", argv).validate().is_ok(), "{text:?}");
        }
        // Quoted by a shell quoter, any words split back into themselves.
        let joined = shlex::try_join(words.iter().map(String::as_str)).unwrap();
        let argv = command_from_string(&format!("run {joined}")).unwrap();
        prop_assert_eq!(&argv[1..], &words[..], "{}", joined);
        Ok(())
    });
}

#[test]
fn env_files_never_panic() {
    let line = "(export )?[A-Z_=# ]{0,4}=?['\"]?[ -~]{0,10}['\"]?";
    check("env files", prop::collection::vec(line, 0..8), |lines| {
        let text = lines.join("\n");
        if let Ok(vars) = parse_env_file(&text) {
            for (key, value) in vars {
                prop_assert!(!key.is_empty() && !key.contains('='));
                prop_assert!(!value.contains('\0'));
            }
        }
        for line in &lines {
            let _ = parse_env_pair(line);
        }
        Ok(())
    });
}
