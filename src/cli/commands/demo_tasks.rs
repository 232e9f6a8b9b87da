//! `tessera demo --workload tasks`: on a local cluster of worker processes, run a sizeable
//! task graph (a map over N leaves and a tree reduction), show progress, check the answer,
//! print a summary. It measures the runtime alone, without arrays.

use crate::cli::stdout::outln;
use std::time::{Duration, Instant};

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::args::{DemoArgs, OutputFormat};
use crate::cli::signals::ShutdownSignal;
use crate::cli::Interrupted;
use crate::core::{TaskKey, TaskSpec};

/// Fan-in of the reduction tree.
const FAN_IN: usize = 8;

/// The demo graph: leaves `inc(i)` for i in 0..n, summed by a tree of `add` tasks.
/// Returns the tasks and the root key.
pub fn demo_graph(n: usize) -> (Vec<TaskSpec>, TaskKey) {
    crate::runtime::sum_tree::inc_sum_tree(n, FAN_IN, "demo")
}

pub fn run(args: &DemoArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    let (cluster, startup) = super::demo::start_cluster(args)?;
    let client = cluster.client()?;
    let human = args.output == OutputFormat::Human;
    let (tasks, root) = demo_graph(args.tasks);
    let total = tasks.len() as u64;
    let baseline = client.info()?.tasks.get("completed").copied().unwrap_or(0);
    let bar = if human {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{wide_bar}] {pos}/{len} tasks ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let future = client
        .submit_graph(tasks, std::slice::from_ref(&root))?
        .remove(0);
    loop {
        if signal.received() {
            bar.abandon();
            bail!(Interrupted);
        }
        if future.wait_timeout(Duration::from_millis(100)).is_ok() || future.done() {
            break;
        }
        let done = client.info()?.tasks.get("completed").copied().unwrap_or(0) - baseline;
        bar.set_position(done.min(total));
    }
    let future = future.cast::<i64>();
    let result: i64 = future.result()?;
    let elapsed = started.elapsed();
    bar.set_position(total);
    bar.finish_and_clear();
    let n = args.tasks as i64;
    let expected = n * (n + 1) / 2;
    let rate = total as f64 / elapsed.as_secs_f64();
    match args.output {
        OutputFormat::Json => outln!(
            "{}",
            serde_json::json!({
                "workload": "tasks",
                "workers": args.workers,
                "threads_per_worker": args.nthreads,
                "tasks": total,
                "seconds": elapsed.as_secs_f64(),
                "tasks_per_second": rate,
                "startup_seconds": startup.as_secs_f64(),
                "result": result,
                "expected": expected,
                "ok": result == expected,
            })
        ),
        OutputFormat::Human => {
            outln!(
                "Summed inc(i) for i < {} with a tree reduction (fan-in {FAN_IN}): {} tasks in {:.2} s ({:.0} tasks/s).",
                args.tasks,
                total,
                elapsed.as_secs_f64(),
                rate
            );
            outln!(
                "Result {result}; expected n(n+1)/2 = {expected}: {}",
                if result == expected {
                    "exact"
                } else {
                    "MISMATCH"
                }
            );
        }
    }
    drop(future);
    client.close();
    cluster.shutdown();
    if result != expected {
        bail!("the demo computed {result} but {expected} was expected");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_graph_is_a_tree_over_all_leaves() {
        let (tasks, root) = demo_graph(20);
        // 20 leaves, 3 adds at depth 1, 1 add at depth 2.
        assert_eq!(tasks.len(), 24);
        assert_eq!(root.as_str(), "demo-add-2-0");
        assert_eq!(tasks.last().unwrap().deps.len(), 3);
    }
}
