//! Executor threads: take the highest-priority ready task, run its kernel on local inputs,
//! store the result and report it. A panicking kernel fails its task, never the worker.
//! While the memory manager has paused the worker, no new task starts.
//!
//! Inputs on disk are read back into memory (unspilled) only when they fit under the memory
//! target; otherwise they are read for this task alone and stay on disk, so reading a
//! working set larger than memory does not thrash. Such a read counts as transient memory
//! until the task ends (RSS-triggered spilling leaves it out) and first waits, briefly, for
//! other transient buffers (a chunk served to a peer) that would take the worker above pause. This module must not talk to peers
//! (inputs are already local when a task is ready).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::core::TaskKey;
use crate::protocol::{ComputeTask, Frame, Message};
use crate::runtime::kernel::{lookup_kernel, KernelContext, RunPlace};
use crate::store::{Residency, StoreError};
use crate::transport::FrameSender;

use super::local_resources::Grant;
use super::memory_monitor::MemoryMonitor;
use super::state::WorkerState;

/// Run tasks until the worker stops; `thread` is this executor's index (reported with each
/// result for the dashboard's task stream).
pub fn run_executor(
    thread: u32,
    state: Arc<WorkerState>,
    monitor: Arc<MemoryMonitor>,
    to_scheduler: FrameSender,
) {
    loop {
        let (task, grant, cancel) = {
            let mut tasks = state.tasks();
            loop {
                if tasks.stopping {
                    return;
                }
                if !tasks.paused {
                    if let Some(t) = tasks.pop_ready() {
                        break t;
                    }
                }
                tasks = state
                    .work_available
                    .wait(tasks)
                    .unwrap_or_else(|e| e.into_inner());
            }
        };
        // One fewer task ready ahead: a held-back fetcher may go on.
        state.fetch_room.notify_one();
        let started = Instant::now();
        let mut input_read = Duration::ZERO;
        let expected = monitor.task_starting(&task.key);
        let outcome = execute(&state, &monitor, &task, &grant, cancel, &mut input_read);
        let produced = match &outcome {
            Outcome::Done(value) => Some(value.len() as u64),
            _ => None,
        };
        monitor.task_ended(&task.key, expected, produced);
        let compute_micros = micros(started.elapsed());
        let several = grant.cpus.len() > 1 || !grant.generic.is_empty() || grant.memory > 0;
        let message = {
            let mut tasks = state.tasks();
            tasks.running -= 1;
            tasks.resources.give_back(grant);
            let (released, transfer, transfer_bytes) = tasks
                .entries
                .remove(&task.key)
                .map_or((true, Duration::ZERO, 0), |e| {
                    (e.released, e.transfer, e.transfer_bytes)
                });
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
                        compute_micros,
                        thread,
                        input_read_micros: micros(input_read),
                        transfer_micros: micros(transfer),
                        transfer_bytes,
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
        if several {
            // More than one task may fit in what this one gave back.
            state.work_available.notify_all();
        }
        state.completed.fetch_add(1, Ordering::Relaxed);
        monitor.after_task();
        if let Some(m) = message {
            if to_scheduler.send(Frame::single(m)).is_err() {
                return;
            }
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

enum Outcome {
    Done(Bytes),
    Failed(String),
    Missing(Vec<TaskKey>),
}

/// One input's bytes: from memory, or from disk (kept on disk unless it fits under target;
/// then counted as transient in `reads` until the task ends).
fn load_input(
    state: &WorkerState,
    monitor: &MemoryMonitor,
    key: &TaskKey,
    nbytes: u64,
    reads: &mut TransientReads<'_>,
) -> Result<Bytes, StoreError> {
    match state.store.residency(key) {
        Some(Residency::Disk) if !monitor.room_to_unspill(nbytes) => {
            // A peer being served or inputs being fetched at the same time: let them finish.
            monitor.wait_for_room(nbytes, reads.nbytes);
            reads.add(nbytes);
            state.store.read(key)
        }
        _ => state.store.get(key),
    }
}

/// Spilled inputs a task reads for itself, released from the monitor's count on drop.
struct TransientReads<'a> {
    monitor: &'a MemoryMonitor,
    nbytes: u64,
}

impl TransientReads<'_> {
    fn add(&mut self, nbytes: u64) {
        self.monitor.transient_read(nbytes);
        self.nbytes += nbytes;
    }
}

impl Drop for TransientReads<'_> {
    fn drop(&mut self) {
        self.monitor.transient_released(self.nbytes);
    }
}

/// Run `task`; `input_read` gets the time spent reading spilled inputs from disk.
fn execute(
    state: &WorkerState,
    monitor: &MemoryMonitor,
    task: &ComputeTask,
    grant: &Grant,
    cancel: Arc<std::sync::atomic::AtomicBool>,
    input_read: &mut Duration,
) -> Outcome {
    // The task holds a reference on each input, so none can be dropped while it is read.
    let missing: Vec<TaskKey> = {
        let data = state.data();
        task.deps
            .iter()
            .filter(|(dep, _, _)| !data.contains(dep))
            .map(|(dep, _, _)| dep.clone())
            .collect()
    };
    if !missing.is_empty() {
        return Outcome::Missing(missing);
    }
    // Declared before `inputs`: released after the input buffers are dropped.
    let mut transient = TransientReads { monitor, nbytes: 0 };
    let mut inputs = Vec::with_capacity(task.deps.len());
    let mut missing = Vec::new();
    for (dep, nbytes, _) in &task.deps {
        let on_disk = matches!(state.store.residency(dep), Some(Residency::Disk));
        let reading = Instant::now();
        let loaded = load_input(state, monitor, dep, *nbytes, &mut transient);
        if on_disk {
            *input_read += reading.elapsed();
        }
        match loaded {
            Ok(v) => inputs.push(v),
            Err(e) => {
                // A spill file that cannot be read: the chunk is lost here, so the scheduler
                // recomputes it (or fetches another copy).
                tracing::error!(task = %task.key, error = %e, "cannot read an input");
                missing.push(dep.clone());
            }
        }
    }
    if !missing.is_empty() {
        return Outcome::Missing(missing);
    }
    let Some(kernel) = lookup_kernel(task.kernel.as_str()) else {
        return Outcome::Failed(format!(
            "unknown kernel {:?} on this worker (kernels must be registered in every process; \
             workers started by `tessera worker` only have the built-in ones)",
            task.kernel.as_str()
        ));
    };
    let place = RunPlace {
        worker: state.name.clone(),
        cpus: grant.cpus.clone(),
        pin: task.resources.pin,
        generic: grant.generic.clone(),
        cancel: Some(cancel),
    };
    let ctx = KernelContext {
        key: &task.key,
        args: &task.args,
        place: Some(&place),
    };
    match crate::runtime::kernel::call_kernel(|| kernel(&ctx, &inputs)) {
        Ok(Ok(value)) => Outcome::Done(value),
        Ok(Err(e)) => Outcome::Failed(e.0),
        Err(msg) => Outcome::Failed(format!("kernel {} panicked: {msg}", task.kernel)),
    }
}
