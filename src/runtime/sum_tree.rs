//! Ready-made graphs of built-in kernels: leaves `inc(i)` for `i < n`, summed by a tree of
//! `add` tasks of bounded fan-in (the answer is `n(n+1)/2`), used by `tessera demo --workload
//! tasks`, the tests and the W1 benchmark; and a pairwise `sum-f64` tree over chunks a client
//! already submitted, used by the spilling tests and the W4 benchmark. This module only builds
//! and submits tasks; it must not wait for them.

use bytes::Bytes;

use crate::core::{TaskKey, TaskSpec};
use crate::runtime::kernels_builtin::names;
use crate::runtime::{Client, ClientError, Future, Task, Value};

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

/// Submit the sum of every element of `chunks` (float64 chunks): one `sum-f64` per chunk, then
/// the partial sums pairwise. Returns the root's future (a sum of no chunks is one `sum-f64`
/// without inputs: 0).
pub fn submit_f64_sum_tree(
    client: &Client,
    chunks: &[Future<Bytes>],
) -> Result<Future<f64>, ClientError> {
    let mut level: Vec<Future<f64>> = chunks
        .iter()
        .map(|c| client.submit(Task::new(names::SUM_F64).input(c)))
        .collect::<Result<_, _>>()?;
    if level.is_empty() {
        return client.submit(Task::new(names::SUM_F64));
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                let task = pair
                    .iter()
                    .fold(Task::new(names::SUM_F64), |task, f| task.input(f));
                client.submit(task)
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(level.remove(0))
}
