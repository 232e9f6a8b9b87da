//! A ready-made graph of built-in kernels: leaves `inc(i)` for `i < n`, summed by a tree of
//! `add` tasks of bounded fan-in (the answer is `n(n+1)/2`). Used by `tessera demo
//! --workload tasks`, the tests and the W1 benchmark. This module only builds task specs.

use bytes::Bytes;

use crate::core::{TaskKey, TaskSpec};
use crate::runtime::kernels_builtin::names;
use crate::runtime::Value;

/// The tasks of the tree and its root key. Keys start with `prefix` (so several trees can
/// live in one cluster); `fan_in` ≥ 2 partial results are combined per `add` task.
///
/// ```
/// let (tasks, root) = tessera::runtime::sum_tree::inc_sum_tree(20, 8, "t");
/// assert_eq!(tasks.len(), 24); // 20 leaves, 3 adds, 1 root add
/// assert_eq!(root.as_str(), "t-add-2-0");
/// ```
pub fn inc_sum_tree(n: usize, fan_in: usize, prefix: &str) -> (Vec<TaskSpec>, TaskKey) {
    let fan_in = fan_in.max(2);
    let mut tasks = Vec::with_capacity(n + n / (fan_in - 1) + 1);
    let mut level: Vec<TaskKey> = (0..n)
        .map(|i| {
            let key = TaskKey::new(format!("{prefix}-inc-{i}"));
            tasks.push(TaskSpec::new(
                key.clone(),
                names::INC,
                (i as i64).encode(),
                vec![],
            ));
            key
        })
        .collect();
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        level = level
            .chunks(fan_in)
            .enumerate()
            .map(|(j, group)| {
                let key = TaskKey::new(format!("{prefix}-add-{depth}-{j}"));
                tasks.push(TaskSpec::new(
                    key.clone(),
                    names::ADD,
                    Bytes::new(),
                    group.to_vec(),
                ));
                key
            })
            .collect();
    }
    let root = level
        .pop()
        .unwrap_or_else(|| TaskKey::new(format!("{prefix}-empty")));
    (tasks, root)
}
