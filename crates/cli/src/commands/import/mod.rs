//! `procward import FILE`: another tool's process file as a procward.toml. pm2 ecosystem
//! files (JS evaluated by `node`, JSON, YAML) and process-compose YAML are read into JSON
//! values, converted by [`pm2`] or [`compose`] (what maps is converted, what does not is
//! listed with the reason), written by [`toml_out`] and checked by procward's own parser
//! before anything is printed or written: what `import` prints, `up` accepts.

use std::path::{Path, PathBuf};

use super::Context;
use crate::exit;

mod common;
mod compose;
mod compose_probe;
mod pm2;
mod pm2_fields;
mod source;
mod toml_out;

use common::Paths;
use source::{Input, load};
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
    let text = render(&conversion, &header);
    if let Err(e) = self_check(&text, paths.base()) {
        anyhow::bail!(
            "the converted file does not parse ({e}); this is a bug in procward import:\n{text}"
        );
    }
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
