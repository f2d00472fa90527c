//! `procward shim LAUNCH_FILE` (hidden): the per-process shim the daemon starts. It owns
//! the managed process's pipes and records its exit; see `procward_core::supervisor::shim`.

/// Arguments of the hidden `procward shim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The launch spec written by the daemon.
    launch_file: std::path::PathBuf,
}

/// Runs the shim; its exit code is the shim's own (0 once the child's exit is recorded).
pub fn run(args: Args) -> anyhow::Result<u8> {
    let code = procward_core::supervisor::shim::run(&args.launch_file);
    Ok(u8::try_from(code).unwrap_or(1))
}
