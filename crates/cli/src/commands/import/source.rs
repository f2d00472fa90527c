//! Reading the file to convert: JSON, YAML (with anchors merged and the processes' file
//! order kept) or a pm2 JS file evaluated by node with a time limit, then classified as
//! pm2 or process-compose by `--from` or by what it holds.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use procward_core::supervisor::spec::read_config_file;
use serde_json::Value;

use super::{Args, Format, ImportError};

/// A file's contents, ready to convert.
pub enum Input {
    /// pm2's apps, and the file's other top-level keys (`deploy`, ...).
    Pm2(Vec<Value>, serde_json::Map<String, Value>),
    /// process-compose's top level, with the processes' names in file order.
    Compose {
        root: serde_json::Map<String, Value>,
        order: Vec<String>,
    },
}

/// Reads and classifies the file: by `--from`, else by content (`processes:` is
/// process-compose, `apps:` or an array is pm2); JS files are evaluated by node.
pub fn load(args: &Args) -> Result<(Format, Input), ImportError> {
    let path = &args.file;
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let read = || {
        read_config_file(path).map_err(|source| ImportError::Read {
            path: path.clone(),
            source,
        })
    };
    let malformed = |message: String| ImportError::Malformed {
        path: path.clone(),
        message,
    };
    let (value, order) = match ext.as_str() {
        "js" | "cjs" | "mjs" => {
            read()?;
            (eval_js(path, args.node_timeout)?, None)
        }
        "json" => {
            let text = read()?;
            let value = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
            (value, None)
        }
        _ => {
            let text = read()?;
            let yaml = yaml(&text).map_err(malformed)?;
            let order = process_order(&yaml);
            let value = serde_json::to_value(&yaml).map_err(|e| malformed(e.to_string()))?;
            (value, order)
        }
    };
    classify(value, order, args.from, path)
}

/// YAML (JSON is YAML too), with `<<: *anchor` merges applied.
fn yaml(text: &str) -> Result<serde_norway::Value, String> {
    let mut value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    value.apply_merge().map_err(|e| e.to_string())?;
    Ok(value)
}

/// The names under `processes:` in file order (JSON objects lose it).
fn process_order(yaml: &serde_norway::Value) -> Option<Vec<String>> {
    let processes = yaml.get("processes")?.as_mapping()?;
    Some(
        processes
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
    )
}

fn classify(
    value: Value,
    order: Option<Vec<String>>,
    from: Option<Format>,
    path: &Path,
) -> Result<(Format, Input), ImportError> {
    let looks = match (&value, from) {
        (_, Some(format)) => format,
        (Value::Object(o), None) if o.contains_key("processes") => Format::ProcessCompose,
        (Value::Object(o), None) if o.contains_key("apps") => Format::Pm2,
        (Value::Array(_), None) => Format::Pm2,
        _ => {
            return Err(ImportError::UnknownFormat {
                path: path.to_owned(),
                why: "no `apps` (pm2) or `processes` (process-compose) at the top".into(),
            });
        }
    };
    let empty = |what| ImportError::Empty {
        path: path.to_owned(),
        what,
    };
    match looks {
        Format::Pm2 => {
            let (apps, rest) = match value {
                Value::Array(apps) => (apps, serde_json::Map::new()),
                Value::Object(mut o) => match o.remove("apps") {
                    Some(Value::Array(apps)) => (apps, o),
                    // One app as an object, as pm2 also accepts.
                    Some(app @ Value::Object(_)) => (vec![app], o),
                    None if o.contains_key("script") => {
                        (vec![Value::Object(o)], Default::default())
                    }
                    _ => Default::default(),
                },
                _ => Default::default(),
            };
            if apps.is_empty() {
                return Err(empty("pm2 apps"));
            }
            Ok((Format::Pm2, Input::Pm2(apps, rest)))
        }
        Format::ProcessCompose => {
            let Value::Object(root) = value else {
                return Err(empty("process-compose processes"));
            };
            let processes = root.get("processes").and_then(Value::as_object);
            if processes.is_none_or(|p| p.is_empty()) {
                return Err(empty("process-compose processes"));
            }
            let order = order.unwrap_or_else(|| {
                processes
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone())
                    .collect()
            });
            Ok((Format::ProcessCompose, Input::Compose { root, order }))
        }
    }
}

/// Evaluates a pm2 JS file with node and returns what it exports, as JSON. The config
/// is loaded with `import()`, which reads CommonJS (`module.exports`) and ES modules
/// (`export default`) alike; functions and other values JSON cannot hold are dropped.
const EVAL_JS: &str = r#"
const { pathToFileURL } = require('url');
import(pathToFileURL(process.argv[1]).href).then((m) => {
  const config = m.default !== undefined ? m.default : { ...m };
  process.stdout.write(JSON.stringify(config === undefined ? null : config));
}).catch((e) => {
  process.stderr.write(String((e && e.stack) || e));
  process.exit(1);
});
"#;

/// Output of node beyond this is not a config (16 MiB).
const MAX_NODE_OUTPUT: u64 = 16 << 20;

fn eval_js(path: &Path, timeout_secs: u64) -> Result<Value, ImportError> {
    use std::os::unix::process::CommandExt as _;
    let absolute = std::path::absolute(path).map_err(|source| ImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let failed = |message: String| ImportError::NodeFailed {
        path: path.to_owned(),
        message,
    };
    let mut child = Command::new("node")
        .arg("-e")
        .arg(EVAL_JS)
        .arg(&absolute)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| ImportError::NodeMissing {
            path: path.to_owned(),
            source,
        })?;
    let pipe = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(r) = r {
                let _ = r.take(MAX_NODE_OUTPUT).read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = pipe(child.stdout.take().map(|s| Box::new(s) as _));
    let stderr = pipe(child.stderr.take().map(|s| Box::new(s) as _));
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                // node and whatever the config started: the group is ours (process_group(0)).
                if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                }
                let _ = child.wait();
                return Err(ImportError::NodeTimeout {
                    path: path.to_owned(),
                    secs: timeout_secs,
                });
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    if !status.success() {
        // The error line and the first frames are what a user needs.
        let message: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(6)
            .collect();
        return Err(failed(if message.is_empty() {
            format!("node exited with {status}")
        } else {
            message.join("\n")
        }));
    }
    serde_json::from_slice(&stdout).map_err(|e| failed(format!("its output is not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_content_and_flag() {
        let path = Path::new("x");
        let pc = serde_json::json!({"processes": {"a": {"command": "true"}}});
        let (f, _) = classify(pc.clone(), None, None, path).unwrap();
        assert_eq!(f, Format::ProcessCompose);
        let (f, _) = classify(serde_json::json!([{"script": "a.js"}]), None, None, path).unwrap();
        assert_eq!(f, Format::Pm2);
        let e = classify(pc, None, Some(Format::Pm2), path).err().unwrap();
        assert!(e.to_string().contains("no pm2 apps"), "{e}");
        let e = classify(serde_json::json!({"a": 1}), None, None, path)
            .err()
            .unwrap();
        assert!(e.to_string().contains("--from"), "{e}");
        let e = classify(serde_json::json!({"apps": []}), None, None, path)
            .err()
            .unwrap();
        assert!(e.to_string().contains("no pm2 apps"), "{e}");
    }

    #[test]
    fn yaml_keeps_order_and_merges_anchors() {
        let text = "x-base: &base\n  working_dir: /srv\nprocesses:\n  zeta:\n    <<: *base\n    command: a\n  alpha:\n    command: b\n";
        let value = yaml(text).unwrap();
        assert_eq!(process_order(&value).unwrap(), ["zeta", "alpha"]);
        let json = serde_json::to_value(&value).unwrap();
        assert_eq!(json["processes"]["zeta"]["working_dir"], "/srv");
        assert!(yaml("processes: [unclosed").is_err());
    }
}
