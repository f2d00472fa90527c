//! What the shim tests share.

use std::path::PathBuf;

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
