//! Throughput and footprint of the shim, as figures to read rather than assertions (timed
//! assertions are flaky; the benchmark suite tracks the targets). Run with
//! `cargo build --release -p procward-core --example shim` (a test filter builds no
//! examples), then `cargo test --release -p procward-core --test shim_bench -- --ignored
//! --nocapture`.

mod common;

use std::fs::File;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{shim_exe, spec};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use procward_core::supervisor::shim::{launch, read_status};

const LINES: &str = "2000000";
const RUNS: usize = 9;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[test]
#[ignore = "benchmark: run explicitly, in release"]
fn seq_2m_lines_through_the_shim_vs_straight_to_a_file() {
    let mut direct = Vec::new();
    let mut shimmed = Vec::new();
    let mut reported = Vec::new();
    for _ in 0..RUNS {
        // Each run starts with no dirty pages of earlier runs, so neither side pays for
        // the other's writeback (the shim's final fsync would otherwise wait on it).
        rustix::fs::sync();
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let out = File::create(dir.path().join("direct.log")).unwrap();
        let status = Command::new("seq")
            .args(["1", LINES])
            .stdout(out)
            .status()
            .unwrap();
        assert!(status.success());
        direct.push(started.elapsed());

        rustix::fs::sync();
        let dir = tempfile::tempdir().unwrap();
        let spec = spec(dir.path(), &["seq", "1", LINES]);
        let started = Instant::now();
        let mut launched = launch(&shim_exe(), &spec, &dir.path().join("launch.json")).unwrap();
        reported.push(started.elapsed());
        assert!(
            launched
                .shim
                .wait()
                .unwrap()
                .expect("the shim is our child")
                .success()
        );
        shimmed.push(started.elapsed());
        assert_eq!(
            read_status(&spec.status_file).unwrap().unwrap().exit_code,
            Some(0)
        );
        let logged = std::fs::metadata(&spec.stdout_log).unwrap().len();
        let mut expected = 0u64;
        for digits in 1..=7u64 {
            let lo = 10u64.pow(digits as u32 - 1);
            let hi = (10u64.pow(digits as u32) - 1).min(2_000_000);
            expected += (hi - lo + 1) * (digits + 1);
        }
        // 14.9 MB in 10 MB files: one rotation, both files complete.
        let rotated = std::fs::metadata(dir.path().join("logs/out.log.1")).map_or(0, |m| m.len());
        assert_eq!(logged + rotated, expected);
    }
    let (direct, shimmed, reported) = (median(direct), median(shimmed), median(reported));
    println!(
        "seq 1 {LINES}: > file {direct:?}, through the shim {shimmed:?} (launch() returned \
         after {reported:?}), ratio {:.3}",
        shimmed.as_secs_f64() / direct.as_secs_f64()
    );
}

#[test]
#[ignore = "benchmark: run explicitly, in release"]
fn idle_shim_rss() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &["sleep", "1000"]);
    let mut launched = launch(&shim_exe(), &spec, &dir.path().join("launch.json")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = std::fs::read_to_string(format!("/proc/{}/status", launched.shim.id())).unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap()
        .to_string();
    killpg(Pid::from_raw(launched.child_pid as i32), Signal::SIGKILL).unwrap();
    launched.shim.wait().unwrap();
    println!("idle shim {rss}");
}
