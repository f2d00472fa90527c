//! Human-readable numbers: sizes, durations, percentages.

/// Bytes with a binary unit: `512B`, `4.0K`, `12.3M`, `1.5G`.
pub fn bytes(value: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if value < 1024 {
        return format!("{value}B");
    }
    let mut size = value as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1}{}", UNITS[unit])
}

/// A duration in its two largest units: `42s`, `5m12s`, `3h05m`, `12d04h`.
pub fn duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

/// A percentage with one decimal.
pub fn percent(value: f32) -> String {
    format!("{value:.1}")
}

/// Milliseconds as `12 ms` or `5.00 s`.
pub fn millis(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.2} s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(4096), "4.0K");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024 / 2), "1.5G");
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(312), "5m12s");
        assert_eq!(duration(3 * 3600 + 300), "3h05m");
        assert_eq!(duration(12 * 86_400 + 4 * 3600), "12d04h");
        assert_eq!(millis(12), "12 ms");
        assert_eq!(millis(5000), "5.00 s");
    }
}
