//! `procward`: supervise, inspect and safely control processes and ports.

fn main() -> std::process::ExitCode {
    procward_cli::client_main()
}
