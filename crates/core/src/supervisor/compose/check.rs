//! The one check every start and up request passes before anything changes: each spec is
//! valid, names are unique, every dependency exists and nothing depends on itself through
//! a circle. The daemon calls [`check_request`] for every interface (CLI, gRPC, MCP, web),
//! so they all refuse the same input with the same words.

use std::collections::HashSet;

use super::{ComposeError, start_order};
use crate::supervisor::spec::ProcessSpec;
use crate::supervisor::spec::replica;

/// Longest name shown in an error (names of a refused spec can be arbitrarily long).
const SHOWN_NAME: usize = 80;

/// Whether [`check_request`] reads the registered specs for `incoming`: only when one of
/// them depends on something. A start without dependencies is checked on its own, so the
/// daemon need not copy every registered spec for it.
pub fn needs_registered(incoming: &[ProcessSpec]) -> bool {
    incoming.iter().any(|s| !s.depends_on.is_empty())
}

/// Checks `incoming` (one spec for a start, a file's worth for an up) against the
/// processes already `registered` and returns `incoming` in start order (dependencies
/// first, otherwise as given).
///
/// A spec in `incoming` replaces a registered one of the same name, and a set of replicas
/// (`instances` above 1) every registered member of its set: the result holds the set's
/// replicas ([`replica::expand`]). Dependencies may name a spec of `incoming` or a
/// registered process, or a whole set by its base name; cycles are looked for across
/// both. A registered process whose own dependency has since been deleted is not held
/// against the request. When no spec of `incoming` has a dependency, `registered` is not
/// read at all ([`needs_registered`]): callers may pass an empty slice then.
pub fn check_request(
    registered: &[ProcessSpec],
    incoming: Vec<ProcessSpec>,
) -> Result<Vec<ProcessSpec>, ComposeError> {
    for spec in &incoming {
        spec.validate().map_err(|source| ComposeError::Spec {
            process: spec.name.chars().take(SHOWN_NAME).collect(),
            source,
        })?;
    }
    let mut bases = HashSet::with_capacity(incoming.len());
    for spec in &incoming {
        if !bases.insert(spec.name.as_str()) {
            return Err(ComposeError::DuplicateName(spec.name.clone()));
        }
    }
    if !needs_registered(&incoming) {
        // Nothing to resolve and no new edge, so no new cycle (the registered graph was
        // checked when it was registered): the given order, and no copy of `registered`
        // (a plain start with a thousand processes registered stays cheap).
        return Ok(incoming.into_iter().flat_map(replica::expand).collect());
    }
    let kept: Vec<&ProcessSpec> = registered
        .iter()
        .filter(|r| !bases.contains(replica::base_of(&r.name)))
        .collect();
    let incoming: Vec<ProcessSpec> = incoming.into_iter().flat_map(replica::expand).collect();
    let known: Vec<&str> = incoming
        .iter()
        .chain(kept.iter().copied())
        .map(|s| s.name.as_str())
        .collect();
    // In the graph only, a dependency on a set is one on each of its replicas.
    let members = |dep: &str| -> Vec<String> {
        let found: Vec<String> = known
            .iter()
            .filter(|k| replica::names(dep, k))
            .map(|k| (*k).to_owned())
            .collect();
        if found.is_empty() {
            vec![dep.to_owned()]
        } else {
            found
        }
    };
    let mut graph: Vec<ProcessSpec> = incoming.clone();
    graph.extend(kept.iter().map(|r| {
        let mut spec = (*r).clone();
        spec.depends_on
            .retain(|d| known.iter().any(|k| replica::names(d, k)));
        spec
    }));
    for spec in &mut graph {
        spec.depends_on = spec.depends_on.iter().flat_map(|d| members(d)).collect();
        spec.depends_on.dedup();
    }
    let order = start_order(&graph)?;
    let mut incoming: Vec<Option<ProcessSpec>> = incoming.into_iter().map(Some).collect();
    let ordered = order
        .iter()
        .filter_map(|name| {
            let slot = incoming
                .iter_mut()
                .find(|s| s.as_ref().is_some_and(|s| s.name == *name))?;
            slot.take()
        })
        .collect();
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, deps: &[&str]) -> ProcessSpec {
        let mut spec = ProcessSpec::new(name, vec!["true".into()]);
        spec.depends_on = deps.iter().map(|d| d.to_string()).collect();
        spec
    }

    fn names(specs: &[ProcessSpec]) -> Vec<&str> {
        specs.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn orders_and_resolves_against_registered() {
        let registered = [spec("db", &[]), spec("old", &["gone"])];
        let ordered = check_request(
            &registered,
            vec![spec("web", &["api", "db"]), spec("api", &[])],
        )
        .unwrap();
        assert_eq!(names(&ordered), ["api", "web"]);
        assert!(check_request(&[], vec![spec("x", &[])]).is_ok());
    }

    #[test]
    fn a_request_without_dependencies_is_checked_without_the_registered_specs() {
        // Registered processes that depend on incoming names, or on one that is gone.
        let registered = [spec("web", &["db"]), spec("old", &["gone"])];
        let incoming = vec![spec("gone", &[]), spec("db", &[])];
        assert!(!needs_registered(&incoming));
        let with = check_request(&registered, incoming.clone()).unwrap();
        assert_eq!(names(&with), ["gone", "db"]);
        assert_eq!(with, check_request(&[], incoming).unwrap());
        // Still validated on its own: a bad spec or a repeated name is refused.
        let e = check_request(&[], vec![spec("a b", &[])]).unwrap_err();
        assert_eq!(e.field(), Some("name"), "{e}");
        let e = check_request(&[], vec![spec("a", &[]), spec("a", &[])]).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
        assert!(needs_registered(&[spec("a", &[]), spec("b", &["a"])]));
    }

    #[test]
    fn expands_sets_and_orders_their_dependents_after_every_replica() {
        let mut web = spec("web", &["db"]);
        web.instances = 2;
        let registered = [spec("db", &[]), spec("web:0", &[]), spec("web:5", &[])];
        let ordered = check_request(&registered, vec![spec("lb", &["web"]), web]).unwrap();
        assert_eq!(names(&ordered), ["web:0", "web:1", "lb"]);
        // The dependency stays as written: on the set.
        assert_eq!(ordered[2].depends_on, ["web"]);
        let e = check_request(&[], vec![spec("lb", &["web"])]).unwrap_err();
        assert!(e.to_string().contains("unknown process 'web'"), "{e}");
    }

    #[test]
    fn refuses_with_the_field() {
        let cases = [
            (vec![spec("a", &[]), spec("a", &[])], "name", "duplicate"),
            (
                vec![spec("a", &["nope"])],
                "depends_on",
                "unknown process 'nope'",
            ),
            (
                vec![spec("a", &["b"]), spec("b", &["a"])],
                "depends_on",
                "cycle",
            ),
            (vec![spec("", &[])], "name", "it is empty"),
        ];
        for (incoming, field, words) in cases {
            let e = check_request(&[], incoming).unwrap_err();
            assert_eq!(e.field(), Some(field), "{e}");
            assert!(e.to_string().contains(words), "{e}");
        }
        // A set depends on itself through its replicas.
        let mut set = spec("web", &["web"]);
        set.instances = 2;
        assert!(check_request(&[], vec![set]).is_err());
        // A cycle through a registered process, by replacing it.
        let registered = [spec("a", &["b"]), spec("b", &[])];
        let e = check_request(&registered, vec![spec("b", &["a"])]).unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }
}
