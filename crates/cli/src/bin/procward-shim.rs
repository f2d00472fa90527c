//! `procward-shim shim LAUNCH_FILE`: the per-process shim on its own, the same function as
//! the hidden `procward shim` but linked with the core library alone. The daemon runs it
//! when it is installed beside `procward`: a binary a fraction of the size execs faster on
//! every start, and each of a thousand shims keeps far less of it resident.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, command, launch_file] = args.as_slice() else {
        eprintln!("usage: procward-shim shim LAUNCH_FILE (started by the procward daemon)");
        return ExitCode::from(2);
    };
    if command != "shim" {
        eprintln!("usage: procward-shim shim LAUNCH_FILE (started by the procward daemon)");
        return ExitCode::from(2);
    }
    let code = procward_core::supervisor::shim::run(Path::new(launch_file));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
