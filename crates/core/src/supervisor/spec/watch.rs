//! Restart on file change (`watch = ["src/**/*.py"]`, `procward start --watch`): which
//! files count, compiled once. Patterns are globs relative to the process's working
//! directory (absolute ones stay as they are); a pattern without a `/` in `watch_ignore`
//! matches that name anywhere (`*.log`). Version-control, dependency and build folders
//! and editors' swap files are ignored unless watched on purpose.
//!
//! The plan also says which directories to watch: the literal part of each pattern
//! (`src` for `src/**/*.py`), walked for its subfolders except ignored ones, so a
//! `node_modules` under the root costs no inotify watch.

use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::{SpecError, invalid};

/// What is never worth a restart, whatever the patterns say.
pub const DEFAULT_IGNORES: &[&str] = &[
    "**/.git/**",
    "**/.hg/**",
    "**/node_modules/**",
    "**/target/**",
    "**/__pycache__/**",
    "**/.venv/**",
    "**/*.swp",
    "**/*.swx",
    "**/*~",
    "**/.#*",
];

/// Most patterns in `watch` and in `watch_ignore` each.
pub const MAX_WATCH_PATTERNS: usize = 64;

/// The compiled `watch` and `watch_ignore` of a process.
#[derive(Debug, Clone)]
pub struct WatchPlan {
    /// Directories to watch, each with whether its subfolders are watched too.
    pub roots: Vec<(PathBuf, bool)>,
    watched: GlobSet,
    ignored: GlobSet,
}

impl WatchPlan {
    /// Compiles the patterns against `cwd`; an empty or malformed pattern, or too many,
    /// is an error naming the field.
    pub fn new(watch: &[String], ignore: &[String], cwd: &Path) -> Result<Self, SpecError> {
        for (field, patterns) in [("watch", watch), ("watch_ignore", ignore)] {
            if patterns.len() > MAX_WATCH_PATTERNS {
                return Err(invalid(
                    field,
                    format!(
                        "{} patterns, over the limit of {MAX_WATCH_PATTERNS}",
                        patterns.len()
                    ),
                ));
            }
        }
        let mut roots = Vec::new();
        let mut watched = GlobSetBuilder::new();
        for pattern in watch {
            let absolute = anchored(pattern, cwd, "watch")?;
            watched.add(glob(&absolute, "watch")?);
            let (root, recursive) = literal_root(Path::new(&absolute));
            if !roots.contains(&(root.clone(), recursive)) {
                roots.push((root, recursive));
            }
        }
        let mut ignored = GlobSetBuilder::new();
        for pattern in DEFAULT_IGNORES {
            ignored.add(glob(pattern, "watch_ignore")?);
        }
        for pattern in ignore {
            let anywhere = !pattern.contains('/');
            let full = if anywhere {
                check(pattern, "watch_ignore")?;
                format!("**/{pattern}")
            } else {
                anchored(pattern, cwd, "watch_ignore")?
            };
            ignored.add(glob(&full, "watch_ignore")?);
            // An ignored folder's contents too.
            ignored.add(glob(&format!("{full}/**"), "watch_ignore")?);
        }
        let build =
            |set: GlobSetBuilder, field| set.build().map_err(|e| invalid(field, e.to_string()));
        Ok(Self {
            roots,
            watched: build(watched, "watch")?,
            ignored: build(ignored, "watch_ignore")?,
        })
    }

    /// Whether a change to `path` restarts the process.
    pub fn matches(&self, path: &Path) -> bool {
        self.watched.is_match(path) && !self.ignored.is_match(path)
    }

    /// Whether the folder `dir` is ignored (not walked, not watched).
    pub fn ignores_dir(&self, dir: &Path) -> bool {
        self.ignored.is_match(dir) || self.ignored.is_match(dir.join("x"))
    }
}

fn check(pattern: &str, field: &'static str) -> Result<(), SpecError> {
    if pattern.trim().is_empty() || pattern.contains('\0') {
        return Err(invalid(field, "a pattern is empty or contains a NUL byte"));
    }
    Ok(())
}

/// `pattern` as an absolute glob: joined to `cwd` unless it is absolute.
fn anchored(pattern: &str, cwd: &Path, field: &'static str) -> Result<String, SpecError> {
    check(pattern, field)?;
    let path = Path::new(pattern);
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(invalid(
            field,
            format!("'{pattern}': '..' is not allowed; give an absolute path instead"),
        ));
    }
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path.strip_prefix("./").unwrap_or(path))
    };
    Ok(joined.to_string_lossy().into_owned())
}

fn glob(pattern: &str, field: &'static str) -> Result<Glob, SpecError> {
    // `literal_separator`: `*` stays within one folder, `**` crosses folders.
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| invalid(field, format!("'{pattern}': {e}")))
}

/// The folder to watch for `pattern`: its components before the first with a glob
/// character, watched with its subfolders when the rest has more than one component or
/// a `**`; for a plain file, its folder alone.
fn literal_root(pattern: &Path) -> (PathBuf, bool) {
    let is_glob = |c: &Component| {
        c.as_os_str()
            .to_string_lossy()
            .contains(['*', '?', '[', '{'])
    };
    let components: Vec<Component> = pattern.components().collect();
    match components.iter().position(is_glob) {
        None => {
            let parent = pattern.parent().unwrap_or(Path::new("/"));
            (parent.to_path_buf(), false)
        }
        Some(first) => {
            let root: PathBuf = components[..first].iter().collect();
            let rest = &components[first..];
            let deep = rest.len() > 1 || rest.iter().any(|c| c.as_os_str() == "**");
            (root, deep)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(watch: &[&str], ignore: &[&str]) -> WatchPlan {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        WatchPlan::new(&owned(watch), &owned(ignore), Path::new("/app")).unwrap()
    }

    #[test]
    fn patterns_are_relative_to_the_working_directory() {
        let p = plan(&["src/**/*.py", "config.toml"], &[]);
        assert!(p.matches(Path::new("/app/src/a.py")));
        assert!(p.matches(Path::new("/app/src/deep/er/b.py")));
        assert!(p.matches(Path::new("/app/config.toml")));
        assert!(!p.matches(Path::new("/app/src/a.txt")));
        assert!(!p.matches(Path::new("/app/other/config.toml")));
        assert_eq!(
            p.roots,
            [
                (PathBuf::from("/app/src"), true),
                (PathBuf::from("/app"), false)
            ]
        );
        let star = plan(&["*.txt"], &[]);
        assert!(star.matches(Path::new("/app/a.txt")));
        assert!(
            !star.matches(Path::new("/app/sub/a.txt")),
            "* stays in one folder"
        );
        assert_eq!(star.roots, [(PathBuf::from("/app"), false)]);
    }

    #[test]
    fn ignores_win_and_defaults_skip_the_usual_noise() {
        let p = plan(&["**/*"], &["*.log", "tmp"]);
        assert!(p.matches(Path::new("/app/main.js")));
        for quiet in [
            "/app/server.log",
            "/app/a/b/c.log",
            "/app/tmp/x.js",
            "/app/node_modules/x/index.js",
            "/app/.git/HEAD",
            "/app/target/debug/x",
            "/app/.main.js.swp",
            "/app/main.js~",
        ] {
            assert!(!p.matches(Path::new(quiet)), "{quiet}");
        }
        assert!(p.ignores_dir(Path::new("/app/node_modules")));
        assert!(p.ignores_dir(Path::new("/app/tmp")));
        assert!(!p.ignores_dir(Path::new("/app/src")));
    }

    #[test]
    fn bad_patterns_name_the_field() {
        let bad = |watch: &[&str], ignore: &[&str]| {
            let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            WatchPlan::new(&owned(watch), &owned(ignore), Path::new("/app"))
                .unwrap_err()
                .to_string()
        };
        assert!(bad(&[""], &[]).contains("invalid watch"));
        assert!(bad(&["src/[a"], &[]).contains("invalid watch"));
        assert!(bad(&["../etc/*"], &[]).contains("'..'"));
        assert!(bad(&[], &["{a"]).contains("invalid watch_ignore"));
        let many: Vec<&str> = vec!["a"; 65];
        assert!(bad(&many, &[]).contains("over the limit"));
    }
}
