//! Replicas: a spec with `instances = N` runs as N managed processes named `NAME:0` to
//! `NAME:N-1`, each with `PROCWARD_INSTANCE` set to its index, as pm2's `instances` does.
//! Each replica is a full managed process (its own shim, logs, restarts and health), so
//! one crashing never touches the others; the set is addressed by its base name.
//!
//! A client asks for a set by its plain name (`web`, `instances = 3`); the daemon expands
//! it with [`expand`] before anything is registered. A replica name (`web:1`) is never
//! accepted from a client as the name of a new process: `:` is reserved for replicas
//! (see [`refuse_replica_name`]).

use super::{ProcessSpec, SpecError, invalid, validate_name};

/// Most replicas of one process.
pub const MAX_INSTANCES: u32 = 256;
/// The variable that tells a replica its index (`0` to `N-1`).
pub const INSTANCE_ENV: &str = "PROCWARD_INSTANCE";

/// The name of replica `index` of the set `base`.
pub fn replica_name(base: &str, index: u32) -> String {
    format!("{base}:{index}")
}

/// `web:2` → `("web", 2)`; `None` for a name that is not a replica's.
pub fn split(name: &str) -> Option<(&str, u32)> {
    let (base, index) = name.rsplit_once(':')?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) || index.len() > 3 {
        return None;
    }
    Some((base, index.parse().ok()?))
}

/// The set a process belongs to: its base name for a replica, its own name otherwise.
pub fn base_of(name: &str) -> &str {
    split(name).map_or(name, |(base, _)| base)
}

/// Whether `name` names the process `candidate`, either exactly or as the set the
/// replica `candidate` belongs to.
pub fn names(name: &str, candidate: &str) -> bool {
    candidate == name || split(candidate).is_some_and(|(base, _)| base == name)
}

/// Checks a spec's name against its `instances`: a plain name for any count from 1 to
/// [`MAX_INSTANCES`] (a set not yet expanded), or a replica name `BASE:I` with `I`
/// below the count (a set scaled down to one keeps its `NAME:0`).
pub(super) fn validate_spec_name(name: &str, instances: u32) -> Result<(), SpecError> {
    check_count(instances)?;
    match split(name) {
        Some((base, index)) => {
            validate_name(base)?;
            if index >= instances {
                return Err(invalid(
                    "name",
                    format!("replica {index} of '{base}' is past its {instances} instances"),
                ));
            }
            Ok(())
        }
        _ => validate_name(name),
    }
}

/// What `name` stands for among the registered `names`: itself when registered, else the
/// replicas of the set it names, by index; empty when neither.
pub fn members<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut replicas = Vec::new();
    for candidate in names {
        if candidate == name {
            return vec![name.to_owned()];
        }
        if let Some((base, index)) = split(candidate)
            && base == name
        {
            replicas.push((index, candidate.to_owned()));
        }
    }
    replicas.sort();
    replicas.into_iter().map(|(_, name)| name).collect()
}

/// Parses an instance count as users write it: a number from 1 to [`MAX_INSTANCES`], or
/// `max` for one per CPU this process may run on.
pub fn parse_instances(text: &str) -> Result<u32, SpecError> {
    let text = text.trim();
    let count = if text.eq_ignore_ascii_case("max") {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        cpus.min(MAX_INSTANCES)
    } else {
        text.parse().map_err(|_| {
            invalid(
                "instances",
                format!("{text:?} is not a count: use 1 to {MAX_INSTANCES} or \"max\""),
            )
        })?
    };
    check_count(count).map(|()| count)
}

/// Checks a replica count: 1 to [`MAX_INSTANCES`], on every interface.
pub fn check_count(count: u32) -> Result<(), SpecError> {
    if !(1..=MAX_INSTANCES).contains(&count) {
        return Err(invalid(
            "instances",
            format!("{count} is out of range: 1 to {MAX_INSTANCES}"),
        ));
    }
    Ok(())
}

/// Refuses a replica name as the name of a process a client creates: the daemon makes
/// replicas itself from `instances`.
pub fn refuse_replica_name(name: &str) -> Result<(), SpecError> {
    if split(name).is_some() {
        return Err(invalid(
            "name",
            format!(
                "'{name}' is a replica's name (':' is reserved for them); start '{}' with \
                 instances = N instead",
                base_of(name)
            ),
        ));
    }
    Ok(())
}

/// A set (`instances` above 1, plain name) as its replicas; any other spec as itself.
pub fn expand(spec: ProcessSpec) -> Vec<ProcessSpec> {
    if spec.instances <= 1 || split(&spec.name).is_some() {
        return vec![spec];
    }
    (0..spec.instances)
        .map(|index| {
            let mut replica = spec.clone();
            replica.name = replica_name(&spec.name, index);
            replica
        })
        .collect()
}

/// The replica's index, for its `PROCWARD_INSTANCE`: `Some` only for a replica.
pub fn instance_of(spec: &ProcessSpec) -> Option<u32> {
    split(&spec.name).map(|(_, index)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_names() {
        assert_eq!(split("web:2"), Some(("web", 2)));
        assert_eq!(split("a:b:10"), Some(("a:b", 10)));
        for plain in ["web", "web:", "web:x", "web:-1", "web:1234"] {
            assert_eq!(split(plain), None, "{plain}");
        }
        assert_eq!(base_of("web:0"), "web");
        assert!(names("web", "web:3") && names("web:3", "web:3") && !names("we", "web:3"));
        let registered = ["web:10", "api", "web:2", "webby:0"];
        assert_eq!(members("web", registered.into_iter()), ["web:2", "web:10"]);
        assert_eq!(members("web:2", registered.into_iter()), ["web:2"]);
        assert_eq!(members("api", registered.into_iter()), ["api"]);
        assert!(members("db", registered.into_iter()).is_empty());
    }

    #[test]
    fn expands_a_set_only() {
        let mut spec = ProcessSpec::new("web", vec!["true".into()]);
        assert_eq!(expand(spec.clone()).len(), 1);
        spec.instances = 3;
        let replicas = expand(spec);
        let names: Vec<_> = replicas.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["web:0", "web:1", "web:2"]);
        assert!(replicas.iter().all(|r| r.validate().is_ok()));
        assert_eq!(instance_of(&replicas[2]), Some(2));
        assert_eq!(expand(replicas[1].clone()).len(), 1);
    }

    #[test]
    fn validates_counts_and_names() {
        let mut spec = ProcessSpec::new("web", vec!["true".into()]);
        for bad in [0, MAX_INSTANCES + 1] {
            spec.instances = bad;
            let e = spec.validate().unwrap_err();
            assert_eq!(e.field(), "instances", "{e}");
        }
        spec.instances = 2;
        spec.name = "web:2".into();
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("past its 2")
        );
        spec.instances = 1;
        spec.name = "web:0".into();
        assert!(spec.validate().is_ok(), "a set scaled down to one");
        assert!(refuse_replica_name("web:0").is_err() && refuse_replica_name("web").is_ok());
        assert_eq!(parse_instances(" 4 "), Ok(4));
        assert!(parse_instances("max").unwrap() >= 1);
        for bad in ["0", "257", "-1", "two", ""] {
            assert_eq!(
                parse_instances(bad).unwrap_err().field(),
                "instances",
                "{bad}"
            );
        }
    }
}
