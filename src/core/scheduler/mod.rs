//! The scheduler state machine: `handle(now, event)`, then `drain_actions()`.
//!
//! It owns the task graph (keys, dependencies, states), decides placement (data locality,
//! balance), priorities (depth-first graph order, so memory stays low), work stealing, and
//! recovery when workers disappear. It must not do I/O, read the clock or spawn threads:
//! `now` is passed in, and everything it wants done comes out as an [`Action`].
//!
//! How the parts fit (one concept per file):
//!
//! - `task_store`: dense task storage (`u32` ids, generations, the key index, state counts);
//! - `graph_order`: planning a submission (new vs known keys, depth-first priorities, cycles);
//! - `submission`: creating tasks from a plan, scattered data;
//! - `lifecycle`: the state transitions (waiting → ready → processing → memory, erred,
//!   released, forgotten) and the "still needed?" bookkeeping;
//! - `placement`: data-locality placement and filling free worker slots from the ready queue;
//! - `residency`: which workers' copies of results are spilled to disk (placement counts
//!   them at a discount);
//! - `walltime`, `duration_estimates`: keeping tasks known to be long off workers whose job
//!   ends too soon;
//! - `transfer_cost`: whether a task is worth running away from big inputs (placement and
//!   stealing keep it with its holder otherwise);
//! - `stealing`: moving queued tasks from overloaded workers to idle ones;
//! - `recovery`: workers leaving, inputs that could not be fetched;
//! - `retirement`: workers leaving gracefully (queued tasks back, sole copies replicated);
//! - `completion`: results and failures reported by workers;
//! - `clients`: who wants what, `KeyReady`/`KeyErred`/`Located` reports;
//! - `outbox`: the action list and batching of `Free` per worker;
//! - `prefix_counts`: task counts by state per group of keys, the tasks of a small graph
//!   (the dashboard's progress and graph pages).
//!
//! Events from unknown (or already departed) workers and clients are ignored: they are late
//! messages. Every event is handled in time logarithmic in the number of workers (amortised),
//! plus the size of the tasks it touches.

mod action;
mod clients;
mod completion;
mod duration_estimates;
mod event;
mod fast_hash;
mod graph_order;
mod inline_vec;
mod key_index;
mod lifecycle;
mod load_index;
mod outbox;
mod placement;
#[cfg(test)]
mod placement_tests;
mod prefix_counts;
mod ready_queue;
mod recovery;
mod residency;
mod resource_fit;
mod retirement;
#[cfg(test)]
mod retirement_tests;
mod stealing;
mod submission;
mod task_ref_list;
mod task_store;
#[cfg(test)]
mod test_graphs;
mod transfer_cost;
mod walltime;
mod worker_pool;

use std::time::{Duration, Instant};

pub use action::{Action, DepLocation};
pub use duration_estimates::task_prefix;
pub use event::Event;
pub use prefix_counts::{GraphNode, StateCounts};

use crate::core::task::{ClientId, TaskKey, WorkerId};
use clients::ClientState;
use fast_hash::FastMap;
use ready_queue::ReadyQueue;
use task_store::{TaskId, TaskRef, TaskState, TaskStore};
use worker_pool::{WorkerPool, WorkerSlot};

/// Least time between two steal attempts triggered by workers running dry.
const IDLE_STEAL_INTERVAL: Duration = Duration::from_millis(5);

/// Tunables of the scheduling policy.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    /// Tasks handed to a worker per thread before the rest wait at the scheduler
    /// (like dask's worker-saturation). Values above 1 hide network latency.
    pub saturation: f64,
    /// A task whose running worker died this many times is failed (dask's allowed-failures).
    pub allowed_failures: u32,
    /// Adaptive queue depth: a worker that finishes tasks quickly gets enough of them to stay
    /// busy for this long (measured rate × horizon), between `saturation` and
    /// `max_saturation` tasks per thread. Tiny tasks then never wait on a network round trip,
    /// while long (memory-heavy) tasks keep the shallow queue of `saturation`. Zero disables.
    pub queue_horizon: Duration,
    /// Upper bound of the adaptive queue depth, in tasks per thread.
    pub max_saturation: f64,
    /// Slack required on top of a task's estimated duration before it goes to a worker
    /// whose job ends (estimates are means; a run may take longer).
    pub walltime_margin: Duration,
    /// A task goes to (or is stolen by) a worker other than the one holding most of its input
    /// only if the input bytes that worker lacks (spilled ones count twice: the holder reads
    /// them from disk to send them) stay under this, or under what the task's known duration
    /// could transfer at [`Self::steal_bandwidth`]; otherwise it waits for the holder. Running
    /// a big-input task where its input is costs less than moving the input.
    pub steal_transfer_limit: u64,
    /// Bytes per second assumed for moving a task's inputs (see `steal_transfer_limit`).
    pub steal_bandwidth: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            saturation: 2.0,
            allowed_failures: 3,
            queue_horizon: Duration::from_millis(2),
            max_saturation: 64.0,
            walltime_margin: Duration::from_secs(2),
            steal_transfer_limit: 64 << 20,
            steal_bandwidth: 1 << 30,
        }
    }
}

/// Counts for `tessera info`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchedulerSnapshot {
    pub workers: usize,
    pub waiting: usize,
    pub ready: usize,
    pub processing: usize,
    pub memory: usize,
    pub erred: usize,
    pub total_tasks: usize,
}

/// Where one task is in its life, as seen from outside (see [`Scheduler::task_status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    /// Known but not computed and not being computed (nobody needs it now, or its data was
    /// freed while a dependent that may need recomputing is kept).
    Released,
    /// Needed; waiting for some inputs.
    Waiting,
    /// Needed; all inputs in memory; queued at the scheduler for a free worker slot.
    Ready,
    /// Sent to this worker.
    Processing(WorkerId),
    /// Result held by at least one worker (see [`Scheduler::who_has`]).
    Memory,
    /// Failed, itself or through an input.
    Erred,
}

/// The scheduler core. See the module docs.
pub struct Scheduler {
    config: SchedulerConfig,
    tasks: TaskStore,
    workers: WorkerPool,
    clients: FastMap<ClientId, ClientState>,
    /// Clients waiting for a key to land in memory (`LocateRequested`).
    pending_locates: FastMap<TaskId, Vec<ClientId>>,
    /// Workers told to drop a processing task (`Free`) whose result may still be in flight.
    cancelled_runs: FastMap<TaskId, inline_vec::InlineVec<WorkerId, 2>>,
    /// Ready tasks, best priority first.
    ready: ReadyQueue,
    actions: Vec<Action>,
    /// Tasks that may have stopped being needed; examined by `settle`.
    release_checks: Vec<TaskRef>,
    /// Workers with `Free`s not yet turned into an action.
    workers_with_frees: Vec<WorkerSlot>,
    /// Priority of the next task created.
    next_priority: u64,
    /// A worker ran out of tasks during this event (consider stealing for it).
    idle_hint: bool,
    /// A worker joined during this event.
    worker_joined: bool,
    /// When stealing was last considered because a worker ran dry.
    last_idle_balance: Option<Instant>,
    scratch_tasks: Vec<TaskId>,
    scratch_bytes: Vec<(WorkerId, u64)>,
    /// Workers leaving gracefully.
    retiring: FastMap<WorkerId, retirement::Retirement>,
    /// The time of the event being handled.
    now: Option<Instant>,
    /// Compute durations per task prefix (recorded while some worker has a known end, and
    /// for tasks with big inputs).
    durations: duration_estimates::DurationEstimates,
    /// Results whose copy on some holders is spilled to disk.
    spilled: FastMap<TaskId, residency::SpilledCopies>,
    /// Interned resource requests of tasks.
    requests: resource_fit::Requests,
}

impl Scheduler {
    /// A scheduler with no workers, clients or tasks.
    pub fn new(config: SchedulerConfig) -> Self {
        Scheduler {
            config,
            tasks: TaskStore::new(),
            workers: WorkerPool::new(),
            clients: FastMap::default(),
            pending_locates: FastMap::default(),
            cancelled_runs: FastMap::default(),
            ready: ReadyQueue::new(),
            actions: Vec::new(),
            release_checks: Vec::new(),
            workers_with_frees: Vec::new(),
            next_priority: 0,
            idle_hint: false,
            worker_joined: false,
            last_idle_balance: None,
            scratch_tasks: Vec::new(),
            scratch_bytes: Vec::new(),
            retiring: FastMap::default(),
            now: None,
            durations: duration_estimates::DurationEstimates::default(),
            spilled: FastMap::default(),
            requests: resource_fit::Requests::default(),
        }
    }

    /// Feed one event. Actions accumulate until drained.
    pub fn handle(&mut self, now: Instant, event: Event) {
        self.now = Some(now);
        match event {
            Event::WorkerJoined {
                worker,
                nthreads,
                memory_limit,
                lifetime,
                generic,
            } => self.on_worker_joined(
                worker,
                nthreads,
                memory_limit,
                Self::end_time(now, lifetime),
                &generic,
            ),
            Event::WorkerLeft { worker } => {
                self.on_worker_left(worker);
                self.forget_retiring_worker(worker);
            }
            Event::ClientJoined { client } => self.on_client_joined(client),
            Event::ClientLeft { client } => self.on_client_left(client),
            Event::GraphSubmitted {
                client,
                tasks,
                wanted,
            } => self.on_graph_submitted(client, tasks, &wanted),
            Event::DataScattered {
                client,
                worker,
                keys,
            } => self.on_data_scattered(client, worker, keys),
            Event::KeysReleased { client, keys } | Event::CancelRequested { client, keys } => {
                self.on_keys_released(client, &keys)
            }
            Event::LocateRequested { client, keys } => self.on_locate_requested(client, keys),
            Event::TaskFinished {
                worker,
                key,
                nbytes,
                compute,
            } => self.on_task_finished(now, worker, key, nbytes, compute),
            Event::TaskFailed {
                worker,
                key,
                message,
            } => self.on_task_failed(worker, key, message),
            Event::DepsMissing {
                worker,
                key,
                missing,
            } => self.on_deps_missing(worker, &key, &missing),
            Event::StealReply {
                worker,
                key,
                stolen,
            } => self.on_steal_reply(worker, &key, stolen),
            Event::WorkerRetiring { worker } => self.on_worker_retiring(worker),
            Event::ReplicaStored { worker, key } => self.on_replica_stored(worker, &key),
            Event::ReplicaFailed { worker, key } => self.on_replica_failed(worker, &key),
            Event::WorkerPaused { worker } => self.workers.set_paused(worker, true),
            Event::WorkerResumed { worker } => self.workers.set_paused(worker, false),
            Event::ResidencyChanged {
                worker,
                to_disk,
                to_memory,
            } => self.on_residency_changed(worker, &to_disk, &to_memory),
            Event::Tick => self.balance(),
        }
        self.settle();
        self.fill();
        if std::mem::take(&mut self.worker_joined) {
            // A newcomer relieves overloaded workers at once.
            self.balance();
        } else if std::mem::take(&mut self.idle_hint) {
            // Stealing scans the workers: when workers run dry one after another (the tail of
            // every graph), look at most once per interval; `Tick` always looks.
            let due = self
                .last_idle_balance
                .is_none_or(|last| now.saturating_duration_since(last) >= IDLE_STEAL_INTERVAL);
            if due {
                self.last_idle_balance = Some(now);
                self.balance();
            }
        }
        self.progress_retirements();
        self.flush_all_frees();
    }

    /// Take the actions produced so far, in the order they must be carried out.
    pub fn drain_actions(&mut self) -> std::vec::Drain<'_, Action> {
        self.actions.drain(..)
    }

    /// Workers currently holding `key` in memory (empty if none).
    pub fn who_has(&self, key: &TaskKey) -> &[WorkerId] {
        match self.tasks.lookup(key) {
            Some(id) => self.tasks[id].holders.as_slice(),
            None => &[],
        }
    }

    /// Where a task is in its life; `None` when the key is unknown (never seen, or forgotten).
    pub fn task_status(&self, key: &TaskKey) -> Option<TaskStatus> {
        let task = &self.tasks[self.tasks.lookup(key)?];
        Some(match task.state {
            TaskState::Released | TaskState::Forgotten => TaskStatus::Released,
            TaskState::Waiting => TaskStatus::Waiting,
            TaskState::Ready => TaskStatus::Ready,
            TaskState::Processing => match task.processing_on.and_then(|s| self.workers.get(s)) {
                Some(worker) => TaskStatus::Processing(worker.id),
                None => TaskStatus::Ready,
            },
            TaskState::Memory => TaskStatus::Memory,
            TaskState::Erred => TaskStatus::Erred,
        })
    }

    /// Tasks in flight on `worker` and the most it may have at once (`None` if not connected).
    pub fn worker_occupancy(&self, worker: WorkerId) -> Option<(usize, usize)> {
        let w = self.workers.get(self.workers.slot_of(worker)?)?;
        Some((w.in_flight(), w.capacity as usize))
    }

    /// Keys of the tasks in flight on `worker` (assigned and not yet reported back), in
    /// assignment order; empty when the worker is unknown.
    pub fn processing_keys(&self, worker: WorkerId) -> Vec<TaskKey> {
        self.workers
            .slot_of(worker)
            .and_then(|slot| self.workers.get(slot))
            .map(|w| {
                w.processing
                    .iter()
                    .map(|id| self.tasks[*id].key.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Counts of tasks by state and of workers.
    pub fn snapshot(&self) -> SchedulerSnapshot {
        SchedulerSnapshot {
            workers: self.workers.len(),
            waiting: self.tasks.count(TaskState::Waiting),
            ready: self.tasks.count(TaskState::Ready),
            processing: self.tasks.count(TaskState::Processing),
            memory: self.tasks.count(TaskState::Memory),
            erred: self.tasks.count(TaskState::Erred),
            total_tasks: self.tasks.len(),
        }
    }

    fn on_worker_joined(
        &mut self,
        worker: WorkerId,
        nthreads: u32,
        memory_limit: Option<u64>,
        ends_at: Option<Instant>,
        generic: &[(String, u32)],
    ) {
        let generic_total = self.generic_totals(generic);
        if let Some(slot) = self.workers.add(
            worker,
            nthreads,
            memory_limit,
            self.config.saturation,
            ends_at,
        ) {
            self.workers[slot].generic_total = generic_total;
            self.worker_joined = true;
        }
    }
}
