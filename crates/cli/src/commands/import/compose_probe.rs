//! process-compose probes as procward checks: `liveness_probe` becomes `health` (a
//! failing one restarts the process), `readiness_probe` becomes `readiness`.

use serde_json::Value;
use toml::Value as Toml;

use super::common::{integer, shown, text};
use super::toml_out::Conversion;

/// A probe as a procward check table (`health` or `readiness`), with process-compose's
/// defaults (every 10 s, 1 s timeout, 3 failures) written out.
pub(super) fn probe(
    value: &Value,
    n: &str,
    field: &str,
    c: &mut Conversion,
) -> Result<toml::Table, String> {
    let obj = value
        .as_object()
        .ok_or_else(|| format!("not a mapping ({})", shown(value)))?;
    let mut t = toml::Table::new();
    if let Some(exec) = obj.get("exec") {
        let command = exec
            .get("command")
            .and_then(text)
            .ok_or("exec without a command")?;
        if exec.get("working_dir").is_some() {
            c.skip(
                n,
                &format!("{field}.exec.working_dir"),
                "procward runs probe commands in the process's cwd",
            );
        }
        t.insert("command".into(), Toml::String(command));
    } else if let Some(http) = obj.get("http_get") {
        let scheme = http
            .get("scheme")
            .and_then(text)
            .unwrap_or_else(|| "http".into());
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(format!(
                "procward's http probe speaks plain http, not {scheme}"
            ));
        }
        let host = http
            .get("host")
            .and_then(text)
            .unwrap_or_else(|| "127.0.0.1".into());
        let port = http
            .get("port")
            .and_then(integer)
            .ok_or("http_get without a numeric port")?;
        let path = http
            .get("path")
            .and_then(text)
            .unwrap_or_else(|| "/".into());
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        t.insert(
            "http".into(),
            Toml::String(format!("http://{host}:{port}{path}")),
        );
        for extra in http.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !matches!(extra.as_str(), "scheme" | "host" | "port" | "path") {
                c.skip(
                    n,
                    &format!("{field}.http_get.{extra}"),
                    "procward's http probe sends a plain GET",
                );
            }
        }
    } else {
        return Err("neither exec nor http_get".into());
    }
    let secs = |key: &str, default: i64| {
        let s = obj.get(key).and_then(integer).unwrap_or(default);
        Toml::String(format!("{}s", s.max(0)))
    };
    t.insert("interval".into(), secs("period_seconds", 10));
    t.insert("timeout".into(), secs("timeout_seconds", 1));
    let retries = obj.get("failure_threshold").and_then(integer).unwrap_or(3);
    t.insert("retries".into(), Toml::Integer(retries));
    if obj.contains_key("initial_delay_seconds") {
        t.insert("start_period".into(), secs("initial_delay_seconds", 0));
    }
    if let Some(v) = obj
        .get("success_threshold")
        .filter(|v| integer(v) != Some(1))
    {
        c.skip(
            n,
            &format!("{field}.success_threshold"),
            format!("procward counts one success ({})", shown(v)),
        );
    }
    Ok(t)
}
