//! Test-only stand-in for `procward shim <launch.json>` and `procward shim --spawner`: the
//! shim tests run it before (and independently of) the CLI's hidden subcommand, which
//! calls the same functions.

use std::path::Path;

use procward_core::supervisor::shim;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let code = match args.as_slice() {
        [_, command, flag] if command == "shim" && flag == shim::spawner::SPAWNER_FLAG => {
            shim::spawner::serve()
        }
        [_, command, launch_file] if command == "shim" => shim::run(Path::new(launch_file)),
        _ => {
            eprintln!("usage: shim shim <launch.json> | shim shim --spawner");
            2
        }
    };
    std::process::exit(code);
}
