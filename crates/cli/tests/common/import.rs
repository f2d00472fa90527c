//! Helpers of the `procward import` tests (import.rs: conversions; import_run.rs: refusals
//! and imported files run by `procward up`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::{Procward, json};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// Whether node can run; the tests that need it say so when it cannot.
pub fn node_available(test: &str) -> bool {
    let ok = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: {test}: node is not on PATH (CI installs nodejs)");
    }
    ok
}

/// `import ARGS --json` succeeds; returns its JSON.
pub fn import_json(pw: &Procward, args: &[&str]) -> Value {
    let out = pw
        .cmd()
        .arg("import")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

/// The `[process.NAME]` tables of a converted file, parsed as plain TOML.
pub fn tables(toml_text: &str) -> toml::Table {
    let doc: toml::Table = toml_text.parse().expect("output is TOML");
    doc["process"].as_table().unwrap().clone()
}

pub fn keys(process: &toml::Value) -> Vec<&str> {
    process
        .as_table()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

pub fn skipped(result: &Value) -> Vec<(String, String)> {
    result["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["process"].as_str().unwrap().into(),
                s["field"].as_str().unwrap().into(),
            )
        })
        .collect()
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// procward's own parser accepts the output, every key included.
pub fn parses(toml_text: &str) {
    procward_core::supervisor::compose::parse_compose(toml_text, Path::new("/srv")).unwrap_or_else(
        |e| {
            panic!(
                "{e}
{toml_text}"
            )
        },
    );
}

pub fn keys_of(t: &toml::Table) -> Vec<&str> {
    t.keys().map(String::as_str).collect()
}

/// toml::Table iterates in key order.
pub fn sorted<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys
}

/// Runs `import ARGS`, expects exit 2 naming `words`, and that `out` was not created.
pub fn refused(pw: &Procward, args: &[&str], words: &[&str]) {
    let out_file = pw.dir().join("never.toml");
    let out = pw
        .cmd()
        .arg("import")
        .args(args)
        .args(["-o", out_file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}");
    for word in words {
        assert!(stderr.contains(word), "{args:?}: {word:?} not in {stderr}");
    }
    assert!(!out_file.exists(), "{args:?} wrote a file");
}

/// A plain HTTP/1.0 GET on 127.0.0.1; the body, or None.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}
