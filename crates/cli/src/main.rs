//! `procward`: supervise, inspect and safely control processes and ports.

#[cfg(target_arch = "x86_64")]
mod musl_memcpy;

mod musl_alloc;

/// The musl client's allocator (see `musl_alloc.rs`).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: musl_alloc::SplitAllocator = musl_alloc::SplitAllocator::new();

fn main() -> std::process::ExitCode {
    procward_cli::client_main()
}
