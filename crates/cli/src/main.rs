//! `procward`: supervise, inspect and safely control processes and ports.

#[cfg(target_arch = "x86_64")]
mod musl_memcpy;

fn main() -> std::process::ExitCode {
    procward_cli::client_main()
}
