//! Argument checks shared by the engine's requests, so every door refuses the same input
//! with the same words.

use std::time::Duration;

use procward_core::Signal;

use super::error::EngineError;

/// Longest duration any request may ask for (a monitor interval, a kill's grace period).
pub const MAX_SECONDS: f64 = 3600.0;

/// Seconds as a duration within `min..=MAX_SECONDS`, or a refusal naming `field`.
pub fn seconds(field: &str, value: f64, min: f64) -> Result<Duration, EngineError> {
    if !value.is_finite() || value < min || value > MAX_SECONDS {
        return Err(EngineError::Invalid(format!(
            "{field} must be between {min} and {MAX_SECONDS} seconds (got {value})"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

/// A pid to look at: 0 and values that are not PIDs are refused.
pub fn pid_to_read(pid: u32) -> Result<u32, EngineError> {
    if pid == 0 || pid > i32::MAX as u32 {
        return Err(EngineError::Invalid(format!(
            "pid must be between 1 and {} (got {pid})",
            i32::MAX
        )));
    }
    Ok(pid)
}

/// A kill's signal: absent means SIGTERM; an empty (or blank) string is a mistake, not a
/// default, and is refused naming the field.
pub fn signal_field(signal: Option<&str>) -> Result<Signal, EngineError> {
    match signal {
        None => Ok(Signal::TERM),
        Some(text) if text.trim().is_empty() => Err(EngineError::Invalid(
            "signal must be a signal name or number (TERM, HUP, KILL, 9, ...), not empty; \
             leave it out for SIGTERM"
                .into(),
        )),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|e: procward_core::Error| EngineError::Invalid(format!("signal: {e}"))),
    }
}

/// A listening-socket family: tcp, udp, tcp6, udp6, or empty for all.
pub fn family(protocol: &str) -> Result<String, EngineError> {
    let family = protocol.trim().to_ascii_lowercase();
    match family.as_str() {
        "" | "tcp" | "udp" | "tcp6" | "udp6" => Ok(family),
        other => Err(EngineError::Invalid(format!(
            "protocol must be tcp, udp, tcp6, udp6 or empty (got '{other}')"
        ))),
    }
}

/// A port number, 1-65535.
pub fn port_number(port: u32) -> Result<u16, EngineError> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| EngineError::Invalid(format!("port must be 1-65535 (got {port})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_field_and_the_bounds() {
        assert!(seconds("interval_seconds", 0.05, 0.1).is_err());
        assert!(seconds("interval_seconds", f64::NAN, 0.1).is_err());
        assert!(seconds("timeout_seconds", 3600.5, 0.0).is_err());
        assert_eq!(seconds("t", 1.5, 0.0).unwrap(), Duration::from_millis(1500));
        let why = pid_to_read(0).unwrap_err().to_string();
        assert!(why.starts_with("pid must be between 1 and"), "{why}");
        assert!(pid_to_read(u32::MAX).is_err());
        assert_eq!(signal_field(None).unwrap(), Signal::TERM);
        assert!(
            signal_field(Some(" "))
                .unwrap_err()
                .to_string()
                .contains("not empty")
        );
        assert!(
            signal_field(Some("NOPE"))
                .unwrap_err()
                .to_string()
                .starts_with("signal:")
        );
        assert_eq!(family(" TCP ").unwrap(), "tcp");
        assert!(family("sctp").is_err());
        assert!(port_number(0).is_err() && port_number(65_536).is_err());
        assert_eq!(port_number(8080).unwrap(), 8080);
    }
}
