//! `procward-shim shim LAUNCH_FILE`: the per-process shim on its own, the same function as
//! the hidden `procward shim` but linked with the core library alone. The daemon runs it
//! when it is installed beside `procward`: a binary a fraction of the size execs faster on
//! every start, and each of a thousand shims keeps far less of it resident.
//! `procward-shim shim --spawner` is the process that forks shims for the daemon.

use std::path::Path;
use std::process::ExitCode;

use procward_core::supervisor::shim;

const USAGE: &str = "usage: procward-shim shim LAUNCH_FILE | procward-shim shim --spawner (started by the procward daemon)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let code = match args.as_slice() {
        [_, command, flag] if command == "shim" && flag == shim::spawner::SPAWNER_FLAG => {
            shim::spawner::serve()
        }
        [_, command, launch_file] if command == "shim" && !launch_file.starts_with('-') => {
            shim::run(Path::new(launch_file))
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
