use super::*;

#[test]
fn parses_cpu_in_percent_and_cores() {
    assert_eq!(parse_cpu("150%").unwrap(), 150);
    assert_eq!(parse_cpu("150").unwrap(), 150);
    assert_eq!(parse_cpu("1.5cores").unwrap(), 150);
    assert_eq!(parse_cpu(" 50 % ").unwrap(), 50);
    for bad in ["", "abc", "0%", "-5%", "0.2%", "100001%", "NaN", "inf%"] {
        let e = parse_cpu(bad).unwrap_err().to_string();
        assert!(e.contains("cpu_max"), "{bad:?}: {e}");
    }
}

#[test]
fn parses_memory_with_units_and_range() {
    assert_eq!(parse_memory("memory_max", "64M").unwrap(), 64 << 20);
    assert_eq!(parse_memory("memory_max", "1GiB").unwrap(), 1 << 30);
    let e = parse_memory("memory_max", "512K").unwrap_err().to_string();
    assert!(e.contains("memory_max") && e.contains("1MiB"), "{e}");
    let e = parse_memory("memory_high", "12 parsecs")
        .unwrap_err()
        .to_string();
    assert!(e.contains("memory_high") && e.contains("unit"), "{e}");
    assert!(parse_memory("memory_max", "17TiB").is_err());
}

#[test]
fn parses_pids_and_actions() {
    assert_eq!(parse_pids("20").unwrap(), 20);
    assert!(
        parse_pids("0")
            .unwrap_err()
            .to_string()
            .contains("pids_max")
    );
    assert!(parse_pids("twenty").is_err());
    assert_eq!(BreachAction::parse("STOP").unwrap(), BreachAction::Stop);
    let e = BreachAction::parse("explode").unwrap_err().to_string();
    assert!(
        e.contains("on_breach") && e.contains("restart, stop or notify"),
        "{e}"
    );
}

#[test]
fn validates_ranges_and_relation() {
    let ok = ResourceLimits {
        memory_max: Some(64 << 20),
        memory_high: Some(48 << 20),
        cpu_max: Some(150),
        pids_max: Some(20),
        ..Default::default()
    };
    ok.validate().unwrap();
    assert_eq!(ok.kinds().len(), 4);
    assert!(ResourceLimits::default().is_empty());
    let high_above_max = ResourceLimits {
        memory_max: Some(64 << 20),
        memory_high: Some(128 << 20),
        ..Default::default()
    };
    let e = high_above_max.validate().unwrap_err().to_string();
    assert!(e.contains("memory_high") && e.contains("memory_max"), "{e}");
    let tiny = ResourceLimits {
        memory_max: Some(10),
        ..Default::default()
    };
    assert!(
        tiny.validate()
            .unwrap_err()
            .to_string()
            .contains("memory_max")
    );
    let zero_pids = ResourceLimits {
        pids_max: Some(0),
        ..Default::default()
    };
    assert!(
        zero_pids
            .validate()
            .unwrap_err()
            .to_string()
            .contains("pids_max")
    );
}

#[test]
fn serializes_only_what_is_set() {
    let limits = ResourceLimits {
        memory_max: Some(1 << 20),
        on_breach: BreachAction::Stop,
        ..Default::default()
    };
    let json = serde_json::to_string(&limits).unwrap();
    assert_eq!(json, r#"{"memory_max":1048576,"on_breach":"stop"}"#);
    let back: ResourceLimits = serde_json::from_str(&json).unwrap();
    assert_eq!(back, limits);
    assert_eq!(
        serde_json::to_string(&ResourceLimits::default()).unwrap(),
        "{}"
    );
}

#[test]
fn spawn_limits_refuse_with_the_limit_and_the_value() {
    let limits = SpawnLimits {
        max_memory_percent: Some(90.0),
        max_processes: Some(2),
        max_jobs: Some(1),
        ..Default::default()
    };
    limits.validate().unwrap();
    let calm = Load {
        memory_percent: Some(40.0),
        processes: 1,
        ..Default::default()
    };
    limits.check(Spawn::Process, &calm).unwrap();
    let full = Load {
        processes: 2,
        ..calm
    };
    let e = limits.check(Spawn::Process, &full).unwrap_err().to_string();
    assert!(e.contains("max_processes = 2") && e.contains("is 2"), "{e}");
    // The process count does not hold jobs, and the job count does not hold processes.
    limits.check(Spawn::Job, &full).unwrap();
    let busy = Load { jobs: 1, ..calm };
    assert_eq!(
        limits.check(Spawn::Job, &busy).unwrap_err().limit,
        "max_jobs"
    );
    let hot = Load {
        memory_percent: Some(93.14),
        ..calm
    };
    let e = limits.check(Spawn::Job, &hot).unwrap_err().to_string();
    assert!(
        e.contains("max_memory_percent = 90") && e.contains("93.1%"),
        "{e}"
    );
    // Not measured yet: never refuses.
    let unknown = Load::default();
    SpawnLimits {
        max_cpu_percent: Some(1.0),
        ..Default::default()
    }
    .check(Spawn::Process, &unknown)
    .unwrap();
}

#[test]
fn spawn_limits_validate_ranges() {
    for bad in [
        SpawnLimits {
            max_cpu_percent: Some(0.0),
            ..Default::default()
        },
        SpawnLimits {
            max_memory_percent: Some(101.0),
            ..Default::default()
        },
        SpawnLimits {
            max_jobs: Some(0),
            ..Default::default()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}

#[test]
fn sizes_are_shown_in_binary_units() {
    assert_eq!(format_size(512), "512B");
    assert_eq!(format_size(64 << 20), "64.0MiB");
    assert_eq!(format_size((3 << 30) + (512 << 20)), "3.5GiB");
}
