//! Planning a submitted graph: which tasks are new, how their dependencies resolve, and in
//! which order they get priorities.
//!
//! The order is a post-order depth-first traversal from the wanted outputs, dependencies in
//! argument order (like `dask.order`'s core idea): a task is numbered right after its last
//! input, so a reduction combines partial results as soon as they exist and few intermediate
//! results are alive at once. Only tasks reachable from a wanted output are planned. Keys the
//! scheduler already knows are reused, never traversed. The traversal is iterative (graphs may
//! be deep chains). This module is pure: it must not touch scheduler state.

use super::key_index::{key_hash, KeyIndex};
use super::task_store::TaskId;
use crate::core::task::{TaskKey, TaskSpec};

/// How one dependency (or one wanted key) of a submission resolves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeySource {
    /// A task the scheduler already knows.
    Known(TaskId),
    /// The task at this index of the submitted list.
    New(u32),
    /// Neither in the submission nor known.
    Missing,
    /// A dependency edge closing a cycle (dropped; the task errs).
    Cycle,
}

/// The result of [`plan_submission`].
#[derive(Debug, Default)]
pub(super) struct SubmissionPlan {
    /// Indices of the new tasks to create, dependencies before dependents; a task's position
    /// here is its priority offset.
    pub order: Vec<u32>,
    /// Resolved dependencies of every planned task, concatenated in argument order.
    pub deps: Vec<KeySource>,
    /// For spec `i` that is planned, `deps[dep_start[i]..dep_start[i] + specs[i].deps.len()]`.
    pub dep_start: Vec<u32>,
    /// Resolution of each wanted key, in the order given.
    pub wanted: Vec<KeySource>,
    /// [`key_hash`] of every submitted key, by spec index.
    pub hashes: Vec<u32>,
}

impl SubmissionPlan {
    /// The resolved dependencies of planned spec `index`.
    pub(super) fn deps_of(&self, index: u32, ndeps: usize) -> &[KeySource] {
        let start = self.dep_start[index as usize] as usize;
        &self.deps[start..start + ndeps]
    }
}

const UNVISITED: u8 = 0;
const ON_STACK: u8 = 1;
const DONE: u8 = 2;

/// Plan a submission. `known` resolves keys the scheduler already has (given their
/// [`key_hash`]).
pub(super) fn plan_submission(
    specs: &[TaskSpec],
    wanted: &[TaskKey],
    known: impl Fn(&TaskKey, u32) -> Option<TaskId>,
) -> SubmissionPlan {
    // Every submitted key is hashed once; the hash serves the local index, the scheduler's
    // lookup and, later, the new task's entry in the scheduler's index.
    let hashes: Vec<u32> = specs
        .iter()
        .map(|spec| key_hash(spec.key.as_str()))
        .collect();
    let mut local = KeyIndex::default();
    local.reserve(specs.len());
    // One scheduler lookup per submitted task rather than per edge.
    let mut known_ids: Vec<Option<TaskId>> = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let hash = hashes[i];
        let first = local
            .find(hash, |j| specs[j as usize].key == spec.key)
            .is_none();
        if first {
            local.insert(hash, i as u32);
            known_ids.push(known(&spec.key, hash));
        } else {
            // A repeated key resolves to its first occurrence.
            known_ids.push(None);
        }
    }
    let resolve = |key: &TaskKey| -> KeySource {
        let hash = key_hash(key.as_str());
        match local.find(hash, |j| specs[j as usize].key == *key) {
            Some(i) => match known_ids[i as usize] {
                Some(id) => KeySource::Known(id),
                None => KeySource::New(i),
            },
            None => known(key, hash).map_or(KeySource::Missing, KeySource::Known),
        }
    };

    let edges: usize = specs.iter().map(|spec| spec.deps.len()).sum();
    let mut plan = SubmissionPlan {
        order: Vec::with_capacity(specs.len()),
        deps: Vec::with_capacity(edges),
        dep_start: vec![u32::MAX; specs.len()],
        wanted: Vec::with_capacity(wanted.len()),
        hashes: Vec::new(),
    };
    let mut mark = vec![UNVISITED; specs.len()];
    // (spec index, next dependency to look at)
    let mut stack: Vec<(u32, u32)> = Vec::new();

    for key in wanted {
        let source = resolve(key);
        plan.wanted.push(source);
        let KeySource::New(root) = source else {
            continue;
        };
        if mark[root as usize] != UNVISITED {
            continue;
        }
        enter(root, specs, &mut plan, &mut mark, &mut stack, &resolve);
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            let ndeps = specs[node as usize].deps.len() as u32;
            if next < ndeps {
                top.1 += 1;
                let slot = (plan.dep_start[node as usize] + next) as usize;
                if let KeySource::New(child) = plan.deps[slot] {
                    match mark[child as usize] {
                        UNVISITED => {
                            enter(child, specs, &mut plan, &mut mark, &mut stack, &resolve)
                        }
                        ON_STACK => plan.deps[slot] = KeySource::Cycle,
                        _ => {}
                    }
                }
            } else {
                mark[node as usize] = DONE;
                plan.order.push(node);
                stack.pop();
            }
        }
    }
    plan.hashes = hashes;
    plan
}

fn enter(
    node: u32,
    specs: &[TaskSpec],
    plan: &mut SubmissionPlan,
    mark: &mut [u8],
    stack: &mut Vec<(u32, u32)>,
    resolve: &impl Fn(&TaskKey) -> KeySource,
) {
    mark[node as usize] = ON_STACK;
    plan.dep_start[node as usize] = plan.deps.len() as u32;
    plan.deps
        .extend(specs[node as usize].deps.iter().map(resolve));
    stack.push((node, 0));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(key: &str, deps: &[&str]) -> TaskSpec {
        TaskSpec::new(
            key,
            "k",
            Vec::new(),
            deps.iter().map(|d| TaskKey::new(*d)).collect(),
        )
    }

    fn keys(specs: &[TaskSpec], order: &[u32]) -> Vec<String> {
        order
            .iter()
            .map(|&i| specs[i as usize].key.to_string())
            .collect()
    }

    #[test]
    fn tree_reduction_is_post_order() {
        let specs = vec![
            spec("root", &["s01", "s23"]),
            spec("s01", &["a0", "a1"]),
            spec("s23", &["a2", "a3"]),
            spec("a0", &[]),
            spec("a1", &[]),
            spec("a2", &[]),
            spec("a3", &[]),
            spec("unused", &["a0"]),
        ];
        let plan = plan_submission(&specs, &[TaskKey::new("root")], |_, _| None);
        assert_eq!(
            keys(&specs, &plan.order),
            ["a0", "a1", "s01", "a2", "a3", "s23", "root"]
        );
    }

    #[test]
    fn known_missing_and_cycle_are_resolved() {
        let specs = vec![spec("x", &["known", "nowhere", "y"]), spec("y", &["x"])];
        let known_key = TaskKey::new("known");
        let plan = plan_submission(
            &specs,
            &[TaskKey::new("x"), TaskKey::new("ghost")],
            |k, _| (k == &known_key).then_some(TaskId(7)),
        );
        assert_eq!(keys(&specs, &plan.order), ["y", "x"]);
        assert_eq!(
            plan.deps_of(0, 3),
            &[
                KeySource::Known(TaskId(7)),
                KeySource::Missing,
                KeySource::New(1)
            ]
        );
        assert_eq!(plan.deps_of(1, 1), &[KeySource::Cycle]);
        assert_eq!(plan.wanted, vec![KeySource::New(0), KeySource::Missing]);
    }
}
