//! Spawning a process straight into a cgroup v2 directory with
//! `clone3(CLONE_INTO_CGROUP)` (Linux 5.7+), or where its parent is with plain `clone3`.
//!
//! Why not `std::process::Command`: std can only start a child where its parent is, so
//! the shim had to move itself into the unit (a write to `cgroup.procs`) before spawning.
//! Every such migration takes the write side of the kernel's global
//! `cgroup_threadgroup_rwsem`, which waits for an RCU grace period: 5 to 15 ms on an idle
//! machine, on every `procward start` and every job attempt. A child created inside its
//! cgroup takes that lock for reading only, so placement costs nothing. And std leaves
//! the parent's blocked signals blocked in the child (the shim blocks SIGHUP, SIGINT and
//! SIGPIPE to survive them), where a managed process must start with an empty mask.
//!
//! This is procward's main place with `unsafe` (`sys::background` has two plain calls): the raw `clone3` system call and the
//! child's few system calls between it and `execve`. Everything the child needs (C
//! strings, pointer arrays, descriptors) is prepared before the clone; the child only
//! calls async-signal-safe functions and never returns into Rust code.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `CLONE_INTO_CGROUP` from `linux/sched.h`.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
/// The child's stack while it shares this address space (`CLONE_VM`), until it execs.
#[cfg(target_arch = "x86_64")]
const CHILD_STACK: usize = 64 * 1024;

/// `struct clone_args` of `linux/sched.h`, version 2 (with `cgroup`), 88 bytes.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What to run and where.
pub struct SpawnRequest<'a> {
    /// The program: a path, or a name looked up in `PATH` of `env` (else the default
    /// `/usr/local/bin:/usr/bin:/bin`).
    pub program: &'a str,
    /// Arguments after the program name.
    pub args: &'a [String],
    /// The child's whole environment; with `inherit_env`, what is added to (or replaced
    /// in) this process's own.
    pub env: &'a BTreeMap<String, String>,
    /// Start from this process's environment: its entries are passed to `execve` as they
    /// are, without a copy (the shim's environment is the daemon's).
    pub inherit_env: bool,
    /// The working directory, if not the caller's.
    pub cwd: Option<&'a Path>,
    /// The cgroup v2 directory the child is created in; `None`: the caller's cgroups.
    pub cgroup: Option<BorrowedFd<'a>>,
}

/// A started child: leader of its own process group, stdin on `/dev/null`.
pub struct Spawned {
    /// Its pid.
    pub pid: u32,
    /// The read end of its stdout.
    pub stdout: OwnedFd,
    /// The read end of its stderr.
    pub stderr: OwnedFd,
}

/// Why a spawn did not happen.
#[derive(Debug)]
pub enum SpawnError {
    /// `clone3` or `CLONE_INTO_CGROUP` is not available here (old kernel, seccomp, not
    /// a cgroup v2 directory): nothing was started; the caller may fall back.
    Unsupported(io::Error),
    /// The child could not be started (not found, not executable, bad directory).
    Failed(io::Error),
}

/// Starts `request` (inside its cgroup when it names one). Returns once the child has
/// exec'd or failed to, so exec errors come back here as [`SpawnError::Failed`]. A
/// relative program path is resolved in the child's working directory, as a shell would.
pub fn spawn(request: &SpawnRequest<'_>) -> Result<Spawned, SpawnError> {
    let failed = SpawnError::Failed;
    let c = |bytes: &[u8]| CString::new(bytes).map_err(|e| failed(io::Error::other(e)));
    let program = resolve(request.program, request.env, request.inherit_env)
        .ok_or_else(|| failed(io::Error::from_raw_os_error(libc::ENOENT)))?;
    let program = c(program.as_os_str().as_bytes())?;
    let mut argv = vec![c(request.program.as_bytes())?];
    for arg in request.args {
        argv.push(c(arg.as_bytes())?);
    }
    let mut envp = Vec::with_capacity(request.env.len());
    for (key, value) in request.env {
        envp.push(c(format!("{key}={value}").as_bytes())?);
    }
    let cwd = request
        .cwd
        .map(|cwd| c(cwd.as_os_str().as_bytes()))
        .transpose()?;
    let argv_ptrs = null_terminated(&argv);
    let mut envp_ptrs = null_terminated(&envp);
    if request.inherit_env {
        envp_ptrs.pop();
        envp_ptrs.extend(inherited(request.env));
        envp_ptrs.push(std::ptr::null());
    }
    let ignored = ignored_signals();

    let null = File::open("/dev/null").map_err(failed)?;
    let cloexec = rustix::pipe::PipeFlags::CLOEXEC;
    let pipe = || rustix::pipe::pipe_with(cloexec).map_err(|e| failed(e.into()));
    let (out_read, out_write) = pipe()?;
    let (err_read, err_write) = pipe()?;
    // Closed by a successful exec; carries the errno of a failed one.
    let (status_read, status_write) = pipe()?;

    let child = ChildSetup {
        stdin: null.as_raw_fd(),
        stdout: out_write.as_raw_fd(),
        stderr: err_write.as_raw_fd(),
        status: status_write.as_raw_fd(),
        program: program.as_ptr(),
        argv: argv_ptrs.as_ptr(),
        envp: envp_ptrs.as_ptr(),
        cwd: cwd.as_ref().map_or(std::ptr::null(), |cwd| cwd.as_ptr()),
        ignored: ignored.as_ptr(),
        ignored_len: ignored.len(),
    };
    let args = CloneArgs {
        flags: request.cgroup.map_or(0, |_| CLONE_INTO_CGROUP),
        exit_signal: libc::SIGCHLD as u64,
        cgroup: request.cgroup.map_or(0, |fd| fd.as_raw_fd() as u64),
        ..CloneArgs::default()
    };
    let pid = clone_child(args, &child);
    if pid < 0 {
        return Err(SpawnError::Unsupported(io::Error::last_os_error()));
    }
    drop((out_write, err_write, status_write, null));
    let pid = pid as u32;
    let mut errno = [0u8; 4];
    let read = loop {
        match rustix::io::read(&status_read, &mut errno) {
            Err(rustix::io::Errno::INTR) => continue,
            other => break other,
        }
    };
    if let Ok(4) = read {
        // The child failed before exec and exits at once: reap it here.
        let _ = rustix::process::waitpid(
            rustix::process::Pid::from_raw(pid as i32),
            rustix::process::WaitOptions::empty(),
        );
        return Err(SpawnError::Failed(io::Error::from_raw_os_error(
            i32::from_ne_bytes(errno),
        )));
    }
    Ok(Spawned {
        pid,
        stdout: out_read,
        stderr: err_read,
    })
}

/// Creates the child, which runs `child.exec()`; its pid, or -1 with errno set.
///
/// On x86-64 the child first shares this address space and this thread waits until it
/// has exec'd (`CLONE_VM | CLONE_VFORK`, as `posix_spawn` does): no page table is copied,
/// no page of the shim turns copy-on-write (each would fault again at its next write),
/// and the child's `execve` has no copied address space to tear down. Measured with
/// `perf` on 1,000 `true` jobs, the fork-shaped costs (copy, faults, teardown) were the
/// largest part of a shim's CPU time. Where that clone is refused, and on other
/// architectures, the child gets a copy of the address space (plain `clone3`).
fn clone_child(args: CloneArgs, child: &ChildSetup) -> libc::c_long {
    #[cfg(target_arch = "x86_64")]
    {
        let pid = clone_sharing_memory(&args, child);
        if pid >= 0 {
            return pid;
        }
    }
    // SAFETY: `args` is a valid clone_args of the size given; without CLONE_VM the child
    // gets a copy of this address space, in which `child`'s pointers stay valid until it
    // execs or exits. The child runs only `ChildSetup::exec`, which never returns.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid == 0 {
        child.exec();
    }
    pid
}

/// `clone3(CLONE_VM | CLONE_VFORK)` with a stack of the child's own, on which it calls
/// [`child_entry`]; returns once the child has exec'd or exited (its pid), or -1.
#[cfg(target_arch = "x86_64")]
fn clone_sharing_memory(args: &CloneArgs, child: &ChildSetup) -> libc::c_long {
    const CLONE_VM: u64 = 0x100;
    const CLONE_VFORK: u64 = 0x4000;
    // 16-byte units: the stack's top is aligned as the ABI wants before a call.
    let mut stack: Vec<u128> = Vec::with_capacity(CHILD_STACK / 16);
    let args = CloneArgs {
        flags: args.flags | CLONE_VM | CLONE_VFORK,
        stack: stack.as_mut_ptr() as u64,
        stack_size: (stack.capacity() * 16) as u64,
        ..*args
    };
    let size = std::mem::size_of::<CloneArgs>();
    let result: libc::c_long;
    // SAFETY: the system call gets a valid clone_args. The child starts on its own
    // stack (the kernel points rsp at its top), where the parent's frames are not, and
    // calls `child_entry(child)`, which never returns. This thread is suspended until the
    // child has exec'd or exited (CLONE_VFORK), so `child`, the strings it points to and
    // `stack` outlive the child's use of them. The child writes only to its own stack:
    // `ChildSetup::exec` makes async-signal-safe calls on prepared values.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov rdi, r12",
            "call {entry}",
            "ud2",
            "2:",
            entry = sym child_entry,
            inlateout("rax") libc::SYS_clone3 => result,
            in("rdi") &args as *const CloneArgs,
            in("rsi") size,
            in("r12") child as *const ChildSetup,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    drop(stack);
    if result < 0 {
        // SAFETY: errno of this thread, as `syscall(2)` would have set it.
        unsafe { *libc::__errno_location() = -result as libc::c_int };
        return -1;
    }
    result
}

/// Where a child that shares the address space starts, on its own stack.
#[cfg(target_arch = "x86_64")]
extern "C" fn child_entry(child: *const ChildSetup) -> ! {
    // SAFETY: the parent passed a pointer to a `ChildSetup` it keeps alive until this
    // child execs or exits (it is suspended meanwhile).
    unsafe { (*child).exec() }
}

/// Everything the child touches between `clone3` and `execve`, as raw values.
struct ChildSetup {
    stdin: libc::c_int,
    stdout: libc::c_int,
    stderr: libc::c_int,
    status: libc::c_int,
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    ignored: *const libc::c_int,
    ignored_len: usize,
}

impl ChildSetup {
    /// In the child: its own process group, the three standard descriptors, an empty
    /// signal mask and every signal at its default (std resets only SIGPIPE; an ignored
    /// SIGHUP from a `nohup` that started the daemon would reach every process), the
    /// working directory, then `execve`. On failure the errno goes to the status pipe and the
    /// child exits with 127.
    fn exec(&self) -> ! {
        // SAFETY: only async-signal-safe calls on descriptors and C strings prepared by
        // the parent before the clone; `_exit` never returns.
        unsafe {
            if libc::setpgid(0, 0) != 0
                || libc::dup2(self.stdin, 0) < 0
                || libc::dup2(self.stdout, 1) < 0
                || libc::dup2(self.stderr, 2) < 0
            {
                fail(self.status);
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            for i in 0..self.ignored_len {
                libc::signal(*self.ignored.add(i), libc::SIG_DFL);
            }
            if !self.cwd.is_null() && libc::chdir(self.cwd) != 0 {
                fail(self.status);
            }
            libc::execve(self.program, self.argv, self.envp);
            fail(self.status)
        }
    }
}

/// In the child: reports errno on the status pipe and exits with 127.
///
/// # Safety
/// Only for the child between `clone3` and `execve`.
unsafe fn fail(status: libc::c_int) -> ! {
    // SAFETY: errno of this thread; `write` and `_exit` are async-signal-safe.
    unsafe {
        let bytes = (*libc::__errno_location()).to_ne_bytes();
        libc::write(status, bytes.as_ptr().cast(), bytes.len());
        libc::_exit(127)
    }
}

/// The ignored signals as [`remember_ignored_signals`] found them, when it was called.
static IGNORED: std::sync::OnceLock<Vec<libc::c_int>> = std::sync::OnceLock::new();

/// Reads which signals this process ignores once and for all, for every later [`spawn`]
/// of this process and of the processes it forks (the shim spawner calls it before it
/// serves: each shim it forks would otherwise ask the kernel 62 times). Only for a process
/// that never changes which signals it ignores afterwards.
pub fn remember_ignored_signals() {
    IGNORED.get_or_init(query_ignored_signals);
}

/// The signals this process ignores (execve keeps ignored signals ignored; handlers
/// are reset by the kernel anyway).
fn ignored_signals() -> Vec<libc::c_int> {
    IGNORED.get().cloned().unwrap_or_else(query_ignored_signals)
}

/// Asks the kernel which signals this process ignores.
fn query_ignored_signals() -> Vec<libc::c_int> {
    (1..=libc::SIGRTMAX())
        .filter(|&signal| signal != libc::SIGKILL && signal != libc::SIGSTOP)
        .filter(|&signal| {
            // SAFETY: a query only (no new action); `old` is written by the kernel.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            let queried = unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) } == 0;
            queried && old.sa_sigaction == libc::SIG_IGN
        })
        .collect()
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain([std::ptr::null()])
        .collect()
}

/// This process's own environment entries (`KEY=value`, borrowed from the C library's
/// `environ`), but for those `replaced` sets anew.
fn inherited(replaced: &BTreeMap<String, String>) -> Vec<*const libc::c_char> {
    unsafe extern "C" {
        static environ: *const *const libc::c_char;
    }
    let mut entries = Vec::new();
    // SAFETY: `environ` is a null-terminated array of NUL-terminated strings. Nothing
    // changes the environment meanwhile: Rust's `set_var` is `unsafe` for that reason,
    // and procward never calls it (the shim, the one caller, is single-threaded). The
    // entries are used by `execve` before this function's caller returns.
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            let text = std::ffi::CStr::from_ptr(*entry).to_bytes();
            let key = text.split(|b| *b == b'=').next().unwrap_or(text);
            if !std::str::from_utf8(key).is_ok_and(|key| replaced.contains_key(key)) {
                entries.push(*entry);
            }
            entry = entry.add(1);
        }
    }
    entries
}

/// `program` itself when it names a path, else the first executable file called
/// `program` in the `PATH` of `env` (or, inheriting, of this process's environment).
fn resolve(program: &str, env: &BTreeMap<String, String>, inherit: bool) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let own;
    let path = match env.get("PATH") {
        Some(path) => OsStr::new(path.as_str()),
        None => {
            // Read only when the spec sets no PATH of its own.
            own = inherit.then(|| std::env::var_os("PATH")).flatten();
            own.as_deref()
                .unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"))
        }
    };
    super::find_on_path(program, path)
}

/// Opens `dir` for [`SpawnRequest::cgroup`].
pub fn open_cgroup(dir: &Path) -> io::Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    Ok(rustix::fs::open(dir, flags, Mode::empty())?)
}
