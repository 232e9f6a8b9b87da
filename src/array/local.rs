//! An in-process, synchronous graph executor (like dask's `get_sync`): runs registered kernels
//! in dependency order on the calling thread, freeing intermediate results once their last
//! reader ran. For tests and small arrays; no cluster needed.
//!
//! This module must not schedule across threads or processes.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;

use crate::array::error::ArrayError;
use crate::core::{TaskKey, TaskSpec};
use crate::runtime::kernel::{lookup_kernel, KernelContext};

/// Runs `tasks` (any order) and returns the results of `wanted`. Errors name the failing task;
/// a panicking kernel is reported as an error.
///
/// ```
/// use tessera::array::execute_graph_locally;
/// use tessera::core::{TaskKey, TaskSpec};
/// use tessera::runtime::Value;
/// let tasks = vec![
///     TaskSpec::new("b", "tessera.inc", bytes::Bytes::new(), vec![TaskKey::new("a")]),
///     TaskSpec::new("a", "tessera.const", 41i64.encode(), vec![]),
/// ];
/// let out = execute_graph_locally(&tasks, &[TaskKey::new("b")]).unwrap();
/// assert_eq!(i64::decode(&out[&TaskKey::new("b")]).unwrap(), 42);
/// ```
pub fn execute_graph_locally(
    tasks: &[TaskSpec],
    wanted: &[TaskKey],
) -> Result<HashMap<TaskKey, Bytes>, ArrayError> {
    let by_key: HashMap<&TaskKey, usize> =
        tasks.iter().enumerate().map(|(i, t)| (&t.key, i)).collect();
    if by_key.len() != tasks.len() {
        return Err(ArrayError::Compute("graph has duplicate task keys".into()));
    }
    for w in wanted {
        if !by_key.contains_key(w) {
            return Err(ArrayError::Compute(format!(
                "wanted key {w} is not in the graph"
            )));
        }
    }
    // Only tasks the wanted keys depend on run.
    let mut needed = HashSet::new();
    let mut stack: Vec<usize> = wanted.iter().map(|w| by_key[w]).collect();
    while let Some(i) = stack.pop() {
        if !needed.insert(i) {
            continue;
        }
        for d in &tasks[i].deps {
            let j = *by_key.get(d).ok_or_else(|| {
                ArrayError::Compute(format!(
                    "task {} depends on {d}, which is not in the graph",
                    tasks[i].key
                ))
            })?;
            stack.push(j);
        }
    }
    let mut waiting: HashMap<usize, usize> = HashMap::new();
    let mut readers: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut remaining_reads: HashMap<usize, usize> = HashMap::new();
    let mut ready = VecDeque::new();
    for &i in &needed {
        let deps: HashSet<usize> = tasks[i].deps.iter().map(|d| by_key[d]).collect();
        waiting.insert(i, deps.len());
        for &d in &deps {
            readers.entry(d).or_default().push(i);
        }
        for d in &tasks[i].deps {
            *remaining_reads.entry(by_key[d]).or_default() += 1;
        }
        if deps.is_empty() {
            ready.push_back(i);
        }
    }
    let wanted_idx: HashSet<usize> = wanted.iter().map(|w| by_key[w]).collect();
    let mut results: HashMap<usize, Bytes> = HashMap::new();
    let mut done = 0;
    while let Some(i) = ready.pop_front() {
        let t = &tasks[i];
        let kernel = lookup_kernel(t.kernel.as_str()).ok_or_else(|| {
            ArrayError::Compute(format!("task {}: no kernel named {}", t.key, t.kernel))
        })?;
        let inputs: Vec<Bytes> = t.deps.iter().map(|d| results[&by_key[d]].clone()).collect();
        let ctx = KernelContext::new(&t.key, &t.args);
        let out = crate::runtime::call_kernel(|| kernel(&ctx, &inputs))
            .map_err(|msg| ArrayError::Compute(format!("task {} panicked: {msg}", t.key)))?
            .map_err(|e| ArrayError::Compute(format!("task {} failed: {e}", t.key)))?;
        drop(inputs);
        for d in &t.deps {
            let j = by_key[d];
            if let Some(n) = remaining_reads.get_mut(&j) {
                *n -= 1;
                if *n == 0 && !wanted_idx.contains(&j) {
                    results.remove(&j);
                }
            }
        }
        results.insert(i, out);
        done += 1;
        for &r in readers.get(&i).map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(w) = waiting.get_mut(&r) {
                *w -= 1;
                if *w == 0 {
                    ready.push_back(r);
                }
            }
        }
    }
    if done != needed.len() {
        return Err(ArrayError::Compute("graph has a dependency cycle".into()));
    }
    Ok(wanted
        .iter()
        .map(|w| (w.clone(), results[&by_key[w]].clone()))
        .collect())
}
