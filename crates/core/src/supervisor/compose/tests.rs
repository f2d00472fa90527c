//! Unit tests of procward.toml parsing, error positions and start order.

use std::time::Duration;

use super::*;
use crate::Signal;
use crate::supervisor::spec::{LogLimits, Probe, RestartPolicy};

fn parse(text: &str) -> Result<Vec<ProcessSpec>, ComposeError> {
    parse_compose(text, Path::new("/srv/app"))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

fn spec(name: &str, deps: &[&str]) -> ProcessSpec {
    let mut spec = ProcessSpec::new(name, vec!["true".into()]);
    spec.depends_on = deps.iter().map(|d| d.to_string()).collect();
    spec
}

/// The example in the module documentation (copied to README.md) must parse.
#[test]
fn documented_example_parses() {
    let source = include_str!("mod.rs");
    let example: String = source
        .lines()
        .skip_while(|l| *l != "//! ```toml")
        .skip(1)
        .take_while(|l| *l != "//! ```")
        .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "PORT=1\nexport DEBUG='yes'\n").unwrap();
    let specs = parse_compose(&example, dir.path()).unwrap();
    let [db, web] = &specs[..] else {
        panic!("{specs:?}")
    };
    assert_eq!(db.command, ["postgres", "-D", "/var/lib/pg"]);
    assert_eq!(db.cwd.as_deref(), Some(dir.path()));
    assert_eq!(db.restart, RestartPolicy::Always);
    assert_eq!(web.command, ["python3", "-m", "http.server", "8000"]);
    assert_eq!(web.cwd, Some(dir.path().join("site")));
    assert_eq!(web.env["PORT"], "8000", "env wins over env_file");
    assert_eq!(web.env["DEBUG"], "yes");
    assert_eq!(web.restart, RestartPolicy::OnFailure);
    assert_eq!(web.max_restarts, Some(5));
    assert_eq!(web.backoff.to_string(), "1s:30s");
    assert_eq!(web.stable_after, Duration::from_secs(10));
    assert_eq!(web.stop_signal, Signal::INT);
    assert_eq!(web.stop_timeout, Duration::from_secs(10));
    assert_eq!(web.depends_on, ["db"]);
    let health = web.health.as_ref().unwrap();
    assert_eq!(
        health.probe,
        Probe::Http {
            url: "http://127.0.0.1:8000/".into()
        }
    );
    assert_eq!(health.interval, Duration::from_secs(2));
    assert_eq!(health.timeout, Duration::from_secs(1));
    assert_eq!(health.start_period, Duration::from_secs(1));
    assert_eq!(web.logs, LogLimits::default());
}

#[test]
fn values_in_every_form() {
    let specs = parse(
        "[process.b]\ncommand = 'echo $HOME'\nmax_restarts = 'unlimited'\nstop_timeout = 3\n\
         health = { tcp = '[::1]:5432', retries = 1 }\nlogs = { max_bytes = 8192, max_files = 1, timestamps = true }\n\
         env = { N = 1, F = 1.5, B = true }\nautostart = false\ncwd = '/abs'\n\
         [process.a]\ncommand = 'sleep 1'\nhealth = { command = 'pg_isready' }\n\
         logs = { max_bytes = '1MB' }\nbackoff = '500ms:1m'\nstable_after = 1.5\n\
         watch = ['src/**/*.py']\nwatch_ignore = ['*.log']\ncron_restart = '0 3 * * *'\n\
         instances = 3\nsuccess_exit_codes = [0, 3]\nreadiness = { http = 'http://127.0.0.1:1/ready', interval = '1s' }\n",
    )
    .unwrap();
    assert_eq!(specs[0].name, "b", "file order is kept");
    assert_eq!(specs[0].command, ["/bin/sh", "-c", "echo $HOME"]);
    assert_eq!(specs[0].max_restarts, None);
    assert_eq!(specs[0].stop_timeout, Duration::from_secs(3));
    let probe = &specs[0].health.as_ref().unwrap().probe;
    assert_eq!(
        *probe,
        Probe::Tcp {
            host: "::1".into(),
            port: 5432
        }
    );
    assert_eq!(
        specs[0].logs,
        LogLimits {
            max_bytes: 8192,
            max_files: 1,
            timestamps: true,
        }
    );
    assert_eq!(specs[0].env["N"], "1");
    assert_eq!(specs[0].env["F"], "1.5");
    assert_eq!(specs[0].env["B"], "true");
    assert!(!specs[0].autostart);
    assert_eq!(specs[0].cwd.as_deref(), Some(Path::new("/abs")));
    assert_eq!(specs[1].command, ["sleep", "1"]);
    assert_eq!(specs[1].logs.max_bytes, 1_000_000);
    assert_eq!(specs[1].logs.max_files, 5);
    assert!(!specs[1].logs.timestamps, "off unless asked for");
    assert_eq!(specs[1].backoff.base, Duration::from_millis(500));
    assert_eq!(specs[1].stable_after, Duration::from_millis(1500));
    assert_eq!(specs[1].watch, ["src/**/*.py"]);
    assert_eq!(specs[1].watch_ignore, ["*.log"]);
    assert_eq!(specs[1].cron_restart.as_deref(), Some("0 3 * * *"));
    assert_eq!(specs[0].cron_restart, None);
    assert_eq!(specs[1].instances, 3);
    assert_eq!(specs[0].instances, 1);
    assert_eq!(specs[1].success_exit_codes, [0, 3]);
    let readiness = specs[1].readiness.as_ref().unwrap();
    assert_eq!(readiness.interval, Duration::from_secs(1));
    assert!(specs[1].health.is_some() && specs[0].readiness.is_none());
}

#[test]
fn syntax_errors_have_line_and_column() {
    let e = err("[process.a]\ncommand = 'x'\nrestart = \n");
    assert!(e.starts_with("procward.toml:3:"), "{e}");
    let e = err("[process.a]\ncommand = \"unterminated\n");
    assert!(e.starts_with("procward.toml:2:"), "{e}");
    let e = err("[process.a\ncommand = 'x'\n");
    assert!(e.starts_with("procward.toml:1:"), "{e}");
    assert_eq!(
        err(""),
        "procward.toml:1:1: no processes: add a [process.NAME] table with a command"
    );
}

#[test]
fn unknown_keys_are_errors_with_position() {
    let e = err("[process.a]\ncommand = 'x'\n    colour = 'red'\n");
    assert!(
        e.starts_with("procward.toml:3:5: unknown field `colour`, expected one of"),
        "{e}"
    );
    let e = err("[processes.a]\ncommand = 'x'\n");
    assert!(
        e.starts_with("procward.toml:1:2: unknown field `processes`"),
        "{e}"
    );
    let e = err("[process.a]\ncommand = 'x'\nhealth = { http = 'http://h/', every = '1s' }\n");
    assert!(
        e.starts_with("procward.toml:3:") && e.contains("unknown field `every`"),
        "{e}"
    );
}

#[test]
fn duplicate_names_are_errors_with_line() {
    let e = err("[process.a]\ncommand = 'x'\n\n[process.a]\ncommand = 'y'\n");
    assert!(e.starts_with("procward.toml:4:"), "{e}");
    assert!(e.contains("duplicate"), "{e}");
    let specs = [spec("a", &[]), spec("a", &[])];
    assert_eq!(
        start_order(&specs).unwrap_err().to_string(),
        "duplicate process name 'a'"
    );
}

#[test]
fn bad_names_point_at_the_table() {
    let long = "x".repeat(65);
    for name in [
        "a/b",
        "..",
        "a..b",
        "my app",
        ".hidden",
        "-x",
        "",
        long.as_str(),
    ] {
        let e = err(&format!("\n[process.\"{name}\"]\ncommand = 'x'\n"));
        assert!(
            e.starts_with("procward.toml:2:10: invalid name"),
            "{name}: {e}"
        );
    }
}

#[test]
fn missing_or_empty_commands() {
    for (text, line) in [
        ("[process.a]\ncommand = ''\n", 2),
        ("[process.a]\ncommand = '   '\n", 2),
        ("[process.a]\ncommand = []\n", 2),
        ("[process.a]\ncommand = ['', 'x']\n", 2),
        ("[process.a]\ncommand = 3\n", 2),
    ] {
        let e = err(text);
        assert!(
            e.starts_with(&format!("procward.toml:{line}:")),
            "{text}: {e}"
        );
    }
    let e = err("[process.a]\ncwd = '/'\n");
    assert!(
        e.starts_with("procward.toml:1:") && e.contains("missing field `command`"),
        "{e}"
    );
}

#[test]
fn bad_values_point_at_the_value() {
    for (line, bad) in [
        ("stop_timeout = '10 parsecs'", "unknown unit"),
        ("stop_timeout = '-1s'", "negative"),
        ("stop_timeout = '2h'", "over the limit of 1h"),
        ("stop_timeout = 1e99", "not a usable number of seconds"),
        ("stop_timeout = 'é'", "unexpected 'é'"),
        (
            "stable_after = '2d'",
            "stable_after 2d is out of range: use at most 1d (0s to 1d)",
        ),
        (
            "backoff = '1s:2h'",
            "maximum delay 2h is out of range: use at most 1h (1ms to 1h)",
        ),
        (
            "health = { command = 'true', interval = '2h' }",
            "interval 2h is out of range: use at most 1h (10ms to 1h)",
        ),
        (
            "health = { command = 'true', timeout = '1ms' }",
            "timeout 1ms is out of range: use at least 10ms",
        ),
        (
            "health = { command = 'true', retries = 4294967295 }",
            "retries must be 1-1000",
        ),
        ("stable_after = -3", "negative"),
        ("backoff = '0s:1s'", "greater than zero"),
        ("backoff = '10s:1s'", "below the base"),
        ("backoff = 'fast'", "BASE:MAX"),
        ("restart = 'sometimes'", "unknown variant `sometimes`"),
        ("stop_signal = 'SIGFOO'", "unknown signal"),
        ("max_restarts = -1", "max_restarts"),
        ("max_restarts = 'lots'", "unlimited"),
        ("logs = { max_bytes = '10 XB' }", "unknown unit"),
        ("logs = { max_bytes = 100 }", "below 4096"),
        ("logs = { max_files = 0 }", "max_files"),
        ("logs = { timestamps = 'yes' }", "expected a boolean"),
        ("watch = ['src/[a']", "invalid watch"),
        ("watch = 'src'", "expected a sequence"),
        ("watch_ignore = ['']", "invalid watch_ignore"),
        ("cron_restart = '0 3 * *'", "five fields"),
        ("cron_restart = '0 25 * * *'", "invalid cron_restart"),
        ("health = { http = 'https://x/' }", "only http://"),
        ("health = { tcp = 'host:0' }", "1-65535"),
        ("health = { tcp = 'host:70000' }", "1-65535"),
        ("health = { tcp = 'host' }", "HOST:PORT"),
        ("health = { command = '' }", "empty"),
        (
            "health = { http = 'http://x/', tcp = 'x:1' }",
            "exactly one",
        ),
        (
            "health = { command = 'true', retries = 0 }",
            "retries must be 1-1000",
        ),
        (
            "health = { command = 'true', interval = 0 }",
            "greater than zero",
        ),
        ("env = { 'A=B' = 'x' }", "'='"),
        ("env = { A = [1] }", "a string, number or boolean"),
        ("cwd = ''", "cwd is empty"),
        ("instances = 0", "out of range: 1 to 256"),
        ("instances = 'many'", "not a count"),
        ("success_exit_codes = [256]", "not an exit code"),
        ("success_exit_codes = [2, 2]", "listed twice"),
        ("success_exit_codes = 2", "expected a sequence"),
        (
            "readiness = { tcp = 'x:1', command = 'true' }",
            "readiness needs exactly one",
        ),
        (
            "readiness = { command = 'true', retries = 0 }",
            "retries must be 1-1000",
        ),
        ("depends_on = ['a']", "depends on itself"),
        ("depends_on = ['x/y']", "invalid depends_on"),
        ("autostart = 'yes'", "invalid type"),
    ] {
        let e = err(&format!("[process.a]\ncommand = 'x'\n{line}\n"));
        assert!(e.starts_with("procward.toml:3:"), "{line}: {e}");
        assert!(e.contains(bad), "{line}: {e}");
    }
}

#[test]
fn env_file_problems_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.env"), "A=1\n\nB='open\n").unwrap();
    let text = "[process.a]\ncommand = 'x'\nenv_file = 'bad.env'\n";
    let e = parse_compose(text, dir.path()).unwrap_err().to_string();
    assert!(
        e.starts_with("procward.toml:3:12: env_file ")
            && e.ends_with("bad.env: line 3: unterminated single quote"),
        "{e}"
    );
    let text = "[process.a]\ncommand = 'x'\nenv_file = 'missing.env'\n";
    let e = parse_compose(text, dir.path()).unwrap_err().to_string();
    assert!(
        e.starts_with("procward.toml:3:12: cannot read env_file"),
        "{e}"
    );
}

#[test]
fn dependency_errors_point_at_the_entry() {
    let e = err(
        "[process.a]\ncommand = 'x'\ndepends_on = ['b', 'ghost']\n[process.b]\ncommand = 'x'\n",
    );
    assert_eq!(
        e,
        "procward.toml:3:20: process 'a' depends on unknown process 'ghost'"
    );
    let text = "[process.a]\ncommand = 'x'\ndepends_on = ['b']\n\n[process.b]\ncommand = 'x'\ndepends_on = ['a']\n";
    assert_eq!(
        err(text),
        "procward.toml:1:10: dependency cycle: a -> b -> a"
    );
}

#[test]
fn compose_file_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("procward.toml");
    std::fs::write(&path, "[process.a]\ncommand = 'x'\ncwd = 'sub'\n").unwrap();
    let specs = parse_compose_file(&path).unwrap();
    assert_eq!(specs[0].cwd, Some(dir.path().join("sub")));
    std::fs::write(&path, "[process.a]\nbad = 1\n").unwrap();
    let e = parse_compose_file(&path).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}:2:1: unknown field `bad`", path.display())),
        "{e}"
    );
    let e = parse_compose_file(&dir.path().join("none.toml")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn start_order_puts_dependencies_first_and_keeps_file_order() {
    let specs = [
        spec("web", &["db", "cache"]),
        spec("worker", &[]),
        spec("db", &[]),
        spec("cache", &["db"]),
    ];
    assert_eq!(
        start_order(&specs).unwrap(),
        ["worker", "db", "cache", "web"]
    );
    let specs = [spec("c", &[]), spec("b", &[]), spec("a", &[])];
    assert_eq!(start_order(&specs).unwrap(), ["c", "b", "a"]);
    assert!(start_order(&[]).unwrap().is_empty());
}

#[test]
fn start_order_names_cycles_and_unknown_dependencies() {
    let specs = [
        spec("x", &["a"]),
        spec("a", &["b"]),
        spec("b", &["c"]),
        spec("c", &["a"]),
    ];
    assert_eq!(
        start_order(&specs).unwrap_err().to_string(),
        "dependency cycle: a -> b -> c -> a"
    );
    let specs = [spec("a", &["a"])];
    assert_eq!(
        start_order(&specs).unwrap_err().to_string(),
        "dependency cycle: a -> a"
    );
    let specs = [spec("a", &["zzz"])];
    let e = start_order(&specs).unwrap_err();
    assert_eq!(
        e.to_string(),
        "process 'a' depends on unknown process 'zzz'"
    );
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[test]
fn unterminated_quotes_in_commands_are_refused_with_their_place() {
    let e = err("[process.a]\ncommand = \"echo 'hi\"\n");
    assert!(e.starts_with("procward.toml:2:11:"), "{e}");
    assert!(e.contains("unterminated ' quote at column 6"), "{e}");
}

#[test]
fn files_that_are_not_small_regular_files_are_refused() {
    let e = parse_compose_file(Path::new("/dev/zero")).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("character device"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("big.env");
    std::fs::write(&env, vec![b'#'; 2 << 20]).unwrap();
    let toml = dir.path().join("procward.toml");
    std::fs::write(&toml, "[process.a]\ncommand = 'x'\nenv_file = 'big.env'\n").unwrap();
    let e = parse_compose_file(&toml).unwrap_err().to_string();
    assert!(
        e.contains("big.env") && e.contains("larger than 1024 KiB"),
        "{e}"
    );
}
