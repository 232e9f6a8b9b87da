//! Executor threads: take the highest-priority ready task, run its kernel on local inputs,
//! store the result and report it. A panicking kernel fails its task, never the worker.
//!
//! This module must not talk to peers (inputs are already local when a task is ready).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use crate::protocol::{ComputeTask, Frame, Message};
use crate::runtime::kernel::{lookup_kernel, KernelContext};
use crate::transport::FrameSender;

use super::state::WorkerState;

/// Run tasks until the worker stops.
pub fn run_executor(state: Arc<WorkerState>, to_scheduler: FrameSender) {
    loop {
        let task = {
            let mut tasks = state.tasks();
            loop {
                if tasks.stopping {
                    return;
                }
                if let Some(t) = tasks.pop_ready() {
                    break t;
                }
                tasks = state
                    .work_available
                    .wait(tasks)
                    .unwrap_or_else(|e| e.into_inner());
            }
        };
        let outcome = execute(&state, &task);
        let message = {
            let mut tasks = state.tasks();
            tasks.running -= 1;
            let released = tasks
                .entries
                .remove(&task.key)
                .map(|e| e.released)
                .unwrap_or(true);
            let mut data = state.data();
            for (dep, _, _) in &task.deps {
                data.release_replica(dep);
            }
            match outcome {
                Outcome::Done(value) if !released => {
                    let nbytes = value.len() as u64;
                    data.insert_owned(task.key.clone(), value);
                    Some(Message::TaskFinished {
                        key: task.key.clone(),
                        nbytes,
                    })
                }
                Outcome::Done(_) => None,
                Outcome::Failed(error) if !released => Some(Message::TaskFailed {
                    key: task.key.clone(),
                    error,
                }),
                Outcome::Failed(_) => None,
                Outcome::Missing(missing) => Some(Message::DepsMissing {
                    key: task.key.clone(),
                    missing,
                }),
            }
        };
        state.completed.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = message {
            if to_scheduler.send(Frame::single(m)).is_err() {
                return;
            }
        }
    }
}

enum Outcome {
    Done(Bytes),
    Failed(String),
    Missing(Vec<crate::core::TaskKey>),
}

fn execute(state: &WorkerState, task: &ComputeTask) -> Outcome {
    let inputs: Vec<Bytes> = {
        let data = state.data();
        let mut inputs = Vec::with_capacity(task.deps.len());
        let mut missing = Vec::new();
        for (dep, _, _) in &task.deps {
            match data.get(dep) {
                Some(v) => inputs.push(v.clone()),
                None => missing.push(dep.clone()),
            }
        }
        if !missing.is_empty() {
            return Outcome::Missing(missing);
        }
        inputs
    };
    let Some(kernel) = lookup_kernel(task.kernel.as_str()) else {
        return Outcome::Failed(format!(
            "unknown kernel {:?} on this worker (kernels must be registered in every process; \
             workers started by `tessera worker` only have the built-in ones)",
            task.kernel.as_str()
        ));
    };
    let ctx = KernelContext {
        key: &task.key,
        args: &task.args,
    };
    match catch_unwind(AssertUnwindSafe(|| kernel(&ctx, &inputs))) {
        Ok(Ok(value)) => Outcome::Done(value),
        Ok(Err(e)) => Outcome::Failed(e.0),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            Outcome::Failed(format!("kernel {} panicked: {msg}", task.kernel))
        }
    }
}
