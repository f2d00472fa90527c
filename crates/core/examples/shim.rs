//! Test-only stand-in for `procward shim <launch.json>`: the shim tests run it before (and
//! independently of) the CLI's hidden subcommand, which calls the same function.

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, command, launch_file] = args.as_slice() else {
        eprintln!("usage: shim shim <launch.json>");
        std::process::exit(2);
    };
    if command != "shim" {
        eprintln!("usage: shim shim <launch.json>");
        std::process::exit(2);
    }
    std::process::exit(procward_core::supervisor::shim::run(Path::new(launch_file)));
}
