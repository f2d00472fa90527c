//! Tests of the held files and command lines.

use std::process::{Child, Command};
use std::time::Duration;

use super::*;
use crate::sys::ProcessSampler;

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

fn refresh(held: &mut Held, pids: &[u32]) -> HashMap<u32, Reading> {
    held.begin();
    let out = pids
        .iter()
        .filter_map(|pid| Some((*pid, held.read(*pid)?)))
        .collect();
    held.finish();
    out
}

fn spawn(args: &[&str]) -> Child {
    Command::new(args[0]).args(&args[1..]).spawn().unwrap()
}

#[test]
fn kept_readings_match_a_plain_one() {
    let me = std::process::id();
    let mut kept = ProcessSampler::keeping_files();
    let mut plain = ProcessSampler::new();
    for _ in 0..3 {
        let a = kept.refresh().unwrap();
        let b = plain.refresh().unwrap();
        let a = a.iter().find(|p| p.pid == me).unwrap();
        let b = b.iter().find(|p| p.pid == me).unwrap();
        assert_eq!(
            (&a.command, &a.user, a.uid, a.start_ticks, &a.name),
            (&b.command, &b.user, b.uid, b.start_ticks, &b.name)
        );
        assert!(a.memory_rss > 0 && a.threads >= 1);
    }
}

#[test]
fn cpu_is_measured_through_the_open_files() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let spinner = std::thread::spawn(move || {
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            std::hint::spin_loop();
        }
    });
    let me = std::process::id();
    let mut sampler = ProcessSampler::keeping_files();
    sampler.refresh().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let all = sampler.refresh().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    spinner.join().unwrap();
    let mine = all.iter().find(|p| p.pid == me).unwrap();
    assert!(mine.cpu_percent > 15.0, "got {}", mine.cpu_percent);
}

#[test]
fn an_exited_process_is_dropped_and_its_files_closed() {
    let mut child = spawn(&["sleep", "30"]);
    let pid = child.id();
    let mut held = Held::with_max_open(10_000);
    let first = refresh(&mut held, &all_pids());
    assert_eq!(first[&pid].command, "sleep 30");
    let open = held.open_count();
    assert!(open >= 1 && open <= first.len());
    child.kill().unwrap();
    child.wait().unwrap();
    let second = refresh(&mut held, &[all_pids(), vec![pid]].concat());
    assert!(!second.contains_key(&pid));
    assert!(held.open_count() < open + second.len());
    assert!(!held.kept.contains_key(&pid));
}

#[test]
fn an_exec_is_seen_at_once() {
    let mut child = spawn(&["sh", "-c", "sleep 0.4; exec sleep 30"]);
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(100));
    let mut held = Held::with_max_open(10_000);
    let before = held_one(&mut held, pid);
    assert_eq!(before.stat.comm, "sh");
    assert_eq!(before.command, "sh -c sleep 0.4; exec sleep 30");
    std::thread::sleep(Duration::from_millis(800));
    let after = held_one(&mut held, pid);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(after.stat.starttime, before.stat.starttime, "same instance");
    assert_eq!(after.command, "sleep 30");
}

fn held_one(held: &mut Held, pid: u32) -> Reading {
    refresh(held, &[pid]).remove(&pid).unwrap()
}

#[test]
fn past_the_cap_processes_are_read_by_path() {
    // More processes than the cap, whatever else runs (a fresh PID namespace has few).
    let mut sleepers: Vec<Child> = (0..6)
        .map(|_| Command::new("sleep").arg("30").spawn().unwrap())
        .collect();
    let pids = all_pids();
    let mut held = Held::with_max_open(3);
    for _ in 0..2 {
        let read = refresh(&mut held, &pids);
        assert!(held.open_count() <= 3);
        assert!(
            read.len() > 3 && read.len() + 5 >= pids.len(),
            "{}",
            read.len()
        );
    }
    let me = std::process::id();
    let mine = &refresh(&mut held, &[me])[&me];
    assert_eq!(mine.uid, Some(rustix::process::geteuid().as_raw()));
    for sleeper in &mut sleepers {
        let _ = sleeper.kill();
        let _ = sleeper.wait();
    }
}

#[test]
fn a_zombie_shows_its_name_in_brackets() {
    let mut child = spawn(&["sleep", "0.3"]);
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(100));
    let mut held = Held::with_max_open(10_000);
    assert_eq!(held_one(&mut held, pid).command, "sleep 0.3");
    std::thread::sleep(Duration::from_millis(700));
    let zombie = held_one(&mut held, pid);
    child.wait().unwrap();
    assert_eq!(zombie.stat.state, 'Z');
    assert_eq!(zombie.command, "[sleep]");
}
