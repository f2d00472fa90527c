//! `procward import FILE`: another tool's process file as a procward.toml. pm2 ecosystem
//! files (JS evaluated by `node`, JSON, YAML) and process-compose YAML are read into JSON
//! values, converted by [`pm2`] or [`compose`] (what maps is converted, what does not is
//! listed with the reason), written by [`toml_out`] and checked by procward's own parser
//! before anything is printed or written: what `import` prints, `up` accepts.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use procward_core::supervisor::spec::read_config_file;
use serde_json::Value;

use super::Context;
use crate::exit;

mod common;
mod compose;
mod pm2;
mod toml_out;

use common::Paths;
use toml_out::{Conversion, render, self_check};

/// Arguments of `procward import`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  procward import ecosystem.config.js > procward.toml
  procward import pm2.json --env production -o procward.toml
  procward import process-compose.yaml -o procward.toml --force
  procward import stack.yml --from process-compose --json

The converted file goes to stdout (or -o FILE); what could not be converted is listed
on stderr as \"not converted:\" with the app, the field and why. JS files are evaluated
with node (which must be on PATH). Exit codes: 0 converted (even with fields left out),
2 unreadable, malformed or unknown file, no apps, node failed, or -o FILE exists.")]
pub struct Args {
    /// The file: ecosystem.config.js/.cjs/.mjs, pm2 JSON or YAML, or process-compose YAML.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The source format, when the file's name and contents do not tell.
    #[arg(long, value_enum, value_name = "FORMAT")]
    from: Option<Format>,
    /// pm2: merge the app's `env_NAME` over its `env` (as `pm2 start --env NAME`).
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    /// Write the procward.toml to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Overwrite the -o FILE if it exists.
    #[arg(long, requires = "output")]
    force: bool,
    /// How long node may take to evaluate a JS file, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    node_timeout: u64,
    /// Print JSON: {"toml", "skipped": [{process, field, reason}], "renamed", "notes"}.
    #[arg(long)]
    json: bool,
}

/// The tools whose files `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// pm2 ecosystem files.
    Pm2,
    /// process-compose.yaml.
    ProcessCompose,
}

impl Format {
    fn label(self) -> &'static str {
        match self {
            Format::Pm2 => "pm2",
            Format::ProcessCompose => "process-compose",
        }
    }
}

/// Why a file cannot be imported; every one means nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read (missing, not a regular file, too large, not UTF-8).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid JSON or YAML.
    #[error("{}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The parser's words.
        message: String,
    },
    /// Neither pm2 nor process-compose.
    #[error(
        "{}: unknown format: {why}; pass --from pm2 or --from process-compose",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// What was looked for.
        why: String,
    },
    /// The file holds no app or process.
    #[error("{}: no {what} to convert", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// `pm2 apps` or `process-compose processes`.
        what: &'static str,
    },
    /// `node` could not be run.
    #[error(
        "node is needed to evaluate {} but could not be run ({source}); install Node.js, or \
         convert the file to JSON first",
        path.display()
    )]
    NodeMissing {
        /// The file.
        path: PathBuf,
        /// Why it could not be run.
        source: std::io::Error,
    },
    /// node exited with an error.
    #[error("node could not evaluate {}: {message}", path.display())]
    NodeFailed {
        /// The file.
        path: PathBuf,
        /// The end of node's stderr.
        message: String,
    },
    /// node ran past `--node-timeout`.
    #[error("node did not finish evaluating {} within {secs}s (--node-timeout)", path.display())]
    NodeTimeout {
        /// The file.
        path: PathBuf,
        /// The limit.
        secs: u64,
    },
    /// `-o FILE` exists and `--force` was not given.
    #[error("{} exists: pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    /// An option that does not apply to this file.
    #[error("{0}")]
    Option(String),
}

/// Runs `procward import`.
pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<u8> {
    let refused = |e: ImportError| super::start::invalid(e);
    if let Some(out) = &args.output
        && out.exists()
        && !args.force
    {
        return Err(refused(ImportError::Exists(out.clone())));
    }
    let (format, input) = load(&args).map_err(refused)?;
    let paths = paths(&args)?;
    let conversion = match (format, input) {
        (Format::Pm2, Input::Pm2(apps, rest)) => {
            let options = pm2::Options {
                env: args.env.as_deref(),
                cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
                paths: &paths,
            };
            pm2::convert(&apps, &rest, &options)
        }
        (_, Input::Compose { root, order }) => {
            if let Some(env) = &args.env {
                let why =
                    format!("--env {env} applies to pm2 files; process-compose has no env_NAME");
                return Err(refused(ImportError::Option(why)));
            }
            compose::convert(&root, &order, &paths)
        }
        (_, Input::Pm2(..)) => unreachable!("load pairs pm2 input with the pm2 format"),
    };
    let what = match format {
        Format::Pm2 => "pm2 apps",
        Format::ProcessCompose => "process-compose processes",
    };
    if conversion.processes.is_empty() {
        report(&conversion, &args);
        let path = args.file.clone();
        return Err(refused(ImportError::Empty { path, what }));
    }
    let source = args.file.file_name().unwrap_or(args.file.as_os_str());
    let header = format!(
        "procward.toml converted by `procward import` from {} ({}); see the \"not converted\" comments",
        source.to_string_lossy(),
        format.label()
    );
    let check = render(&conversion, &header, false);
    if let Err(e) = self_check(&check, paths.base()) {
        anyhow::bail!(
            "the converted file does not parse ({e}); this is a bug in procward import:\n{check}"
        );
    }
    let text = render(&conversion, &header, true);
    if let Some(out) = &args.output {
        write_new(out, &text, args.force)?;
    }
    if args.json {
        let json = serde_json::json!({
            "toml": text,
            "format": format.label(),
            "skipped": conversion.skipped,
            "renamed": conversion.renamed,
            "notes": conversion.notes,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        if args.output.is_none() {
            print!("{text}");
        }
        report(&conversion, &args);
    }
    Ok(exit::OK)
}

/// The lists on stderr: renamed, notes, not converted.
fn report(conversion: &Conversion, args: &Args) {
    if args.json {
        return;
    }
    let mut out = String::new();
    if let Some(path) = &args.output {
        let n = conversion.processes.len();
        out += &format!("procward: wrote {n} process(es) to {}\n", path.display());
    }
    if !conversion.renamed.is_empty() {
        out += "renamed (procward names are 1-64 letters, digits, '.', '_' or '-'):\n";
        for r in &conversion.renamed {
            out += &format!("  {:?} -> {}\n", r.from, r.to);
        }
    }
    for (title, list) in [
        ("notes:", &conversion.notes),
        ("not converted:", &conversion.skipped),
    ] {
        if !list.is_empty() {
            out += title;
            out += "\n";
            for s in list {
                let field = if s.field.is_empty() {
                    String::new()
                } else {
                    format!(" {}", s.field)
                };
                out += &format!("  {}:{field}: {}\n", s.process, s.reason);
            }
        }
    }
    eprint!("{out}");
}

/// Writes `text` to `path` through a temporary file in the same folder, so a failure
/// leaves no half-written file; refuses an existing file unless `force`.
fn write_new(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        return Err(super::start::invalid(ImportError::Exists(path.to_owned())));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.import-{}", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::anyhow!("cannot write {}: {e}", path.display())
        })
}

fn paths(args: &Args) -> anyhow::Result<Paths> {
    let folder = |file: &Path| -> anyhow::Result<PathBuf> {
        let absolute = std::path::absolute(file)?;
        Ok(absolute.parent().unwrap_or(Path::new("/")).to_owned())
    };
    Ok(Paths {
        source_dir: folder(&args.file)?,
        output_dir: args.output.as_deref().map(folder).transpose()?,
    })
}

/// A file's contents, ready to convert.
enum Input {
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
fn load(args: &Args) -> Result<(Format, Input), ImportError> {
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
