//! The shim's own side: spawn the child, copy its pipes into rotating logs, reap it and
//! record how it ended.

use super::child::Running;
use super::exit_channel::ExitChannel;
use super::log_state::LogStateFile;
use super::stream::{Log, Stream};
use super::*;
use crate::sys::spawn_into::{self, SpawnError, SpawnRequest};

/// While a log owes a marker line (output was dropped), how often the shim tries to write
/// it when no output comes.
const MARKER_RETRY: Duration = Duration::from_millis(500);
/// Capacity asked for each of the child's output pipes (the default is 64 KiB; 1 MiB is
/// what an unprivileged process may ask for by default).
const PIPE_SIZE: usize = 1024 * 1024;

/// The shim's main (`procward shim <launch_file>`): starts the child, captures its output
/// until it exits and records how it ended. Returns the shim's exit code: 0 once the status
/// file is written, 127 if the child could not be started, 1 if the status could not be
/// recorded.
pub fn run(launch_file: &Path) -> i32 {
    let file = launch_file.display();
    let spec = fs::read(launch_file)
        .map_err(|e| format!("cannot read launch file {file}: {e}"))
        .and_then(|bytes| parse_spec(&bytes, &format!("launch file {file}")));
    run_spec(spec)
}

/// [`run`] for a shim forked by the spawner with its launch spec in the request (no
/// launch file to create, write and read on every start).
pub(super) fn run_inline(json: &[u8]) -> i32 {
    run_spec(parse_spec(json, "launch spec"))
}

fn parse_spec(json: &[u8], what: &str) -> Result<LaunchSpec, String> {
    serde_json::from_slice::<LaunchSpec>(json).map_err(|e| format!("invalid {what}: {e}"))
}

fn run_spec(spec: Result<LaunchSpec, String>) -> i32 {
    // Fails only if we already lead a group, which also keeps group signals away.
    let _ = rustix::process::setsid();
    block_signals();
    let (spec, mut child, streams) = match spec.and_then(start) {
        Ok(started) => started,
        Err(error) => return report(&Report::Failed { error }, 127),
    };
    let child_pid = child.id();
    // Kept before `report` points stdout at /dev/null.
    let channel = spec.hand_over_exit.then(ExitChannel::keep_stdout).flatten();
    // Not reaped yet, so its /proc entry is there even if it already exited.
    let start = crate::sys::process::start_of(child_pid);
    report(
        &Report::Started {
            child_pid,
            child_start_time: start.map_or(0, |(time, _)| time),
            child_start_ticks: start.map(|(_, ticks)| ticks),
        },
        0,
    );

    let log_state = match spec.no_log_state {
        true => LogStateFile::none(),
        false => LogStateFile::open(&spec.status_file.with_file_name(LOG_STATE_FILE)),
    };
    // Taken now, while the disk may still have room: the exit must be recorded even if
    // it fills up meanwhile. A shim that hands its exit to the daemon writes the file
    // only when the daemon is gone, and takes that chance.
    let reserved = match channel {
        Some(_) => None,
        None => Reserved::new(&spec.status_file, 0o640).ok(),
    };
    let (status, logs) = capture(&mut child, streams, log_state);
    if let Err(e) = record_exit(&spec.status_file, status, logs, reserved, channel) {
        let path = spec.status_file.display();
        let _ = writeln!(io::stderr(), "procward shim: cannot write {path}: {e}");
        return 1;
    }
    0
}

/// Opens the logs and spawns the child; the error is the user-facing message.
fn start(spec: LaunchSpec) -> Result<(LaunchSpec, Running, [Stream; 2]), String> {
    let open = |path: &Path| {
        let log = Log::new(path.into(), spec.max_bytes, spec.max_files, spec.lazy_logs);
        log.map_err(|e| format!("cannot open log file {}: {e}", path.display()))
    };
    let (out_log, err_log) = (open(&spec.stdout_log)?, open(&spec.stderr_log)?);
    let Some((program, args)) = spec.argv.split_first() else {
        return Err("cannot run an empty command".to_string());
    };
    let cannot = |why: String| format!("cannot run '{program}': {why}");
    let cwd = spec.cwd.as_deref();
    if let Some(cwd) = cwd.filter(|cwd| !cwd.is_dir()) {
        let what = ["does not exist", "is not a directory"][cwd.exists() as usize];
        return Err(cannot(format!(
            "working directory {} {what}",
            cwd.display()
        )));
    }
    let (child, stdout, stderr) = match spawn(&spec, program, args) {
        Ok(Spawn::Direct(spawned)) => {
            (Running::Direct(spawned.pid), spawned.stdout, spawned.stderr)
        }
        Ok(Spawn::Std(mut child)) => {
            let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
                return Err(cannot("no pipes to the child".into()));
            };
            (Running::Std(child), stdout.into(), stderr.into())
        }
        Err(e) => return Err(cannot(spawn_error(&e, cwd))),
    };
    for pipe in [&stdout, &stderr] {
        // A deeper pipe lets a chatty child keep writing while the shim is at the disk,
        // instead of waking it every 64 KiB. The kernel's per-user limit may refuse it.
        let _ = rustix::pipe::fcntl_setpipe_size(pipe, PIPE_SIZE);
    }
    let out = Stream::new(stdout, out_log, spec.timestamps);
    let err = Stream::new(stderr, err_log, spec.timestamps);
    Ok((spec, child, [out, err]))
}

/// A spawned child, by how it was spawned.
enum Spawn {
    Direct(spawn_into::Spawned),
    Std(Child),
}

/// Spawns the child inside its unit. A unit that is a single cgroup v2 directory gets
/// the child created inside it (`clone3(CLONE_INTO_CGROUP)`: no migration, so no wait for
/// the kernel's global cgroup lock, 5-15 ms). Otherwise the shim joins the unit, spawns
/// and leaves. `std::process::Command` is the last resort, where `clone3` is refused.
fn spawn(spec: &LaunchSpec, program: &str, args: &[String]) -> io::Result<Spawn> {
    let mut request = SpawnRequest {
        program,
        args,
        env: &spec.env,
        inherit_env: spec.inherit_env,
        cwd: spec.cwd.as_deref(),
        cgroup: None,
    };
    let sole = spec.cgroup.as_ref().and_then(|unit| unit.sole_v2_dir());
    let cgroup = sole.and_then(|dir| spawn_into::open_cgroup(dir).ok());
    if let Some(cgroup) = &cgroup {
        request.cgroup = Some(cgroup.as_fd());
        match spawn_into::spawn(&request) {
            Ok(spawned) => return Ok(Spawn::Direct(spawned)),
            Err(SpawnError::Failed(e)) => return Err(e),
            Err(SpawnError::Unsupported(_)) => request.cgroup = None,
        }
    }
    let placement = match &spec.cgroup {
        Some(unit) => Some(
            unit.join()
                .map_err(|e| io::Error::other(format!("cannot enter its cgroup: {e}")))?,
        ),
        None => None,
    };
    let spawned = match spawn_into::spawn(&request) {
        Ok(spawned) => Ok(Spawn::Direct(spawned)),
        Err(SpawnError::Failed(e)) => Err(e),
        Err(SpawnError::Unsupported(_)) => spawn_std(spec, program, args).map(Spawn::Std),
    };
    if let Some(placement) = placement {
        // Back where it was: the shim's memory and tasks are not the process's.
        let _ = crate::cgroup::Unit::leave(placement);
    }
    spawned
}

/// Spawns the child with std (where `clone3` is refused; it keeps the shim's blocked
/// signals blocked in the child).
fn spawn_std(spec: &LaunchSpec, program: &str, args: &[String]) -> io::Result<Child> {
    let mut command = Command::new(program);
    if !spec.inherit_env {
        command.env_clear();
    }
    command.args(args).envs(&spec.env).process_group(0);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    command.spawn()
}

/// The user-facing reason a spawn failed.
fn spawn_error(e: &io::Error, cwd: Option<&Path>) -> String {
    use rustix::fs::{Access, access};
    let blocked = cwd.filter(|cwd| access(*cwd, Access::EXEC_OK).is_err());
    match (e.kind(), blocked) {
        (io::ErrorKind::PermissionDenied, Some(cwd)) => {
            format!(
                "working directory {}: permission denied ({e})",
                cwd.display()
            )
        }
        (io::ErrorKind::PermissionDenied, None) => format!("permission denied ({e})"),
        (io::ErrorKind::NotFound, _) => format!("command not found ({e})"),
        _ => e.to_string(),
    }
}

/// Copies both pipes into their logs until the child has exited and the pipes are at EOF
/// (or silent for [`DRAIN_IDLE`] after the exit); returns how the child ended. What the
/// logs lose to a full disk is kept up to date in `log_state`.
fn capture(
    child: &mut Running,
    mut streams: [Stream; 2],
    mut log_state: LogStateFile,
) -> (ExitStatus, [Option<RotatingWriter>; 2]) {
    // Without pidfds (kernels before 5.3) the child is checked every 100 ms instead.
    let pidfd =
        Pid::from_raw(child.id() as i32).and_then(|pid| pidfd_open(pid, PidfdFlags::empty()).ok());
    let mut buf = Vec::with_capacity(READ_SIZE);
    let mut exited = None;
    let mut idle_until = Instant::now();
    loop {
        let open = streams.iter().any(|s| s.pipe().is_some());
        if let Some(status) = exited
            && (!open || Instant::now() >= idle_until)
        {
            return (status, streams.map(Stream::into_writer));
        }
        let mut timeout = match (exited, &pidfd) {
            (Some(_), _) => Some(idle_until.saturating_duration_since(Instant::now())),
            (None, None) => Some(Duration::from_millis(100)),
            (None, Some(_)) => None,
        };
        let owing = streams.iter().any(Stream::owes_marker);
        if owing {
            // A quiet stream's marker must not wait for its next line.
            timeout = Some(timeout.map_or(MARKER_RETRY, |t| t.min(MARKER_RETRY)));
        }
        let pidfd = pidfd.as_ref().filter(|_| exited.is_none());
        let ready = wait_ready(&streams, pidfd, timeout);
        for (stream, _) in streams.iter_mut().zip(ready).filter(|(_, ready)| *ready) {
            if stream.pump(&mut buf) {
                idle_until = Instant::now() + DRAIN_IDLE;
            }
        }
        if owing {
            for stream in &mut streams {
                stream.retry_marker();
            }
        }
        log_state.update([streams[0].writer(), streams[1].writer()]);
        if exited.is_none()
            && (ready[2] || pidfd.is_none())
            && let Ok(Some(status)) = child.try_wait()
        {
            exited = Some(status);
            idle_until = Instant::now() + DRAIN_IDLE;
        }
    }
}

/// Polls the open pipes and the pidfd: which are ready, `[stdout, stderr, pidfd]`.
fn wait_ready(streams: &[Stream; 2], pidfd: Option<&OwnedFd>, wait: Option<Duration>) -> [bool; 3] {
    let pipes = streams.iter().map(Stream::pipe);
    let fds = pipes.chain([pidfd.map(AsFd::as_fd)]).enumerate();
    let (slots, mut fds): (Vec<_>, Vec<_>) = fds
        .filter_map(|(slot, fd)| Some((slot, PollFd::from_borrowed_fd(fd?, PollFlags::IN))))
        .unzip();
    let mut ready = [false; 3];
    match poll(&mut fds, wait.map(timespec).as_ref()) {
        Ok(_) => fds
            .iter()
            .zip(slots)
            .for_each(|(fd, slot)| ready[slot] = !fd.revents().is_empty()),
        Err(rustix::io::Errno::INTR) => {}
        // Not expected on pipes and pidfds; never spin on it.
        Err(_) => std::thread::sleep(Duration::from_millis(10)),
    }
    ready
}

/// Finishes both logs and records the exit: handed over on `channel` when the daemon
/// takes it, else written to the status file (into the staging file `reserved` at
/// start, when there is one). The fsyncs of the logs that were written to run in threads
/// beside the record's, so the filesystem can commit them together; a silent stream
/// (most short jobs' stderr, both streams of a `true`) is closed without a thread or a
/// flush. The record becomes visible (the rename) only after the logs are complete and on
/// disk.
fn record_exit(
    file: &Path,
    status: ExitStatus,
    logs: [Option<RotatingWriter>; 2],
    reserved: Option<Reserved>,
    channel: Option<ExitChannel>,
) -> io::Result<()> {
    let record = ExitRecord {
        exit_code: status.code(),
        signal: status.signal(),
        ended_at_ms: crate::sys::unix_ms(SystemTime::now()),
    };
    let json = serde_json::to_vec(&record)?;
    let (written, silent): (Vec<_>, Vec<_>) = logs
        .into_iter()
        .flatten()
        .partition(RotatingWriter::needs_sync);
    silent
        .into_iter()
        .for_each(|log| finish_log(log.path().to_owned(), log.finish()));
    if let Some(channel) = channel {
        // The logs are on disk before the daemon saves the run as ended.
        for log in written {
            finish_log(log.path().to_owned(), log.finish());
        }
        if channel.hand_over(&record) {
            return Ok(());
        }
        return commit(&stage(file, &json, 0o640)?, file);
    }
    let staged = std::thread::scope(|scope| {
        let finishing: Vec<_> = written
            .into_iter()
            .map(|log| scope.spawn(move || (log.path().to_owned(), log.finish())))
            .collect();
        let staged = match reserved {
            Some(reserved) => reserved.stage(&json),
            None => stage(file, &json, 0o640),
        };
        let staged = staged.or_else(|_| stage(file, &json, 0o640));
        for finished in finishing {
            if let Ok((path, result)) = finished.join() {
                finish_log(path, result);
            }
        }
        staged
    })?;
    commit(&staged, file)
}

/// Says on stderr (the daemon keeps it) that a log could not be finished.
fn finish_log(path: PathBuf, result: io::Result<()>) {
    if let Err(e) = result {
        let path = path.display();
        let _ = writeln!(io::stderr(), "procward shim: cannot finish {path}: {e}");
    }
}

/// Blocks the signals a shim must survive: terminal hangup and interrupt (it has no
/// terminal after `setsid`, but a parent may forward them) and SIGPIPE (the daemon's end
/// of stdout may be gone).
fn block_signals() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
    let set = SigSet::from_iter([Signal::SIGHUP, Signal::SIGINT, Signal::SIGPIPE]);
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
}

/// Writes the one report line to the daemon, then points stdout at `/dev/null`: the
/// daemon's end of the pipe gets EOF, and nothing the shim does later can block on or be
/// killed by a dead reader. Errors are ignored (the daemon may be gone). Returns `code`.
fn report(report: &Report, code: i32) -> i32 {
    if let Ok(mut line) = serde_json::to_vec(report) {
        line.push(b'\n');
        let mut out = io::stdout().lock();
        let _ = out.write_all(&line).and_then(|()| out.flush());
    }
    if let Ok(null) = File::options().write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdout(&null);
    }
    code
}
