//! Bad input on the command line: durations out of range, files that are devices or too
//! large, unterminated quotes. Each is refused with exit code 2 and a message naming what
//! is wrong, never a panic (exit 101) or a hang, and nothing is started.

mod common;

use std::time::Duration;

use common::Procward;
use common::daemon::Daemon;

/// Long enough for any refusal; a hang (reading /dev/zero) fails the test instead.
const PATIENCE: Duration = Duration::from_secs(30);

/// Runs `args`, asserting exit code 2 and that stderr contains every one of `words`.
fn refused(pw: &Procward, args: &[&str], words: &[&str]) {
    let out = pw.cmd().args(args).timeout(PATIENCE).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    for word in words {
        assert!(stderr.contains(word), "{args:?}: no {word:?} in: {stderr}");
    }
}

#[test]
fn durations_out_of_range_are_usage_errors_not_panics() {
    let pw = Procward::new();
    let cases: &[(&[&str], &[&str])] = &[
        (&["kill", "--timeout", "1e99", "1"], &["timeout"]),
        (
            &["kill", "--timeout", "2h", "1"],
            &["at most 1h", "0s to 1h"],
        ),
        (&["ps", "--interval", "1e99"], &["interval"]),
        (&["ps", "--interval", "61s"], &["at most 1m", "1ms to 1m"]),
        (
            &["start", "x", "--stop-timeout", "1e20", "--", "true"],
            &["stop_timeout"],
        ),
        (
            &["start", "x", "--stop-timeout=1e99", "--", "true"],
            &["stop_timeout"],
        ),
        (
            &[
                "start",
                "x",
                "--stop-timeout",
                "99999999999999999999d",
                "--",
                "true",
            ],
            &["stop_timeout"],
        ),
        (
            &["start", "x", "--backoff", "1s:2h", "--", "true"],
            &["backoff", "1ms to 1h"],
        ),
    ];
    for (args, words) in cases {
        refused(&pw, args, words);
    }
}

#[test]
fn config_files_must_be_small_regular_files() {
    let pw = Procward::new();
    let dir = pw.dir();
    let fifo = dir.join("fifo");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let fifo = fifo.to_str().unwrap();
    let big = dir.join("big.toml");
    std::fs::write(&big, vec![b'#'; 2 << 20]).unwrap();
    let big = big.to_str().unwrap();
    let zero_env = dir.join("zero-env.toml");
    std::fs::write(
        &zero_env,
        "[process.a]\ncommand = 'true'\nenv_file = '/dev/zero'\n",
    )
    .unwrap();
    let zero_env = zero_env.to_str().unwrap();

    refused(
        &pw,
        &["up", "/dev/zero"],
        &["/dev/zero", "character device"],
    );
    refused(&pw, &["up", fifo], &[fifo, "FIFO"]);
    refused(&pw, &["up", big], &[big, "larger than 1024 KiB"]);
    refused(&pw, &["up", zero_env], &["/dev/zero", "env_file", ":3:"]);
    refused(
        &pw,
        &["start", "x", "--env-file", "/dev/zero", "--", "true"],
        &["env file /dev/zero", "character device"],
    );
    refused(&pw, &["--config", "/dev/zero", "ps"], &["config /dev/zero"]);
    refused(&pw, &["--config", big, "ps"], &["larger than"]);
}

#[test]
fn unterminated_quotes_are_refused_with_their_position() {
    let pw = Procward::new();
    refused(
        &pw,
        &["start", "x", "--command", "echo 'hi"],
        &["unterminated ' quote at column 6"],
    );
    refused(
        &pw,
        &["start", "x", "--command", "sh -c \"sleep 1"],
        &["unterminated \" quote at column 7"],
    );
    let file = pw.dir().join("procward.toml");
    std::fs::write(&file, "[process.a]\ncommand = \"echo 'hi | cat\"\n").unwrap();
    refused(
        &pw,
        &["up", file.to_str().unwrap()],
        &["procward.toml:2:11", "unterminated ' quote at column 6"],
    );
    let toml = pw.dir().join("bad-duration.toml");
    std::fs::write(&toml, "[process.a]\ncommand = 'true'\nstop_timeout = 'é'\n").unwrap();
    refused(
        &pw,
        &["up", toml.to_str().unwrap()],
        &[":3:16", "unexpected 'é'"],
    );
    assert!(
        !pw.dir().join("home/procward.sock").exists(),
        "nothing was sent to a daemon"
    );
}

#[test]
fn logs_take_any_count_or_all_streamed_across_rotations() {
    let d = Daemon::new();
    d.cmd()
        .args([
            "start",
            "counter",
            "--log-max-bytes",
            "64KiB",
            "--log-max-files",
            "100",
        ])
        .args(["--", "sh", "-c", "seq 1 150000; exec sleep 1000"])
        .assert()
        .success();
    assert!(
        common::wait_for(Duration::from_secs(60), || d.logs("counter", 1)
            == ["150000"]),
        "the counter wrote its lines"
    );
    let lines = |n: &str| -> Vec<String> {
        let out = d
            .cmd()
            .args(["logs", "counter", "--stdout", "--lines", n])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let all = lines("all");
    let expected: Vec<String> = (1..=150_000).map(|i| i.to_string()).collect();
    assert_eq!(all.len(), expected.len());
    assert!(
        all == expected,
        "every line, oldest first, across rotated files"
    );
    let some = lines("120000");
    assert_eq!(some.len(), 120_000);
    assert_eq!(some[0], "30001");
    assert_eq!(lines("99999999999").len(), 150_000, "more than kept is all");
    assert!(lines("0").is_empty());
    refused(&d.pw, &["logs", "counter", "--lines", "-1"], &["'all'"]);
    refused(&d.pw, &["logs", "counter", "--lines", "lots"], &["'all'"]);
}
