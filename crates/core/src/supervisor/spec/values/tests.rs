//! Unit tests of the value parsers: env files and `KEY=VALUE` pairs, durations (both
//! ways), sizes and restart counts.

use super::*;

#[test]
fn env_files() {
    let text = "# comment\n\nA=1\nexport B = two words # note\nC='single $x # kept'\n\
                D=\"line\\nnext \\\"q\\\" \\\\ \\$\" # c\nE=\nF=a=b\nURL=http://x/#frag\r\nA=again\n\
                export=plain\n  G = ' padded ' \n";
    let vars = parse_env_file(text).unwrap();
    assert_eq!(vars["A"], "again");
    assert_eq!(vars["B"], "two words");
    assert_eq!(vars["C"], "single $x # kept");
    assert_eq!(vars["D"], "line\nnext \"q\" \\ $");
    assert_eq!(vars["E"], "");
    assert_eq!(vars["F"], "a=b");
    assert_eq!(vars["URL"], "http://x/#frag");
    assert_eq!(vars["export"], "plain");
    assert_eq!(vars["G"], " padded ");
    for (bad, line, why) in [
        ("A=1\nnot a pair\n", 2, "expected KEY=VALUE"),
        ("=x\n", 1, "non-empty"),
        ("A=1\n\n\nB=\"open\n", 4, "unterminated double quote"),
        ("B='open\n", 1, "unterminated single quote"),
        ("B='x' y\n", 1, "after the closing quote"),
        ("MY KEY=1\n", 1, "without whitespace"),
        ("A=\0\n", 1, "NUL"),
    ] {
        let e = parse_env_file(bad).unwrap_err();
        assert!(
            matches!(e, SpecError::EnvFile { line: l, .. } if l == line),
            "{bad:?}: {e:?}"
        );
        assert!(
            e.to_string().starts_with(&format!("line {line}: ")) && e.to_string().contains(why),
            "{e}"
        );
    }
}

#[test]
fn env_pairs() {
    assert_eq!(parse_env_pair("K=V").unwrap(), ("K".into(), "V".into()));
    assert_eq!(parse_env_pair("K=a=b").unwrap(), ("K".into(), "a=b".into()));
    assert_eq!(parse_env_pair("K=").unwrap(), ("K".into(), String::new()));
    for bad in ["K", "=V", "", " K=V", "K\0=V", "K=\0"] {
        assert!(parse_env_pair(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn durations() {
    for (text, ms) in [
        ("500ms", 500),
        ("1s", 1000),
        ("2", 2000),
        ("1.5", 1500),
        ("1.5s", 1500),
        ("1m", 60_000),
        ("1m30s", 90_000),
        ("1m 30s", 90_000),
        ("1h", 3_600_000),
        ("1d", 86_400_000),
        (" 10 s ", 10_000),
        ("0", 0),
        (".5s", 500),
        ("0.001s", 1),
    ] {
        assert_eq!(
            parse_duration(text).unwrap(),
            Duration::from_millis(ms),
            "{text}"
        );
    }
    for bad in [
        "",
        " ",
        "-1s",
        "-1",
        "s",
        "1x",
        "1S",
        "abc",
        "1..2s",
        ".s",
        "1s-",
        "99999999999999999999999d",
        "1e3",
        "é",
        "1s é",
        "5 ௗ",
    ] {
        let e = parse_duration(bad).unwrap_err().to_string();
        assert!(e.contains("500ms"), "{bad:?}: {e}");
    }
    for ms in [0, 1, 500, 1000, 1500, 60_000, 90_000, 3_600_000, 90_061_000] {
        let d = Duration::from_millis(ms);
        assert_eq!(
            parse_duration(&format_duration(d)).unwrap(),
            d,
            "{}",
            format_duration(d)
        );
    }
    assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
}

#[test]
fn sizes() {
    for (text, bytes) in [
        ("4096", 4096),
        ("10MB", 10_000_000),
        ("10MiB", 10 << 20),
        ("10M", 10 << 20),
        ("512KiB", 512 << 10),
        ("512kb", 512_000),
        ("1G", 1 << 30),
        ("1.5K", 1536),
        ("7 B", 7),
    ] {
        assert_eq!(parse_size(text).unwrap(), bytes, "{text}");
    }
    for bad in ["", "-1", "10XB", "MB", "1.2.3M", "99999999999T"] {
        assert!(parse_size(bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse_max_restarts("unlimited").unwrap(), None);
    assert_eq!(parse_max_restarts(" 5 ").unwrap(), Some(5));
    assert!(parse_max_restarts("-1").is_err() && parse_max_restarts("many").is_err());
}
