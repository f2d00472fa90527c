//! Parsers for the humane values users type (durations, sizes, restart counts, `KEY=VALUE`
//! pairs and env files) and [`duration_ms`], the serialized form of durations. CLI flags,
//! procward.toml and stored specs all go through these, so every interface accepts the
//! same spellings and reports the same errors.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{SpecError, invalid};

/// Parses `--max-restarts`: a count, or `unlimited` (`None`).
pub fn parse_max_restarts(s: &str) -> Result<Option<u32>, SpecError> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| {
        invalid(
            "max_restarts",
            format!("{s:?}: use a count 0-4294967295 or \"unlimited\""),
        )
    })
}

/// Parses one `--env KEY=VALUE` (the value may be empty and may contain `=`).
pub fn parse_env_pair(s: &str) -> Result<(String, String), SpecError> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| invalid("env", format!("{s:?}: expected KEY=VALUE")))?;
    if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c == '\0') {
        return Err(invalid(
            "env",
            format!("{s:?}: the name before '=' must be non-empty without whitespace"),
        ));
    }
    if value.contains('\0') {
        return Err(invalid(
            "env",
            format!("value of {key} contains a NUL byte"),
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Parses an `--env-file` / `env_file`: `KEY=VALUE` lines, `#` comments, blank lines, an
/// optional `export ` prefix, `'single'` (literal) or `"double"` quoted values (with `\n`,
/// `\t`, `\r`, `\"`, `\\` and `\$` escapes), and ` # comments` after unquoted values. A later
/// line overrides an earlier one. Errors name the 1-based line.
pub fn parse_env_file(text: &str) -> Result<BTreeMap<String, String>, SpecError> {
    let mut vars = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason: String| SpecError::EnvFile {
            line: i + 1,
            reason,
        };
        let line = line
            .strip_prefix("export")
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map_or(line, str::trim_start);
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| err("expected KEY=VALUE".into()))?;
        let key = key.trim_end();
        if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c == '\0') {
            return Err(err(format!(
                "name {key:?} must be non-empty without whitespace"
            )));
        }
        let value = env_value(value.trim_start()).map_err(err)?;
        if value.contains('\0') {
            return Err(err(format!("value of {key} contains a NUL byte")));
        }
        vars.insert(key.to_owned(), value);
    }
    Ok(vars)
}

fn env_value(raw: &str) -> Result<String, String> {
    let (value, rest) = if let Some(body) = raw.strip_prefix('\'') {
        let end = body.find('\'').ok_or("unterminated single quote")?;
        (body[..end].to_owned(), &body[end + 1..])
    } else if let Some(body) = raw.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        loop {
            match chars.next().ok_or("unterminated double quote")? {
                (end, '"') => break (out, &body[end + 1..]),
                (_, '\\') => match chars.next().ok_or("unterminated double quote")?.1 {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    c @ ('"' | '\\' | '$') => out.push(c),
                    c => out.extend(['\\', c]),
                },
                (_, c) => out.push(c),
            }
        }
    } else {
        let end = raw
            .find(" #")
            .or_else(|| raw.find("\t#"))
            .unwrap_or(raw.len());
        return Ok(raw[..end].trim_end().to_owned());
    };
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(value)
    } else {
        Err(format!("unexpected text {rest:?} after the closing quote"))
    }
}

/// Parses a humane duration: a number with a unit (`ms`, `s`, `m`, `h`, `d`), decimals and
/// sums allowed (`500ms`, `1.5s`, `1m30s`); a bare number is seconds. Negative, empty and
/// overflowing values are refused.
pub fn parse_duration(input: &str) -> Result<Duration, SpecError> {
    parse_duration_reason(input).map_err(|reason| invalid("duration", reason))
}

pub(crate) fn parse_duration_reason(input: &str) -> Result<Duration, String> {
    let bad = |why: String| {
        format!("{input:?}: {why}; use a number with a unit such as 500ms, 10s, 1.5m, 2h or 1m30s")
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if s.starts_with('-') {
        return Err(bad("negative durations are not allowed".into()));
    }
    let mut rest = s;
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'));
        let (num, tail) = rest.split_at(n.unwrap_or(rest.len()));
        let tail = tail.trim_start();
        let u = tail.find(|c: char| !c.is_ascii_alphabetic());
        let (unit, tail) = tail.split_at(u.unwrap_or(tail.len()));
        let scale: u128 = match unit {
            "" if num.len() == s.len() => 1_000_000_000,
            "" if num.is_empty() => {
                let c = tail.chars().next().unwrap_or_default();
                return Err(bad(format!("unexpected {c:?}")));
            }
            "" => return Err(bad(format!("missing unit after {num}"))),
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            _ => return Err(bad(format!("unknown unit {unit:?}"))),
        };
        let part = decimal_times(num, scale).ok_or_else(|| bad(format!("bad number {num:?}")))?;
        nanos = nanos
            .checked_add(part)
            .ok_or_else(|| bad("too large".into()))?;
        rest = tail.trim_start();
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| bad("too large".into()))?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// `num` (digits, optionally with a fraction) times `scale`, or `None` if malformed.
fn decimal_times(num: &str, scale: u128) -> Option<u128> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac = &frac[..frac.len().min(12)];
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let frac_part = frac_value * scale / 10u128.pow(frac.len() as u32);
    int.checked_mul(scale)?.checked_add(frac_part)
}

/// Formats a duration the way [`parse_duration`] reads it: `500ms`, `1500ms`, `10s`,
/// `1m30s`, `2h`, `1d` (sub-millisecond parts are dropped).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    let (mut secs, rem) = (ms / 1000, ms % 1000);
    if rem > 0 || secs == 0 {
        return format!("{ms}{}", if ms == 0 { "s" } else { "ms" });
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Parses a size: bytes as a bare number, or with a unit in the GNU coreutils convention:
/// `K`, `M`, `G`, `T` and `KiB`, `MiB`, `GiB`, `TiB` are powers of 1024; `KB`, `MB`,
/// `GB`, `TB` powers of 1000 (`B` is bytes; case-insensitive; decimals allowed).
pub fn parse_size(input: &str) -> Result<u64, SpecError> {
    let s = input.trim();
    let bad = |why: &str| {
        invalid(
            "size",
            format!("{input:?}: {why}; use bytes or a unit such as 512KiB, 10MB or 1G"),
        )
    };
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'));
    let (num, unit) = s.split_at(split.unwrap_or(s.len()));
    let unit = unit.trim();
    let scale: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ if s.starts_with('-') => return Err(bad("negative sizes are not allowed")),
        _ => return Err(bad(&format!("unknown unit {unit:?}"))),
    };
    let bytes = decimal_times(num, scale).ok_or_else(|| bad("not a number"))?;
    u64::try_from(bytes).map_err(|_| bad("too large"))
}

/// Serde helpers writing a [`Duration`] as whole milliseconds and reading milliseconds or
/// a humane string (`"10s"`), so stored specs stay exact and hand-written JSON readable.
pub mod duration_ms {
    use std::fmt;
    use std::time::Duration;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    /// Writes whole milliseconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Reads milliseconds (an integer) or a humane string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(Millis)
    }

    struct Millis;

    impl Visitor<'_> for Millis {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("milliseconds or a duration such as \"10s\"")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_millis(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_millis)
                .map_err(|_| E::custom("negative durations are not allowed"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            super::parse_duration_reason(v).map_err(E::custom)
        }
    }
}

#[cfg(test)]
mod tests;
