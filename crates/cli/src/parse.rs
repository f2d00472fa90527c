//! Argument parsers that turn bad input into a message saying what would be right.

use std::time::Duration;

/// A duration such as `200ms`, `0.5s`, `2s` or a bare number of seconds (`0.25`).
fn duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a duration: use e.g. 200ms, 0.5s or 2"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!(
            "'{text}' is negative or not a number: durations must be positive"
        ));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// A CPU sample interval: more than zero and at most a minute.
pub fn interval(text: &str) -> Result<Duration, String> {
    let value = duration(text)?;
    if value < Duration::from_millis(1) {
        return Err(format!(
            "interval '{text}' must be at least 1ms (CPU usage needs a real sample)"
        ));
    }
    if value > Duration::from_secs(60) {
        return Err(format!("interval '{text}' is longer than 60s"));
    }
    Ok(value)
}

/// A kill grace period: zero (escalate at once) up to an hour.
pub fn timeout(text: &str) -> Result<Duration, String> {
    let value = duration(text)?;
    if value > Duration::from_secs(3600) {
        return Err(format!("timeout '{text}' is longer than an hour"));
    }
    Ok(value)
}

/// A TCP/UDP port, 1-65535.
pub fn port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u64>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        Ok(_) => Err(format!("port '{text}' is out of range: use 1-65535")),
        Err(_) => Err(format!("port '{text}' is not a number: use 1-65535")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(interval("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(interval("0.5s").unwrap(), Duration::from_millis(500));
        assert_eq!(interval("2").unwrap(), Duration::from_secs(2));
        for bad in ["0", "-1", "0ms", "abc", "", "NaN", "inf", "61s"] {
            assert!(interval(bad).is_err(), "{bad}");
        }
        assert_eq!(timeout("0").unwrap(), Duration::ZERO);
        assert!(timeout("-5").is_err());
    }

    #[test]
    fn ports() {
        assert_eq!(port("8080").unwrap(), 8080);
        for bad in ["0", "65536", "-1", "http", "99999999999999999999"] {
            assert!(port(bad).is_err(), "{bad}");
        }
    }
}
