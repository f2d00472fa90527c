//! What an assistant may do: every tool, or only the read tools; and which processes
//! `kill_process` may touch.

use std::fmt;
use std::str::FromStr;

/// Which processes `kill_process` may signal (managed processes can always be stopped
/// with `stop_process`, unless the server is read-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KillScope {
    /// Only processes procward manages (started with `start_process` or the CLI).
    Managed,
    /// Processes of the daemon's own user (the default).
    #[default]
    Own,
    /// Any process the daemon may signal (still never pid 0, 1, the daemon or its caller).
    Any,
}

impl FromStr for KillScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "managed" => Ok(Self::Managed),
            "own" | "user" => Ok(Self::Own),
            "any" | "all" => Ok(Self::Any),
            other => Err(format!(
                "unknown kill scope '{other}': use managed, own or any"
            )),
        }
    }
}

impl fmt::Display for KillScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Managed => "managed",
            Self::Own => "own",
            Self::Any => "any",
        })
    }
}

/// The server's limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Expose only tools that change nothing.
    pub read_only: bool,
    /// Which processes `kill_process` may signal.
    pub kill: KillScope,
}
