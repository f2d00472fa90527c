//! Unit tests of specs: names, command strings, defaults, validation, health probes and
//! the serialized form. The value parsers are tested in `values/tests.rs`.

use super::*;

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn valid() -> ProcessSpec {
    ProcessSpec::new("web", argv(&["python3", "-m", "http.server"]))
}

fn reason(spec: &ProcessSpec) -> String {
    spec.validate().unwrap_err().to_string()
}

#[test]
fn names() {
    for good in ["web", "a", "My_app-1.2", "x.y", "_x", &"n".repeat(64)] {
        validate_name(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for (bad, why) in [
        ("", "it is empty"),
        ("a/b", "'/'"),
        ("/", "'/'"),
        ("..", "'..'"),
        ("a..b", "'..'"),
        ("my app", "whitespace"),
        ("tab\there", "whitespace"),
        ("nul\0", "NUL"),
        (&"n".repeat(65), "65 characters long"),
        (".hidden", "starts with '.'"),
        ("-rf", "starts with '-'"),
        ("café", "'é'"),
        ("a:b", "':'"),
    ] {
        let e = validate_name(bad).unwrap_err();
        assert_eq!(e.field(), "name");
        let text = e.to_string();
        assert!(
            text.contains(why) && text.contains("names are 1-64"),
            "{bad:?}: {text}"
        );
    }
    let e = validate_name(&"a b".repeat(100)).unwrap_err().to_string();
    assert!(e.len() < 300, "long names are shortened: {e}");
}

#[test]
fn shell_words_read_back_as_the_same_words() {
    assert_eq!(
        shell_words(&argv(&["sh", "-c", "echo hi"])),
        "sh -c 'echo hi'"
    );
    let words = argv(&["sh", "-c", "echo 'hi'", "", "a=b"]);
    let line = shell_words(&words);
    assert_eq!(shlex::split(&line).unwrap(), words, "{line}");
}

#[test]
fn command_strings() {
    assert_eq!(command_from_string("sleep 10").unwrap(), ["sleep", "10"]);
    let quoted = command_from_string(r#"echo 'a b' "c \" d" e\ f"#).unwrap();
    assert_eq!(quoted, ["echo", "a b", "c \" d", "e f"]);
    assert_eq!(command_from_string("  ls  # comment").unwrap(), ["ls"]);
    for shell in [
        "a | b",
        "a && b",
        "a; b",
        "a < f",
        "a > f",
        "echo $HOME",
        "echo `id`",
        "(a)",
        "ls *.rs",
        "ls ?",
        "ls [ab]",
        "cd ~",
        "{ a; }",
        "a\nb",
        "FOO=1 cmd",
        "cd /tmp",
        "exec x",
        "export A=1",
    ] {
        assert_eq!(
            command_from_string(shell).unwrap(),
            ["/bin/sh", "-c", shell],
            "{shell}"
        );
    }
    for (open, place) in [
        ("echo 'open", "unterminated ' quote at column 6"),
        ("echo \"a b", "unterminated \" quote at column 6"),
        ("a | grep 'x", "unterminated ' quote at column 10"),
        (
            "echo ok\necho \"no",
            "unterminated \" quote at line 2, column 6",
        ),
        ("echo \"it's\" 'x", "unterminated ' quote at column 13"),
    ] {
        let e = command_from_string(open).unwrap_err();
        assert_eq!(e.field(), "command");
        assert!(e.to_string().contains(place), "{open:?}: {e}");
    }
    for closed in [
        "echo \"it's\"",
        "echo it\\'s",
        "echo 'a \" b'",
        "echo \"a \\\" b\"",
        "echo hi # it's a comment",
        "echo a#'b'",
        "cat <<EOF\nit's\nEOF",
    ] {
        command_from_string(closed).unwrap_or_else(|e| panic!("{closed:?}: {e}"));
    }
    for empty in ["", "   ", "\t\n", "# only a comment", "'' x", "\" \" -v"] {
        assert_eq!(
            command_from_string(empty).unwrap_err(),
            SpecError::EmptyCommand
        );
    }
    assert!(
        command_from_string("a\0b")
            .unwrap_err()
            .to_string()
            .contains("NUL")
    );
}

#[test]
fn defaults() {
    let spec = valid();
    spec.validate().unwrap();
    assert_eq!(spec.restart, RestartPolicy::Always);
    assert_eq!(spec.max_restarts, Some(10));
    assert_eq!(spec.backoff.to_string(), "1s:1m");
    assert_eq!(spec.stable_after, Duration::from_secs(10));
    assert_eq!(spec.stop_signal, Signal::TERM);
    assert_eq!(spec.stop_timeout, Duration::from_secs(5));
    assert!(spec.autostart);
    assert_eq!(
        spec.logs,
        LogLimits {
            max_bytes: 10 << 20,
            max_files: 5,
            timestamps: false,
        }
    );
    let check = HealthCheck::new(Probe::Command("true".into()));
    assert_eq!(
        (check.interval, check.timeout, check.retries),
        (Duration::from_secs(5), Duration::from_secs(2), 3)
    );
    assert_eq!(check.start_period, Duration::ZERO);
}

#[test]
fn validation_rejects_bad_specs() {
    type Change = Box<dyn Fn(&mut ProcessSpec)>;
    let cases: Vec<(&str, Change)> = vec![
        ("names are", Box::new(|s| s.name = "a/b".into())),
        ("empty command", Box::new(|s| s.command.clear())),
        ("empty command", Box::new(|s| s.command[0] = " ".into())),
        (
            "argument 1 contains a NUL",
            Box::new(|s| s.command[1] = "a\0".into()),
        ),
        (
            "command argument 2 is 131072 bytes",
            Box::new(|s| s.command[2] = "x".repeat(128 * 1024)),
        ),
        (
            "together",
            Box::new(|s| s.command.extend((0..10).map(|_| "x".repeat(120_000)))),
        ),
        (
            "environment variable BIG",
            Box::new(|s| {
                s.env.insert("BIG".into(), "x".repeat(200_000));
            }),
        ),
        (
            "together",
            Box::new(|s| {
                s.env
                    .extend((0..10).map(|i| (format!("V{i}"), "x".repeat(120_000))))
            }),
        ),
        (
            "non-empty without '='",
            Box::new(|s| {
                s.env.insert(String::new(), "x".into());
            }),
        ),
        (
            "non-empty without '='",
            Box::new(|s| {
                s.env.insert("A=B".into(), "x".into());
            }),
        ),
        (
            "value of A contains a NUL",
            Box::new(|s| {
                s.env.insert("A".into(), "\0".into());
            }),
        ),
        (
            "invalid cwd",
            Box::new(|s| s.cwd = Some(PathBuf::from("a\0b"))),
        ),
        ("invalid cwd", Box::new(|s| s.cwd = Some(PathBuf::new()))),
        (
            "over the limit of 1h",
            Box::new(|s| s.stop_timeout = Duration::from_secs(3601)),
        ),
        (
            "greater than zero",
            Box::new(|s| s.backoff.base = Duration::ZERO),
        ),
        ("below 4096", Box::new(|s| s.logs.max_bytes = 4095)),
        ("max_files 0", Box::new(|s| s.logs.max_files = 0)),
        ("max_files 101", Box::new(|s| s.logs.max_files = 101)),
        (
            "depends on itself",
            Box::new(|s| s.depends_on = argv(&["web"])),
        ),
        (
            "listed twice",
            Box::new(|s| s.depends_on = argv(&["db", "db"])),
        ),
        (
            "invalid depends_on",
            Box::new(|s| s.depends_on = argv(&[".."])),
        ),
        (
            "only http://",
            Box::new(|s| {
                s.health = Some(HealthCheck::new(Probe::Http {
                    url: "ftp://x".into(),
                }))
            }),
        ),
    ];
    for (why, change) in cases {
        let mut spec = valid();
        change(&mut spec);
        let text = reason(&spec);
        assert!(text.contains(why), "{why}: {text}");
    }
    let mut spec = valid();
    spec.command[1] = "x".repeat(MAX_ARG_BYTES);
    spec.stop_timeout = MAX_STOP_TIMEOUT;
    spec.cwd = Some("/does/not/exist".into());
    spec.command[0] = "/no/such/program".into();
    spec.validate().unwrap();
}

#[test]
fn probes() {
    assert_eq!(
        Probe::parse_tcp("localhost:80").unwrap(),
        Probe::Tcp {
            host: "localhost".into(),
            port: 80
        }
    );
    assert_eq!(
        Probe::parse_tcp("[::1]:80").unwrap().to_string(),
        "tcp [::1]:80"
    );
    for bad in ["", "x", ":80", "x:0", "x:65536", "x:-1", "x y:1"] {
        assert!(Probe::parse_tcp(bad).is_err(), "{bad}");
    }
    for good in [
        "http://127.0.0.1:8000/",
        "http://x",
        "HTTP://h/p?q#f",
        "http://u@h:1/",
        "http://[::1]:80/",
    ] {
        Probe::Http { url: good.into() }
            .validate()
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "https://x/",
        "127.0.0.1:80",
        "http://",
        "http://:80/",
        "http://h:0/",
        "http://h:99999/",
        "http://h /",
    ] {
        assert!(Probe::Http { url: bad.into() }.validate().is_err(), "{bad}");
    }
    assert!(Probe::Command(" ".into()).validate().is_err());
}

#[test]
fn serde_writes_milliseconds_and_reads_defaults() {
    let mut spec = valid();
    spec.health = Some(HealthCheck::new(Probe::Tcp {
        host: "h".into(),
        port: 1,
    }));
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(json["stop_timeout"], 5000);
    assert_eq!(json["backoff"]["max"], 60000);
    assert_eq!(json["stop_signal"], "SIGTERM");
    assert_eq!(json["restart"], "always");
    assert_eq!(json["health"]["probe"]["tcp"]["port"], 1);
    assert_eq!(serde_json::from_value::<ProcessSpec>(json).unwrap(), spec);
    let minimal: ProcessSpec = serde_json::from_str(
        r#"{"name":"web","command":["python3","-m","http.server"],"stop_timeout":"1m","max_restarts":null}"#,
    )
    .unwrap();
    assert_eq!(minimal.stop_timeout, Duration::from_secs(60));
    assert_eq!(minimal.max_restarts, None);
    assert_eq!(minimal.logs, LogLimits::default());
    assert!(
        serde_json::from_str::<ProcessSpec>(r#"{"name":"a","command":["x"],"stop_timeout":-1}"#)
            .is_err()
    );
}

#[test]
fn probes_parse_from_one_string() {
    assert_eq!(
        Probe::parse("tcp:127.0.0.1:80").unwrap(),
        Probe::Tcp {
            host: "127.0.0.1".into(),
            port: 80
        }
    );
    assert_eq!(
        Probe::parse("cmd:pg_isready").unwrap(),
        Probe::Command("pg_isready".into())
    );
    assert!(matches!(
        Probe::parse("http://127.0.0.1:8000/ready").unwrap(),
        Probe::Http { .. }
    ));
    for bad in ["localhost:80", "tcp:host", "cmd:", "https://x/", ""] {
        assert!(Probe::parse(bad).is_err(), "{bad}");
    }
}
