//! `procward-desktop`: the tray app, or `procward-desktop invoke NAME [JSON]` to run one
//! of its commands from a shell (the same handlers the window calls) and print the answer.

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => procward_desktop::app::run(),
        Some("invoke") => invoke(&args[1..]),
        Some("--help" | "-h") => {
            println!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown argument '{other}'\n\n{HELP}"),
    }
}

const HELP: &str = "\
procward-desktop: listening ports in the system tray, kill by port, managed processes

Usage:
  procward-desktop                     run the tray app (the window opens from the tray)
  procward-desktop invoke NAME [JSON]  run one command and print its JSON answer

Examples:
  procward-desktop invoke get_ports
  procward-desktop invoke kill_process '{\"pid\": 4242, \"startTicks\": 918273}'
  procward-desktop invoke managed_action '{\"name\": \"web\", \"action\": \"stop\"}'

Environment: PROCWARD_HOME (which daemon), PROCWARD_HELPER (the procward binary pkexec
runs for an elevated kill), PROCWARD_DESKTOP_SHOW=1 (open the window at start).";

fn invoke(args: &[String]) -> anyhow::Result<()> {
    let Some(name) = args.first() else {
        bail!("invoke needs a command name\n\n{HELP}");
    };
    let json: serde_json::Value = match args.get(1) {
        Some(text) => serde_json::from_str(text).context("the arguments are not JSON")?,
        None => serde_json::json!({}),
    };
    if !json.is_object() {
        bail!("the arguments must be a JSON object");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let answer = runtime
        .block_on(procward_desktop::commands::invoke(name, &json))
        .map_err(anyhow::Error::msg)?;
    println!("{answer}");
    // A kill that did not succeed is exit 1, so scripts can tell.
    let failed = answer
        .get("status")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|s| s != "Success");
    std::process::exit(i32::from(failed));
}
