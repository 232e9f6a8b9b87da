//! Computing an array on a cluster from the command line: lower it, submit the graph, show a
//! progress bar (tasks done / total, elapsed, rate) fed by the scheduler's completed-task
//! counter, stop on Ctrl-C, gather and assemble the result.
//!
//! The bar is drawn only when asked and stderr is a terminal. This module must not parse
//! programs or print results.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};

use crate::array::{Array, ArrayData, ArrayError};
use crate::cli::signals::ShutdownSignal;
use crate::cli::Interrupted;
use crate::core::TaskKey;
use crate::runtime::{Client, ClientError};

/// How often the scheduler is asked for progress.
const POLL: Duration = Duration::from_millis(100);

/// What a computation took.
#[derive(Clone, Copy, Debug)]
pub struct ComputeStats {
    /// Tasks in the submitted graph.
    pub tasks: u64,
    /// Wall time from submission to the assembled result.
    pub elapsed: Duration,
}

/// A progress bar on stderr, or a hidden one when `show` is false or stderr is not a TTY.
pub fn progress_bar(total: u64, show: bool) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{wide_bar}] {pos}/{len} tasks ({rate}, eta {eta})",
        )
        .map(|style| {
            style.with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} tasks/s", state.per_sec());
                },
            )
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Compute `array` on the cluster behind `client`, drawing `bar` (its length is set to the
/// number of tasks). Errors keep the [`ClientError`] on top so exit codes can tell a failed
/// task (4) from an unreachable scheduler (3).
pub fn compute_with_progress(
    client: &Client,
    array: &Array,
    bar: &ProgressBar,
    signal: &ShutdownSignal,
) -> anyhow::Result<(ArrayData, ComputeStats)> {
    let (mut data, stats) =
        compute_all_with_progress(client, std::slice::from_ref(array), bar, signal)?;
    let data = data
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no result was computed"))?;
    Ok((data, stats))
}

/// Compute several arrays in one submission: the tasks they share (content-addressed keys)
/// are submitted and run once, and [`ComputeStats::tasks`] counts them once.
pub fn compute_all_with_progress(
    client: &Client,
    arrays: &[Array],
    bar: &ProgressBar,
    signal: &ShutdownSignal,
) -> anyhow::Result<(Vec<ArrayData>, ComputeStats)> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut seen = HashSet::new();
    let mut keys: Vec<TaskKey> = Vec::new();
    let mut outputs = Vec::with_capacity(arrays.len());
    for array in arrays {
        let graph = array.graph().map_err(unwrap_client_error)?;
        for t in graph.tasks {
            if seen.insert(t.key.clone()) {
                tasks.push(t);
            }
        }
        keys.extend(graph.outputs.iter().map(|(_, k)| k.clone()));
        outputs.push(graph.outputs);
    }
    let total = tasks.len() as u64;
    bar.set_length(total);
    let baseline = completed(client)?;
    let futures = client.submit_graph(tasks, &keys)?;
    for future in &futures {
        loop {
            if signal.received() {
                client.cancel(&futures);
                bar.abandon();
                bail!(Interrupted);
            }
            match future.wait_timeout(POLL) {
                Ok(()) => break,
                Err(ClientError::Timeout(_)) => {
                    let done = completed(client)?.saturating_sub(baseline);
                    bar.set_position(done.min(total));
                }
                Err(e) => {
                    bar.abandon();
                    return Err(e.into());
                }
            }
        }
    }
    let mut values = client.gather(&futures)?.into_iter();
    bar.set_position(total);
    bar.finish_and_clear();
    let mut data = Vec::with_capacity(arrays.len());
    for (array, wanted) in arrays.iter().zip(outputs) {
        let chunks: Vec<(Vec<usize>, Bytes)> = wanted
            .into_iter()
            .map(|(idx, _)| idx)
            .zip(values.by_ref())
            .collect();
        data.push(array.assemble(&chunks).map_err(unwrap_client_error)?);
    }
    Ok((
        data,
        ComputeStats {
            tasks: total,
            elapsed: started.elapsed(),
        },
    ))
}

fn completed(client: &Client) -> Result<u64, ClientError> {
    Ok(client.info()?.tasks.get("completed").copied().unwrap_or(0))
}

/// An array error as an `anyhow` error, with a client error moved to the top of the chain
/// (the array layer wraps it transparently, which would hide it from the exit-code mapping).
pub fn unwrap_client_error(error: ArrayError) -> anyhow::Error {
    match error {
        ArrayError::Client(c) => c.into(),
        other => other.into(),
    }
}
