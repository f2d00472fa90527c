//! Killing: deliver a signal, wait for the exit, escalate to SIGKILL, report what happened.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use serde::{Deserialize, Serialize};

use super::handle::ProcessHandle;
use super::name::Signal;
use super::target::validate_pid;
use crate::error::{Error, ErrorKind, Result};
use crate::sys::process::parent_table;
use crate::sys::tree::descendants;

/// How long a process may take to disappear after SIGKILL before procward reports it as
/// stuck (a process in uninterruptible sleep cannot die until its I/O returns).
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// What to do after the first signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// Deliver the signal and return at once, without waiting for an exit.
    None,
    /// Wait this long for the process to exit, then send SIGKILL. Only applies to signals
    /// that ask a process to end (see [`Signal::is_termination`]); others are delivered only.
    KillAfter(Duration),
}

/// One kill: which process, which signal, and what to do if it does not exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillRequest {
    /// Target PID.
    pub pid: u32,
    /// Start time (Unix seconds) the caller saw for this PID; a different process now
    /// holding the PID is refused. Coarse: a PID reused within the same second passes;
    /// give `expected_start_ticks` too (when both are given, both must match).
    pub expected_start_time: Option<u64>,
    /// Start time in clock ticks since boot (`/proc/PID/stat` field 22, 1/100 s) the
    /// caller saw for this PID: the exact guard against a recycled PID.
    pub expected_start_ticks: Option<u64>,
    /// First signal to send.
    pub signal: Signal,
    /// Whether and when to escalate.
    pub escalation: Escalation,
}

impl KillRequest {
    /// SIGTERM, then SIGKILL after 5 seconds: the default a person expects from "kill".
    pub fn new(pid: u32) -> Self {
        Self {
            pid,
            expected_start_time: None,
            expected_start_ticks: None,
            signal: Signal::TERM,
            escalation: Escalation::KillAfter(Duration::from_secs(5)),
        }
    }

    /// Opens the target, refusing it unless it is the instance the caller saw.
    fn open(&self) -> Result<ProcessHandle> {
        ProcessHandle::open(
            self.pid,
            self.expected_start_time,
            self.expected_start_ticks,
        )
    }
}

/// What a kill did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillOutcome {
    /// The PID signalled.
    pub pid: u32,
    /// Its name at the time.
    pub name: String,
    /// Its start time (Unix seconds).
    pub start_time: u64,
    /// Its start time in clock ticks since boot (0 from a helper that predates it).
    #[serde(default)]
    pub start_ticks: u64,
    /// The first signal sent.
    pub signal: Signal,
    /// Whether the process was seen to exit.
    pub exited: bool,
    /// The last signal sent before it exited (SIGKILL after an escalation).
    pub ended_by: Option<Signal>,
    /// Whether SIGKILL had to follow the first signal.
    pub escalated: bool,
    /// From the first signal to the exit (or to delivery, when not waited for).
    pub elapsed_ms: u64,
}

impl std::fmt::Display for KillOutcome {
    /// One line for people: "pid 42 (sleep): ended by SIGTERM after 12 ms".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let elapsed = if self.elapsed_ms < 1000 {
            format!("{} ms", self.elapsed_ms)
        } else {
            format!("{:.2} s", self.elapsed_ms as f64 / 1000.0)
        };
        write!(f, "pid {} ({}): ", self.pid, self.name)?;
        match (self.exited, self.ended_by) {
            (true, Some(by)) if self.escalated => {
                write!(f, "ignored {}, ended by {by} after {elapsed}", self.signal)
            }
            (true, Some(by)) => write!(f, "ended by {by} after {elapsed}"),
            _ => write!(f, "{} delivered", self.signal),
        }
    }
}

/// One line of a kill report: the outcome for a PID, or why it failed. This is the JSON
/// that `procward kill --json` prints and that an elevated kill reads back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillRecord {
    /// The PID this record is about.
    pub pid: u32,
    /// What happened, when the kill ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<KillOutcome>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failure's class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
    /// What the daemon reported, when the kill went through it (a managed process or its
    /// shim, stopped through the supervisor instead of signalled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl KillRecord {
    /// Turns one result into a record.
    pub fn new(pid: u32, result: &Result<KillOutcome>) -> Self {
        match result {
            Ok(outcome) => Self {
                pid,
                outcome: Some(outcome.clone()),
                error: None,
                kind: None,
                message: None,
            },
            Err(e) => Self {
                pid,
                outcome: None,
                error: Some(e.to_string()),
                kind: Some(e.kind()),
                message: None,
            },
        }
    }
}

/// The seed contract: SIGTERM, then SIGKILL after 5 seconds.
pub fn kill_process(pid: u32) -> Result<KillOutcome> {
    kill(&KillRequest::new(validate_pid(i64::from(pid))?))
}

/// One process, as the request says.
pub fn kill(request: &KillRequest) -> Result<KillOutcome> {
    validate_pid(i64::from(request.pid))?;
    let handle = request.open()?;
    let mut results = execute(vec![Job::new(handle, request)]);
    results.pop().expect("one job, one result").1
}

/// A process and all its descendants, parents signalled before children so a parent
/// cannot respawn the children it loses. Fails as a whole (nothing signalled) when the root
/// cannot be opened or the tree contains procward itself or its caller.
pub fn kill_tree(request: &KillRequest) -> Result<Vec<(u32, Result<KillOutcome>)>> {
    validate_pid(i64::from(request.pid))?;
    let root = request.open()?;
    let table = parent_table()?;
    let parents: HashMap<u32, u32> = table.iter().copied().collect();
    let mut jobs = vec![Job::new(root, request)];
    for pid in descendants(&table, request.pid) {
        validate_pid(i64::from(pid)).map_err(|e| match e {
            Error::ProtectedPid { reason, .. } => Error::ProtectedPid {
                pid: i64::from(request.pid),
                reason: format!("its tree contains PID {pid}: {reason}"),
            },
            other => other,
        })?;
        // A descendant that exited, or whose PID now has another parent, is skipped.
        let Ok(handle) = ProcessHandle::open(pid, None, None) else {
            continue;
        };
        if Some(&handle.identity.ppid) != parents.get(&pid) {
            continue;
        }
        jobs.push(Job::new(
            handle,
            &KillRequest {
                pid,
                expected_start_time: None,
                expected_start_ticks: None,
                ..*request
            },
        ));
    }
    Ok(execute(jobs))
}

/// Several processes (each with its tree when `tree` is set), escalating in parallel so N
/// stubborn processes take one timeout, not N. Every PID must already be validated.
pub fn kill_all(requests: &[KillRequest], tree: bool) -> Vec<(u32, Result<KillOutcome>)> {
    let mut jobs = Vec::new();
    let mut results = Vec::new();
    for request in requests {
        if tree {
            match kill_tree(request) {
                Ok(done) => results.extend(done),
                Err(e) => results.push((request.pid, Err(e))),
            }
            continue;
        }
        match validate_pid(i64::from(request.pid)).and_then(|_| request.open()) {
            Ok(handle) => jobs.push(Job::new(handle, request)),
            Err(e) => results.push((request.pid, Err(e))),
        }
    }
    results.extend(execute(jobs));
    results
}

/// One target's progress through the signal/wait/escalate sequence.
struct Job {
    handle: ProcessHandle,
    first: Signal,
    last: Signal,
    escalation: Escalation,
    deadline: Option<Instant>,
    escalated: bool,
    result: Option<Result<KillOutcome>>,
}

impl Job {
    fn new(handle: ProcessHandle, request: &KillRequest) -> Self {
        Self {
            handle,
            first: request.signal,
            last: request.signal,
            escalation: request.escalation,
            deadline: None,
            escalated: false,
            result: None,
        }
    }

    fn finish(&mut self, started: Instant, exited: bool) {
        let identity = &self.handle.identity;
        self.result = Some(Ok(KillOutcome {
            pid: identity.pid,
            name: identity.name.clone(),
            start_time: identity.start_time,
            start_ticks: identity.start_ticks,
            signal: self.first,
            exited,
            ended_by: exited.then_some(self.last),
            escalated: self.escalated,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }));
    }
}

fn execute(mut jobs: Vec<Job>) -> Vec<(u32, Result<KillOutcome>)> {
    let started = Instant::now();
    for job in &mut jobs {
        if let Err(e) = job.handle.send(job.first) {
            job.result = Some(Err(e));
            continue;
        }
        job.deadline = match (job.first, job.escalation) {
            (Signal::KILL, _) => Some(started + KILL_GRACE),
            (signal, Escalation::KillAfter(after)) if signal.is_termination() => {
                Some(started + after)
            }
            _ => None,
        };
        if job.deadline.is_none() {
            job.finish(started, false);
        }
    }
    loop {
        let now = Instant::now();
        for job in jobs.iter_mut().filter(|j| j.result.is_none()) {
            let deadline = job.deadline.expect("waiting jobs have a deadline");
            if now < deadline {
                continue;
            }
            if job.last == Signal::KILL {
                let pid = job.handle.identity.pid;
                job.result = Some(Err(Error::StillAlive {
                    pid,
                    after: KILL_GRACE,
                }));
            } else {
                job.last = Signal::KILL;
                job.escalated = true;
                job.deadline = Some(now + KILL_GRACE);
                if job.handle.send(Signal::KILL).is_err() {
                    // It exited between the deadline and SIGKILL: the first signal won.
                    job.last = job.first;
                    job.escalated = false;
                    job.finish(started, true);
                }
            }
        }
        let waiting: Vec<&mut Job> = jobs.iter_mut().filter(|j| j.result.is_none()).collect();
        if waiting.is_empty() {
            break;
        }
        let next = waiting
            .iter()
            .filter_map(|j| j.deadline)
            .min()
            .expect("deadline");
        for job in exited_within(waiting, next.saturating_duration_since(Instant::now())) {
            job.finish(started, true);
        }
    }
    jobs.into_iter()
        .map(|j| (j.handle.identity.pid, j.result.expect("every job decided")))
        .collect()
}

/// Polls the jobs' pidfds together for up to `timeout`; returns the ones that exited.
fn exited_within(jobs: Vec<&mut Job>, timeout: Duration) -> Vec<&mut Job> {
    let spec = Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    let ready: Vec<bool> = {
        let mut fds: Vec<PollFd<'_>> = jobs
            .iter()
            .map(|j| PollFd::new(j.handle.fd(), PollFlags::IN))
            .collect();
        match poll(&mut fds, Some(&spec)) {
            Ok(n) if n > 0 => fds.iter().map(|f| !f.revents().is_empty()).collect(),
            _ => vec![false; fds.len()],
        }
    };
    jobs.into_iter()
        .zip(ready)
        .filter_map(|(job, ready)| ready.then_some(job))
        .collect()
}
