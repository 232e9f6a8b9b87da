//! A read-only, bounded picture of a running scheduler for the dashboard, `tessera top` and
//! performance reports: workers (memory against thresholds, CPU, tasks, time left), progress
//! per task prefix, tasks per second, and bounded rings of recent task events (the task
//! stream) and of memory samples.
//!
//! The scheduler's central thread owns a [`ViewRecorder`]: it notes task results as they
//! arrive and publishes a fresh [`SchedulerView`] a few times a second (an `Arc` swapped
//! under a lock held only for the swap; rings appended with `try_lock`, never waiting).
//! Readers ([`SchedulerViewReader`]) clone that `Arc` and copy ring items: they never touch
//! the scheduler core nor wait for the central thread. This module must not decide anything
//! nor block the central thread; every collection in it is bounded.

mod recorder;
mod ring;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::protocol::ClusterInfo;

pub use recorder::{view_prefix, TaskTimes, ViewRecorder};
pub use ring::Ring;

/// Task events kept for the task stream.
pub const TASK_EVENTS_KEPT: usize = 20_000;
/// Memory samples kept (one a second: 15 minutes).
pub const MEMORY_SAMPLES_KEPT: usize = 900;
/// Distinct task prefixes tracked; later ones are counted under [`OTHER_PREFIX`].
pub const MAX_PREFIXES: usize = 128;
/// The group of task prefixes past [`MAX_PREFIXES`].
pub const OTHER_PREFIX: &str = "(other)";

/// Progress of one task prefix.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefixProgress {
    pub prefix: String,
    /// Results reported since the scheduler started (recomputations count again).
    pub done: u64,
    /// Known tasks waiting for inputs or for a free worker.
    pub waiting: u64,
    /// Tasks sent to workers.
    pub processing: u64,
    /// Results held by workers now.
    pub in_memory: u64,
    pub erred: u64,
    /// Seconds of compute reported for this prefix (reading spilled inputs included).
    pub compute_secs: f64,
    /// Of which reading spilled inputs back from disk.
    pub input_read_secs: f64,
    /// Seconds spent fetching inputs from other workers before tasks could run.
    #[serde(default)]
    pub transfer_secs: f64,
}

/// Dashboard figures of one worker that `tessera info` does not carry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerLoad {
    pub id: u32,
    /// CPU use of the worker's process between its last two heartbeats, in percent of one
    /// core (200 = two cores busy). Threads-mode local workers share a process and report
    /// its total.
    pub cpu_percent: f64,
    /// The worker is leaving gracefully (walltime near or scaled down).
    pub retiring: bool,
}

/// The published picture of the scheduler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerView {
    /// Milliseconds since the scheduler started, when this view was taken.
    pub now_ms: f64,
    /// What `tessera info` shows: workers with their metrics, task counts by state.
    pub info: ClusterInfo,
    pub loads: Vec<WorkerLoad>,
    /// Progress per task prefix, largest first (empty while nobody has read a view lately:
    /// counting walks every known task).
    pub prefixes: Vec<PrefixProgress>,
    /// Results per second over the last few seconds.
    pub tasks_per_second: f64,
    /// Bytes of results in workers' memory, and spilled to their disks.
    pub memory_bytes: u64,
    pub spilled_bytes: u64,
    /// Number the next task event will get (see [`SchedulerViewReader::task_events_since`]).
    pub task_events_next: u64,
    /// Every known task with its state and inputs while at most [`SMALL_GRAPH_TASKS`] are
    /// known (and someone reads the view); `None` otherwise.
    #[serde(default)]
    pub graph: Option<Vec<GraphNodeView>>,
}

/// Largest graph whose tasks the view lists (the dashboard draws it).
pub const SMALL_GRAPH_TASKS: usize = 300;

/// One task of a small graph: key, state, indices of its inputs in the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphNodeView {
    pub key: String,
    pub state: String,
    pub deps: Vec<u32>,
}

/// One finished (or failed) task, for the task stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskEvent {
    pub worker: u32,
    /// Executor thread of the worker.
    pub thread: u32,
    pub prefix: Arc<str>,
    pub key: Arc<str>,
    /// Milliseconds since the scheduler started: when the task began (its result's arrival
    /// minus its compute time) and ended (arrival).
    pub start_ms: f64,
    pub end_ms: f64,
    /// Milliseconds of the task spent reading spilled inputs from disk.
    pub input_read_ms: f64,
    /// Milliseconds spent fetching its inputs from other workers before it started, and
    /// the bytes fetched.
    #[serde(default)]
    pub transfer_ms: f64,
    #[serde(default)]
    pub transfer_bytes: u64,
    pub erred: bool,
}

/// Memory of every worker at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemorySample {
    pub t_ms: f64,
    /// `(worker id, RSS, bytes of results in memory, bytes spilled)`.
    pub workers: Vec<(u32, u64, u64, u64)>,
}

/// What the recorder and the readers share.
struct ViewShared {
    started: Instant,
    latest: Mutex<Arc<SchedulerView>>,
    events: Mutex<Ring<TaskEvent>>,
    memory: Mutex<Ring<Arc<MemorySample>>>,
    /// Milliseconds since start of the last read of a view (prefix counts are only computed
    /// while someone reads).
    last_read_ms: AtomicU64,
    /// Panels published by other parts of the process running the scheduler (the job-queue
    /// manager's jobs), by name; one value each, replaced on every publication.
    panels: Mutex<std::collections::BTreeMap<String, Arc<serde_json::Value>>>,
}

/// A handle for reading the published view; cheap to clone, never blocks the scheduler.
#[derive(Clone)]
pub struct SchedulerViewReader {
    shared: Arc<ViewShared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SchedulerViewReader {
    /// The latest published view (marks the view as being read: per-prefix counts are kept
    /// up to date from now on for a while).
    pub fn latest(&self) -> Arc<SchedulerView> {
        let ms = self.shared.started.elapsed().as_millis() as u64;
        self.shared.last_read_ms.store(ms.max(1), Ordering::Relaxed);
        lock(&self.shared.latest).clone()
    }

    /// At most `max` task events numbered `seq` and later (the newest when there are more),
    /// and the number to ask from next time.
    pub fn task_events_since(&self, seq: u64, max: usize) -> (Vec<TaskEvent>, u64) {
        lock(&self.shared.events).since(seq, max)
    }

    /// At most `max` memory samples numbered `seq` and later, and the next number.
    pub fn memory_since(&self, seq: u64, max: usize) -> (Vec<Arc<MemorySample>>, u64) {
        lock(&self.shared.memory).since(seq, max)
    }

    /// Publish (replace) the panel `name`: figures another part of this process wants the
    /// dashboard to show next to the scheduler's (the job-queue manager's jobs). Bounded: one
    /// value per name.
    pub fn publish_panel(&self, name: &str, value: serde_json::Value) {
        lock(&self.shared.panels).insert(name.to_string(), Arc::new(value));
    }

    /// The published panels, by name.
    pub fn panels(&self) -> std::collections::BTreeMap<String, Arc<serde_json::Value>> {
        lock(&self.shared.panels).clone()
    }

    /// Milliseconds since the scheduler started.
    pub fn now_ms(&self) -> f64 {
        self.shared.started.elapsed().as_secs_f64() * 1e3
    }
}
