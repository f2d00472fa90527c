//! Argument parsers that turn bad input into a message saying what would be right.

use std::time::Duration;

use procward_core::supervisor::spec::limits::{self, DurationRange};

/// A duration in one of the documented ranges of
/// [`limits`](procward_core::supervisor::spec::limits): `200ms`, `0.5s`, `2`, `1m30s`.
/// Parsed by the core library, so every interface reads the same spellings; values out of
/// range (`1e99`, `-1`, `99999999999h`) are errors, never a panic.
fn duration_in(range: DurationRange, what: &'static str, text: &str) -> Result<Duration, String> {
    range.parse(what, text).map_err(|e| e.to_string())
}

/// A CPU sample interval ([`limits::SAMPLE_INTERVAL`]: 1ms to 60s).
pub fn interval(text: &str) -> Result<Duration, String> {
    duration_in(limits::SAMPLE_INTERVAL, "interval", text)
}

/// A kill grace period ([`limits::KILL_TIMEOUT`]: 0, escalate at once, to 1h).
pub fn timeout(text: &str) -> Result<Duration, String> {
    duration_in(limits::KILL_TIMEOUT, "timeout", text)
}

/// A stop timeout of a managed process ([`limits::STOP_TIMEOUT`]: 0 to 1h).
pub fn stop_timeout(text: &str) -> Result<Duration, String> {
    duration_in(limits::STOP_TIMEOUT, "stop_timeout", text)
}

/// A TCP/UDP port, 1-65535.
pub fn port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u64>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        Ok(_) => Err(format!("port '{text}' is out of range: use 1-65535")),
        Err(_) => Err(format!("port '{text}' is not a number: use 1-65535")),
    }
}

/// A health or readiness probe: `http://HOST:PORT/PATH`, `tcp:HOST:PORT` or
/// `cmd:COMMAND` (run with `sh -c`).
pub fn probe(text: &str) -> Result<procward_core::supervisor::spec::Probe, String> {
    procward_core::supervisor::spec::Probe::parse(text).map_err(|e| e.to_string())
}

/// A replica count: 1-256 or `max`.
pub fn instances(text: &str) -> Result<u32, String> {
    procward_core::supervisor::spec::replica::parse_instances(text).map_err(|e| e.to_string())
}

/// A signal name or number, parsed by the core library.
pub fn signal(text: &str) -> Result<procward_core::Signal, String> {
    text.parse()
        .map_err(|e: procward_core::Error| e.to_string())
}

/// A sort key, parsed by the core library.
pub fn sort_key(text: &str) -> Result<procward_core::SortKey, String> {
    text.parse()
        .map_err(|e: procward_core::Error| e.to_string())
}

/// A positive count.
pub fn limit(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("limit must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("limit '{text}' is not a positive whole number")),
    }
}

/// `--since` of `logs` and `audit`: a duration back from now (`30m`, `2h`, `1day`) or an
/// RFC 3339 time (`2026-12-03T09:00:00Z`), as Unix milliseconds.
pub fn since(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let now = procward_core::sys::unix_ms(std::time::SystemTime::now());
    if let Ok(ago) = humantime::parse_duration(text) {
        return Ok(now.saturating_sub(u64::try_from(ago.as_millis()).unwrap_or(u64::MAX)));
    }
    match humantime::parse_rfc3339_weak(text) {
        Ok(at) => Ok(procward_core::sys::unix_ms(at)),
        Err(_) => Err(format!(
            "'{text}' is neither a duration (30m, 2h, 1day) nor a time (2026-12-03T09:00:00Z)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(interval("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(interval("0.5s").unwrap(), Duration::from_millis(500));
        assert_eq!(interval("2").unwrap(), Duration::from_secs(2));
        for bad in [
            "0", "-1", "0ms", "0.5ms", "abc", "", "NaN", "inf", "61s", "1e99",
        ] {
            assert!(interval(bad).is_err(), "{bad}");
        }
        assert_eq!(timeout("0").unwrap(), Duration::ZERO);
        assert_eq!(timeout("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(stop_timeout("1.5").unwrap(), Duration::from_millis(1500));
        for bad in [
            "-5",
            "1e99",
            "1e20",
            "3601",
            "99999999999999999999999h",
            "1h1ms",
        ] {
            let e = timeout(bad).unwrap_err();
            assert!(e.contains("timeout"), "{bad}: {e}");
            assert!(stop_timeout(bad).is_err(), "{bad}");
        }
        assert!(timeout("2h").unwrap_err().contains("0s to 1h"));
    }

    #[test]
    fn any_duration_text_is_in_range_or_refused() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let ran = std::cell::Cell::new(0);
        let mut runner = TestRunner::new(Config {
            cases: 1000,
            failure_persistence: None,
            ..Config::default()
        });
        let text = prop_oneof!["\\PC{0,12}", "[0-9.e+-]{1,8}(ms|s|m|h|d)?"];
        runner
            .run(&text, |text| {
                ran.set(ran.get() + 1);
                if let Ok(d) = interval(&text) {
                    prop_assert!(limits::SAMPLE_INTERVAL.contains(d));
                }
                if let Ok(d) = timeout(&text) {
                    prop_assert!(limits::KILL_TIMEOUT.contains(d));
                }
                if let Ok(d) = stop_timeout(&text) {
                    prop_assert!(limits::STOP_TIMEOUT.contains(d));
                }
                Ok(())
            })
            .unwrap();
        eprintln!("CLI durations: {} cases, none panicked", ran.get());
    }

    #[test]
    fn ports() {
        assert_eq!(port("8080").unwrap(), 8080);
        for bad in ["0", "65536", "-1", "http", "99999999999999999999"] {
            assert!(port(bad).is_err(), "{bad}");
        }
    }
}
