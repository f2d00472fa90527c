//! `procwardd`: the procward daemon binary (and the MCP stdio server), run by
//! `procward daemon` and `procward mcp`; see the crate docs of `procward_cli`.

fn main() -> std::process::ExitCode {
    procward_cli::daemon_main()
}
