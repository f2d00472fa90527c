//! What both converters need: procward names from foreign ones, paths that stay right
//! wherever the output is written, and tolerant readers of JSON values (pm2 and
//! process-compose files write numbers as strings and strings as numbers).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use procward_core::supervisor::spec::{MAX_NAME_LEN, validate_name};
use serde_json::Value;

use super::toml_out::{Conversion, Rename};

/// Hands out valid, unique procward names for the source's names.
#[derive(Default)]
pub struct Names {
    used: HashSet<String>,
}

impl Names {
    /// The procward name for `original`: itself when valid and unused, otherwise a
    /// sanitized form (`my app` → `my-app`, then `my-app-2`, ...), recorded as a rename.
    pub fn assign(&mut self, original: &str, conversion: &mut Conversion) -> String {
        let base = sanitize(original);
        let mut name = base.clone();
        let mut n = 2;
        while self.used.contains(&name) {
            let suffix = format!("-{n}");
            let keep = MAX_NAME_LEN - suffix.len();
            name = format!("{}{suffix}", &base[..base.len().min(keep)]);
            n += 1;
        }
        self.used.insert(name.clone());
        if name != original {
            conversion.renamed.push(Rename {
                from: original.to_owned(),
                to: name.clone(),
            });
        }
        name
    }
}

/// `name` under procward's rules ([`validate_name`]): characters other than ASCII
/// letters, digits, `.`, `_` and `-` become `-`, `..` becomes `.`, a leading `.` or `-`
/// goes, and the result is cut to 64 characters (`app` when nothing is left).
pub fn sanitize(name: &str) -> String {
    if validate_name(name).is_ok() {
        return name.to_owned();
    }
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("..") {
        out = out.replace("..", ".");
    }
    let mut out = out.trim_start_matches(['.', '-']).to_owned();
    out.truncate(MAX_NAME_LEN);
    if out.is_empty() { "app".into() } else { out }
}

/// Where the source is and where its procward.toml goes, both absolute. procward.toml
/// resolves relative paths against its own folder, so when it is written elsewhere they
/// are made absolute against the source's folder.
pub struct Paths {
    /// The source file's folder.
    pub source_dir: PathBuf,
    /// The output file's folder (`-o`); `None` for stdout (assumed beside the source).
    pub output_dir: Option<PathBuf>,
}

impl Paths {
    fn moved(&self) -> bool {
        self.output_dir
            .as_ref()
            .is_some_and(|out| *out != self.source_dir)
    }

    /// The `cwd` to write for a source working directory (`None`: the tool's default,
    /// the source's folder).
    pub fn cwd(&self, given: Option<&str>) -> Option<String> {
        match given {
            Some(dir) if Path::new(dir).is_absolute() || !self.moved() => Some(dir.to_owned()),
            Some(dir) => Some(self.source_dir.join(dir).display().to_string()),
            None if self.moved() => Some(self.source_dir.display().to_string()),
            None => None,
        }
    }

    /// The absolute working directory of a process (to look at files in it).
    pub fn absolute_cwd(&self, given: Option<&str>) -> PathBuf {
        given.map_or_else(|| self.source_dir.clone(), |d| self.source_dir.join(d))
    }

    /// The folder the output's relative paths resolve against.
    pub fn base(&self) -> &Path {
        self.output_dir.as_deref().unwrap_or(&self.source_dir)
    }
}

/// A string, or a number or boolean written as text.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A whole number, or a string holding one.
pub fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean, or `"true"`/`"false"`.
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A list of strings: an array, or one string.
pub fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items.iter().map(text).collect(),
        other => text(other).map(|s| vec![s]),
    }
}

/// Milliseconds as a procward duration (`1500ms`, `2s`).
pub fn millis(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A short, one-line rendering of a source value for messages.
pub fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_and_unique() {
        let mut c = Conversion::default();
        let mut names = Names::default();
        assert_eq!(names.assign("api", &mut c), "api");
        assert_eq!(names.assign("my app/v1", &mut c), "my-app-v1");
        assert_eq!(names.assign("my app/v1", &mut c), "my-app-v1-2");
        assert_eq!(names.assign("..hidden..x", &mut c), "hidden.x");
        assert_eq!(names.assign("", &mut c), "app");
        assert_eq!(names.assign("ü", &mut c), "app-2");
        let long = "x".repeat(70);
        assert_eq!(names.assign(&long, &mut c).len(), 64);
        assert_eq!(names.assign(&long, &mut c), format!("{}-2", "x".repeat(62)));
        assert_eq!(c.renamed.len(), 7);
        for r in &c.renamed {
            assert!(validate_name(&r.to).is_ok(), "{r:?}");
        }
    }

    #[test]
    fn paths_follow_the_output() {
        let beside = Paths {
            source_dir: "/srv/app".into(),
            output_dir: None,
        };
        assert_eq!(beside.cwd(Some("api")).as_deref(), Some("api"));
        assert_eq!(beside.cwd(None), None);
        let moved = Paths {
            source_dir: "/srv/app".into(),
            output_dir: Some("/etc/pw".into()),
        };
        assert_eq!(moved.cwd(Some("api")).as_deref(), Some("/srv/app/api"));
        assert_eq!(moved.cwd(Some("/opt")).as_deref(), Some("/opt"));
        assert_eq!(moved.cwd(None).as_deref(), Some("/srv/app"));
    }

    #[test]
    fn values_are_read_tolerantly() {
        assert_eq!(integer(&"12".into()), Some(12));
        assert_eq!(integer(&serde_json::json!(3.0)), Some(3));
        assert_eq!(boolean(&"true".into()), Some(true));
        assert_eq!(strings(&"a".into()), Some(vec!["a".to_owned()]));
        assert_eq!(millis(1500), "1500ms");
        assert_eq!(millis(2000), "2s");
    }
}
