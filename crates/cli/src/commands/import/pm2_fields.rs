//! The pm2 options that take more than a copy: restarts and their timing, instances and
//! cluster mode, and watching (pm2 watches paths, procward matches globs).

use serde_json::{Map, Value};
use toml::Value as Toml;

use super::common::{boolean, integer, millis, shown, strings, text};
use super::toml_out::{Conversion, Process, check_field, set_checked};

/// `autorestart`, `max_restarts`, `stop_exit_codes`.
pub(super) fn restart(obj: &Map<String, Value>, p: &mut Process, c: &mut Conversion) {
    let n = p.source_name.clone();
    let never = boolean_field(obj, "autorestart", &n, c) == Some(false);
    if never {
        p.set("restart", "never");
    }
    if let Some(v) = obj.get("max_restarts") {
        let count = integer(v).filter(|n| *n >= 0).map(Toml::Integer);
        set_checked(p, c, "max_restarts", "max_restarts", v, count);
    }
    if let Some(v) = obj.get("stop_exit_codes") {
        let codes: Option<Vec<i64>> = match v {
            Value::Array(items) => items.iter().map(integer).collect(),
            other => integer(other).map(|code| vec![code]),
        };
        match codes {
            Some(codes) if codes.iter().all(|c| (0..=255).contains(c)) && !codes.is_empty() => {
                p.set(
                    "success_exit_codes",
                    Toml::Array(codes.into_iter().map(Toml::Integer).collect()),
                );
                if !never {
                    p.set("restart", "on-failure");
                }
            }
            _ => c.skip(
                &n,
                "stop_exit_codes",
                format!("not exit codes 0-255 ({})", shown(v)),
            ),
        }
    }
}

/// `restart_delay`, `exp_backoff_restart_delay`, `min_uptime`, `kill_timeout`.
pub(super) fn timing(obj: &Map<String, Value>, p: &mut Process, c: &mut Conversion) {
    let n = p.source_name.clone();
    let ms = |field: &str| obj.get(field).map(|v| (v, integer(v).filter(|m| *m >= 0)));
    if let Some((v, delay)) = ms("exp_backoff_restart_delay") {
        // pm2 grows the delay by 1.5 up to 15 s; procward doubles it up to the max.
        let backoff = delay.filter(|d| *d > 0).map(|d| {
            let d = d as u64;
            Toml::String(format!("{}:{}", millis(d), millis(d.max(15_000))))
        });
        set_checked(p, c, "backoff", "exp_backoff_restart_delay", v, backoff);
    } else if let Some((v, delay)) = ms("restart_delay") {
        if delay == Some(0) {
            c.skip(
                &n,
                "restart_delay",
                "0 restarts at once; procward keeps its back-off (1s doubling to 60s)",
            );
        } else {
            let fixed = delay.map(|d| Toml::String(format!("{0}:{0}", millis(d as u64))));
            set_checked(p, c, "backoff", "restart_delay", v, fixed);
        }
    }
    if obj.contains_key("exp_backoff_restart_delay") && obj.contains_key("restart_delay") {
        c.skip(
            &n,
            "restart_delay",
            "exp_backoff_restart_delay is used instead",
        );
    }
    for (field, key) in [
        ("min_uptime", "stable_after"),
        ("kill_timeout", "stop_timeout"),
    ] {
        if let Some((v, value)) = ms(field) {
            // Numbers are milliseconds; strings such as "30s" pass as they are.
            let value = match (value, v) {
                (Some(m), Value::Number(_)) => Some(Toml::String(millis(m as u64))),
                (_, Value::String(s)) if s.trim().parse::<u64>().is_err() => {
                    Some(Toml::String(s.trim().to_owned()))
                }
                (Some(m), _) => Some(Toml::String(millis(m as u64))),
                _ => None,
            };
            set_checked(p, c, key, field, v, value);
        }
    }
}

/// `instances` (a count, or `max`/0/-N for the CPUs, less N); `exec_mode: cluster`.
pub(super) fn instances(obj: &Map<String, Value>, cpus: u32, p: &mut Process, c: &mut Conversion) {
    let n = p.source_name.clone();
    if let Some(v) = obj.get("instances") {
        let count = match v {
            Value::String(s) if s.trim().eq_ignore_ascii_case("max") => Some(0),
            other => integer(other),
        };
        match count {
            Some(k) if (1..=256).contains(&k) => {
                if k > 1 {
                    p.set("instances", k);
                }
            }
            Some(k) if (-256..=0).contains(&k) => {
                let resolved = (i64::from(cpus) + k).clamp(1, 256);
                c.note(
                    &n,
                    "instances",
                    format!("{} is {resolved} on this machine ({cpus} CPUs)", shown(v)),
                );
                if resolved > 1 {
                    p.set("instances", resolved);
                }
            }
            _ => c.skip(
                &n,
                "instances",
                format!("not 1-256, \"max\" or a negative offset ({})", shown(v)),
            ),
        }
    }
    if let Some(mode) = obj.get("exec_mode").and_then(text)
        && mode.starts_with("cluster")
    {
        c.skip(
            &n,
            "exec_mode",
            "cluster mode has no equivalent: procward runs `instances` separate processes, \
             which can share a listening port only if the program sets SO_REUSEPORT",
        );
    }
}

/// `watch` (true: everything under cwd; paths or globs) and `ignore_watch`.
pub(super) fn watch(
    obj: &Map<String, Value>,
    cwd: &std::path::Path,
    p: &mut Process,
    c: &mut Conversion,
) {
    let n = p.source_name.clone();
    let patterns = match obj.get("watch") {
        None | Some(Value::Bool(false)) | Some(Value::Null) => None,
        Some(Value::Bool(true)) => Some(vec!["**/*".to_owned()]),
        Some(v) => strings(v).or_else(|| {
            c.skip(
                &n,
                "watch",
                format!("not true, a path or a list ({})", shown(v)),
            );
            None
        }),
    };
    let Some(patterns) = patterns else {
        if obj.contains_key("ignore_watch") {
            c.skip(&n, "ignore_watch", "nothing is watched");
        }
        return;
    };
    // pm2 watches paths (a folder means all under it); procward matches globs.
    let globs = patterns.iter().map(|pattern| {
        let path = pattern.trim_start_matches("./").trim_end_matches('/');
        let glob = path.contains(['*', '?', '[', '{']) || cwd.join(path).is_file();
        if glob {
            path.to_owned()
        } else {
            format!("{path}/**")
        }
    });
    let kept = checked_list(globs, "watch", &n, c);
    if kept.is_empty() {
        return;
    }
    p.set(
        "watch",
        Toml::Array(kept.into_iter().map(Toml::String).collect()),
    );
    if let Some(v) = obj.get("ignore_watch") {
        let ignores = strings(v).unwrap_or_default();
        let kept = checked_list(ignores.into_iter(), "ignore_watch", &n, c);
        if !kept.is_empty() {
            p.set(
                "watch_ignore",
                Toml::Array(kept.into_iter().map(Toml::String).collect()),
            );
        }
    }
}

/// The patterns procward accepts; each refused one is listed with the parser's reason.
fn checked_list(
    patterns: impl Iterator<Item = String>,
    field: &str,
    n: &str,
    c: &mut Conversion,
) -> Vec<String> {
    let key = if field == "ignore_watch" {
        "watch_ignore"
    } else {
        "watch"
    };
    patterns
        .filter(|pattern| {
            let one = Toml::Array(vec![Toml::String(pattern.clone())]);
            match check_field(key, &one) {
                Ok(()) => true,
                Err(e) => {
                    c.skip(n, field, format!("{pattern:?}: {e}"));
                    false
                }
            }
        })
        .collect()
}

pub(super) fn boolean_field(
    obj: &Map<String, Value>,
    field: &str,
    n: &str,
    c: &mut Conversion,
) -> Option<bool> {
    let v = obj.get(field)?;
    let b = boolean(v);
    if b.is_none() {
        c.skip(n, field, format!("not a boolean ({})", shown(v)));
    }
    b
}
