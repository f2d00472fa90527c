//! procward.toml resource limits: values, units and error positions.

use std::path::Path;

use super::parse_compose;
use crate::resources::BreachAction;

fn one(extra: &str) -> Result<crate::supervisor::spec::ProcessSpec, String> {
    let text = format!("[process.hog]\ncommand = 'true'\n{extra}\n");
    parse_compose(&text, Path::new("/srv"))
        .map(|mut specs| specs.remove(0))
        .map_err(|e| e.to_string())
}

#[test]
fn limits_are_read_with_units() {
    let spec = one(
        "memory_max = '64M'\nmemory_high = 50331648\ncpu_max = '150%'\npids_max = 20\n\
         on_breach = 'stop'\nbest_effort = true",
    )
    .unwrap();
    let limits = &spec.limits;
    assert_eq!(limits.memory_max, Some(64 << 20));
    assert_eq!(limits.memory_high, Some(48 << 20));
    assert_eq!(limits.cpu_max, Some(150));
    assert_eq!(limits.pids_max, Some(20));
    assert_eq!(limits.on_breach, BreachAction::Stop);
    assert!(limits.best_effort);
    assert!(one("").unwrap().limits.is_unset());
    assert_eq!(one("cpu_max = 50").unwrap().limits.cpu_max, Some(50));
}

#[test]
fn bad_limits_point_at_the_value() {
    for (line, expect) in [
        ("memory_max = '64 parsecs'", "unknown unit"),
        ("memory_max = '1K'", "outside 1MiB to 16TiB"),
        ("memory_max = -5", "negative"),
        ("cpu_max = 'lots'", "not a CPU limit"),
        ("cpu_max = 0", "outside 1%"),
        ("pids_max = -1", "expected u32"),
        ("on_breach = 'explode'", "unknown variant `explode`"),
        (
            "memory_max = '64M'\nmemory_high = '128M'",
            "above memory_max",
        ),
        ("pids_max = 0", "pids_max"),
    ] {
        let e = one(line).unwrap_err();
        assert!(e.contains(expect), "{line}: {e}");
        assert!(e.contains("procward.toml:"), "{line}: no position in {e}");
    }
}
