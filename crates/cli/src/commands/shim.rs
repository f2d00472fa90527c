//! `procward shim LAUNCH_FILE` (hidden): the per-process shim the daemon starts. It owns
//! the managed process's pipes and records its exit; see `procward_core::supervisor::shim`.
//! `procward shim --spawner` is the process that forks shims for the daemon (see
//! `procward_core::supervisor::shim::spawner`).

/// Arguments of the hidden `procward shim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The launch spec written by the daemon.
    #[arg(required_unless_present = "spawner")]
    launch_file: Option<std::path::PathBuf>,
    /// Serve the daemon's fork requests on stdin instead.
    #[arg(long, conflicts_with = "launch_file")]
    spawner: bool,
}

/// Runs the shim (or the spawner); its exit code is the shim's own (0 once the child's exit
/// is recorded).
pub fn run(args: Args) -> anyhow::Result<u8> {
    use procward_core::supervisor::shim;
    let code = match &args.launch_file {
        Some(file) => shim::run(file),
        None => shim::spawner::serve(),
    };
    Ok(u8::try_from(code).unwrap_or(1))
}
