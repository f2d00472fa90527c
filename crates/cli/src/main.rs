//! `procward`: supervise, inspect and safely control processes and ports.

#[cfg(target_arch = "x86_64")]
mod musl_memcpy;

/// The musl client's allocator. musl's own (mallocng) maps and unmaps pages for nearly
/// every small allocation: a `procward list` made about 100 `mmap`/`munmap` calls, each
/// page zeroed anew on first touch. TLSF keeps the pages it got and
/// reuses them, so it touches fewer: `procward list` with 50 managed processes took
/// 0.74 ms of CPU instead of 1.02 ms (`perf stat -r 200`). A short-lived CLI never needs to
/// give memory back. The glibc build keeps glibc's malloc, which already does this.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

fn main() -> std::process::ExitCode {
    procward_cli::client_main()
}
