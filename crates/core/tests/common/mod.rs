//! What the shim tests share.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use procward_core::supervisor::shim::LaunchSpec;

/// The shim the tests run: `target/<profile>/examples/shim` (crates/core/examples/shim.rs),
/// which a plain `cargo test` builds along with the tests.
pub fn shim_exe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/TEST-HASH -> target/<profile>/examples/shim
    let shim = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/shim");
    assert!(
        shim.exists(),
        "{} is missing: build it with `cargo build -p procward-core --example shim` \
         (a plain `cargo test` builds it)",
        shim.display()
    );
    shim
}

/// What the tests launch: `argv` in `dir`, logs in `dir/logs`, the exit record in
/// `dir/status.json`, the test's `PATH` and `PROCWARD_TEST=yes`.
pub fn spec(dir: &Path, argv: &[&str]) -> LaunchSpec {
    let env = BTreeMap::from([
        (
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_default(),
        ),
        ("PROCWARD_TEST".to_string(), "yes".to_string()),
    ]);
    LaunchSpec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env,
        cwd: Some(dir.to_path_buf()),
        stdout_log: dir.join("logs/out.log"),
        stderr_log: dir.join("logs/err.log"),
        max_bytes: 10 << 20,
        max_files: 5,
        timestamps: false,
        status_file: dir.join("status.json"),
        cgroup: None,
        hand_over_exit: false,
        no_log_state: false,
        lazy_logs: false,
        inherit_env: false,
    }
}
