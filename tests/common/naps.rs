//! A graph of short sleeping tasks (`nap-i` and one `total-0` over them), for tests that
//! watch a computation while it runs (the scheduler's view, the dashboard).

use std::time::Duration;

use bytes::Bytes;
use tessera::core::{TaskKey, TaskSpec};
use tessera::runtime::{register_kernel, Value};

/// Register `kernel`: sleeps `millis`, returns 1 + the sum of its `i64` inputs.
pub fn register_nap(kernel: &'static str, millis: u64) {
    register_kernel(kernel, move |_ctx, inputs| {
        std::thread::sleep(Duration::from_millis(millis));
        let sum: i64 = inputs.iter().map(|b| i64::decode(b).unwrap_or(0)).sum();
        Ok((sum + 1).encode())
    });
}

/// `n` independent `nap-i` tasks of `kernel` and one `total-0` over them (its result is
/// `n + 1`).
pub fn nap_graph(kernel: &str, n: usize) -> (Vec<TaskSpec>, TaskKey) {
    let mut tasks: Vec<TaskSpec> = (0..n)
        .map(|i| TaskSpec::new(format!("nap-{i}"), kernel, Bytes::new(), vec![]))
        .collect();
    let deps = tasks.iter().map(|t| t.key.clone()).collect();
    let total = TaskKey::new("total-0");
    tasks.push(TaskSpec::new(total.clone(), kernel, Bytes::new(), deps));
    (tasks, total)
}
