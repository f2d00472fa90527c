//! `procwardd`, the binary installed beside `procward`: the daemon, the MCP stdio server
//! and the shim's fallback run there, so the `procward` client links none of the server
//! side (gRPC server, web, MCP, SQLite): a 6.4 MB binary instead of 20.6 MB, whose
//! start-up (part of every CLI call) measured 1.55 ms instead of 1.76 ms.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Context as _;

/// The daemon binary's file name.
pub const DAEMON_EXE: &str = "procwardd";

/// `procwardd` beside the running executable.
pub fn path() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the procward binary")?;
    let daemon = exe.with_file_name(DAEMON_EXE);
    if !daemon.is_file() {
        anyhow::bail!(
            "cannot find {} beside {}: install the binaries together (scripts/release.sh --install)",
            DAEMON_EXE,
            exe.display()
        );
    }
    Ok(daemon)
}

/// Becomes `procwardd` with this process's own arguments: the same pid, stdio, working
/// directory and environment, so `procward daemon` and `procward mcp` behave exactly as
/// if the client ran them. Returns only on failure.
pub fn exec_self_args() -> anyhow::Result<u8> {
    let daemon = path()?;
    let error = Command::new(&daemon)
        .args(std::env::args_os().skip(1))
        .exec();
    Err(error).with_context(|| format!("cannot run {}", daemon.display()))
}
