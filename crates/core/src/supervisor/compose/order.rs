//! The order `procward up` starts a set of specs in (and `procward down` stops them in,
//! reversed). It is plain graph work on validated specs, apart from parsing, so the CLI can
//! order any set of specs and a parse error and an ordering error stay distinct.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::ComposeError;
use crate::supervisor::spec::ProcessSpec;

/// The order to start `specs` in: every process after its dependencies, otherwise in the
/// given (file) order; `procward down` stops in the reverse. Refuses duplicate names,
/// unknown dependencies and cycles (naming the cycle: `a -> b -> a`).
pub fn start_order(specs: &[ProcessSpec]) -> Result<Vec<String>, ComposeError> {
    let mut index = HashMap::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        if index.insert(spec.name.as_str(), i).is_some() {
            return Err(ComposeError::DuplicateName(spec.name.clone()));
        }
    }
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(specs.len());
    for spec in specs {
        let mut mine = Vec::new();
        for dep in &spec.depends_on {
            let &j = index
                .get(dep.as_str())
                .ok_or_else(|| ComposeError::UnknownDependency {
                    process: spec.name.clone(),
                    dependency: dep.clone(),
                })?;
            if !mine.contains(&j) {
                mine.push(j);
            }
        }
        deps.push(mine);
    }
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents = vec![Vec::new(); specs.len()];
    for (i, mine) in deps.iter().enumerate() {
        for &j in mine {
            dependents[j].push(i);
        }
    }
    let mut ready: BinaryHeap<_> = (0..specs.len())
        .filter(|&i| waiting[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(specs.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(specs[i].name.clone());
        for &k in &dependents[i] {
            waiting[k] -= 1;
            if waiting[k] == 0 {
                ready.push(Reverse(k));
            }
        }
    }
    if order.len() == specs.len() {
        return Ok(order);
    }
    // Every process left waits on another one left: walk until a name repeats.
    let mut path = vec![(0..specs.len()).find(|&i| waiting[i] > 0).unwrap_or(0)];
    loop {
        let current = *path.last().unwrap_or(&0);
        let next = deps[current]
            .iter()
            .copied()
            .find(|&j| waiting[j] > 0)
            .unwrap_or(current);
        if let Some(p) = path.iter().position(|&i| i == next) {
            let mut cycle: Vec<String> = path[p..].iter().map(|&i| specs[i].name.clone()).collect();
            cycle.push(specs[next].name.clone());
            return Err(ComposeError::Cycle(cycle));
        }
        path.push(next);
    }
}
