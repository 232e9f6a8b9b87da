//! A worker's shared state: which results it holds and why (the bytes live in the
//! [`ChunkStore`], in memory or spilled), the tasks it was given and their phase, and the
//! priority queue executors take tasks from.
//!
//! All mutation goes through methods that keep the invariants: a key is in the ready queue
//! only while its task is `Ready`; a fetched input (replica) lives as long as a queued task of
//! this worker needs it or the scheduler made this worker its owner; a key is in the store
//! exactly while the data table lists it. This module must not do I/O itself (the store
//! may, when it deletes a spilled chunk).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use bytes::Bytes;

use crate::core::TaskKey;
use crate::protocol::ComputeTask;
use crate::store::ChunkStore;

use super::local_resources::{Grant, LocalResources};

/// Where a task given to this worker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for inputs from peers.
    Fetching,
    /// In the ready queue.
    Ready,
    /// An executor is running it.
    Running,
}

pub struct TaskEntry {
    pub task: ComputeTask,
    pub phase: Phase,
    /// Freed by the scheduler while running: drop the result.
    pub released: bool,
    /// The task holds a reference on each of its inputs (taken when it became ready).
    pub holds_inputs: bool,
    /// Set with `released` while it runs: the kernel may stop early (see `RunPlace::cancel`).
    pub cancel: Arc<std::sync::atomic::AtomicBool>,
    /// Time spent fetching its inputs from peers, and the bytes fetched (reported with the
    /// result, for the dashboard's task stream).
    pub transfer: std::time::Duration,
    pub transfer_bytes: u64,
    seq: u64,
}

/// Which results this worker holds and who needs them; the bytes are in the store.
pub struct DataTable {
    store: Arc<ChunkStore>,
    /// Keys in the store.
    present: HashSet<TaskKey>,
    /// Keys the scheduler knows this worker holds (results and scattered data).
    owned: HashSet<TaskKey>,
    /// Fetched inputs: how many tasks of this worker still need each.
    replica_refs: HashMap<TaskKey, u32>,
}

impl DataTable {
    /// An empty table over `store`.
    pub fn new(store: Arc<ChunkStore>) -> Self {
        DataTable {
            store,
            present: HashSet::new(),
            owned: HashSet::new(),
            replica_refs: HashMap::new(),
        }
    }

    pub fn contains(&self, key: &TaskKey) -> bool {
        self.present.contains(key)
    }

    /// Store a value the scheduler will know this worker owns.
    pub fn insert_owned(&mut self, key: TaskKey, value: Bytes) {
        self.owned.insert(key.clone());
        self.insert(key, value);
    }

    fn insert(&mut self, key: TaskKey, value: Bytes) {
        self.present.insert(key.clone());
        self.store.put(key, value);
    }

    /// Store a fetched input needed by one more task.
    pub fn insert_replica(&mut self, key: TaskKey, value: Bytes) {
        *self.replica_refs.entry(key.clone()).or_insert(0) += 1;
        if !self.present.contains(&key) {
            self.insert(key, value);
        }
    }

    /// A task needing an input already present takes a reference on it.
    pub fn retain_replica(&mut self, key: &TaskKey) {
        *self.replica_refs.entry(key.clone()).or_insert(0) += 1;
    }

    /// A task that needed `key` is done with it.
    pub fn release_replica(&mut self, key: &TaskKey) {
        if let Some(n) = self.replica_refs.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.replica_refs.remove(key);
                self.drop_if_unused(key);
            }
        }
    }

    /// The scheduler no longer needs this worker to hold `key`.
    pub fn free(&mut self, key: &TaskKey) {
        self.owned.remove(key);
        self.drop_if_unused(key);
    }

    fn drop_if_unused(&mut self, key: &TaskKey) {
        if !self.owned.contains(key)
            && !self.replica_refs.contains_key(key)
            && self.present.remove(key)
        {
            self.store.remove(key);
        }
    }

    pub fn len(&self) -> usize {
        self.present.len()
    }
}

/// Tasks and the ready queue, under one lock.
#[derive(Default)]
pub struct TaskTable {
    pub entries: HashMap<TaskKey, TaskEntry>,
    ready: BinaryHeap<Reverse<(u64, u64, TaskKey)>>,
    next_seq: u64,
    pub running: u32,
    pub stopping: bool,
    /// The memory monitor holds the executors (worker paused, or spills behind): they start
    /// no new task.
    pub paused: bool,
    /// CPUs, memory and generic resources not given to running tasks.
    pub resources: LocalResources,
    /// Ready entries skipped by `pop_ready` because their resources were not free.
    skipped: Vec<Reverse<(u64, u64, TaskKey)>>,
}

impl TaskTable {
    /// Add a task in `phase` (Ready tasks are queued).
    pub fn add(&mut self, task: ComputeTask, phase: Phase) {
        self.next_seq += 1;
        let seq = self.next_seq;
        if phase == Phase::Ready {
            self.ready
                .push(Reverse((task.priority, seq, task.key.clone())));
        }
        self.entries.insert(
            task.key.clone(),
            TaskEntry {
                task,
                phase,
                released: false,
                holds_inputs: phase != Phase::Fetching,
                cancel: Arc::default(),
                transfer: std::time::Duration::ZERO,
                transfer_bytes: 0,
                seq,
            },
        );
    }

    /// A fetching task got its inputs.
    pub fn make_ready(&mut self, key: &TaskKey) -> bool {
        match self.entries.get_mut(key) {
            Some(e) if e.phase == Phase::Fetching => {
                e.phase = Phase::Ready;
                e.holds_inputs = true;
                self.ready
                    .push(Reverse((e.task.priority, e.seq, key.clone())));
                true
            }
            _ => false,
        }
    }

    /// Take the highest-priority ready task whose resources are free, mark it running and
    /// give it its resources (tasks that do not fit now keep their place).
    pub fn pop_ready(
        &mut self,
    ) -> Option<(ComputeTask, Grant, Arc<std::sync::atomic::AtomicBool>)> {
        let mut found = None;
        while let Some(entry) = self.ready.pop() {
            let Reverse((_, seq, key)) = &entry;
            let Some(e) = self.entries.get_mut(key) else {
                continue;
            };
            if e.seq != *seq || e.phase != Phase::Ready {
                continue;
            }
            match self.resources.try_take(&e.task.resources) {
                Some(grant) => {
                    e.phase = Phase::Running;
                    self.running += 1;
                    found = Some((e.task.clone(), grant, e.cancel.clone()));
                    break;
                }
                None => self.skipped.push(entry),
            }
        }
        self.ready.extend(self.skipped.drain(..));
        found
    }

    /// Remove a task that is not running (stolen or freed); `None` if absent or running.
    pub fn remove_unstarted(&mut self, key: &TaskKey) -> Option<TaskEntry> {
        match self.entries.get(key) {
            Some(e) if e.phase != Phase::Running => self.entries.remove(key),
            _ => None,
        }
    }

    /// Number of tasks queued or fetching.
    pub fn queued(&self) -> usize {
        self.entries.len() - self.running as usize
    }
}

/// Everything the worker's threads share.
pub struct WorkerState {
    /// The worker's name (`%{WORKER}` of command tasks).
    pub name: String,
    /// The bytes of the results (in memory or spilled); thread-safe on its own, so reading a
    /// value needs no other lock.
    pub store: Arc<ChunkStore>,
    pub data: Mutex<DataTable>,
    pub tasks: Mutex<TaskTable>,
    pub work_available: Condvar,
    /// Signalled when an executor takes a ready task: a fetcher holding back (enough tasks
    /// ready ahead) may bring the next task's inputs.
    pub fetch_room: Condvar,
    pub completed: std::sync::atomic::AtomicU64,
}

impl WorkerState {
    pub fn new(store: Arc<ChunkStore>, name: String, resources: LocalResources) -> Self {
        WorkerState {
            name,
            data: Mutex::new(DataTable::new(store.clone())),
            store,
            tasks: Mutex::new(TaskTable {
                resources,
                ..TaskTable::default()
            }),
            work_available: Condvar::new(),
            fetch_room: Condvar::new(),
            completed: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn data(&self) -> MutexGuard<'_, DataTable> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn tasks(&self) -> MutexGuard<'_, TaskTable> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(key: &str, priority: u64) -> ComputeTask {
        ComputeTask {
            key: TaskKey::new(key),
            kernel: crate::core::KernelName::new("k"),
            args: Bytes::new(),
            deps: vec![],
            priority,
            resources: Default::default(),
        }
    }

    #[test]
    fn ready_queue_runs_lowest_priority_first_and_skips_removed() {
        let mut t = TaskTable {
            resources: LocalResources::new(4, None, &[]),
            ..TaskTable::default()
        };
        t.add(task("b", 5), Phase::Ready);
        t.add(task("a", 1), Phase::Ready);
        t.add(task("c", 3), Phase::Fetching);
        t.entries.remove(&TaskKey::new("a"));
        assert!(t.make_ready(&TaskKey::new("c")));
        assert_eq!(t.pop_ready().unwrap().0.key.as_str(), "c");
        assert_eq!(t.pop_ready().unwrap().0.key.as_str(), "b");
        assert!(t.pop_ready().is_none());
        assert_eq!(t.running, 2);
    }

    fn store() -> (tempfile::TempDir, Arc<ChunkStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open(crate::store::StoreConfig {
            local_directory: dir.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap();
        (dir, Arc::new(store))
    }

    #[test]
    fn replicas_live_while_needed_and_owned_data_until_freed() {
        let (_dir, store) = store();
        let mut d = DataTable::new(store.clone());
        let k = TaskKey::new("x");
        d.insert_replica(k.clone(), Bytes::from_static(b"1234"));
        d.retain_replica(&k);
        d.release_replica(&k);
        assert!(d.contains(&k));
        d.release_replica(&k);
        assert!(!d.contains(&k));
        d.insert_owned(k.clone(), Bytes::from_static(b"12"));
        d.retain_replica(&k);
        assert_eq!(store.metrics().memory_bytes, 2);
        d.free(&k);
        assert!(d.contains(&k), "a queued task still needs it");
        d.release_replica(&k);
        assert!(!d.contains(&k));
        assert!(!store.contains(&k), "the store drops what the table drops");
        assert_eq!(store.metrics().memory_bytes, 0);
    }

    #[test]
    fn a_spilled_value_is_still_held_and_removed_from_disk_when_freed() {
        let (_dir, store) = store();
        let mut d = DataTable::new(store.clone());
        let k = TaskKey::new("big");
        d.insert_owned(k.clone(), Bytes::from(vec![7u8; 4096]));
        assert_eq!(store.spill(std::slice::from_ref(&k)).spilled, 1);
        assert!(d.contains(&k));
        assert_eq!(store.read(&k).unwrap(), Bytes::from(vec![7u8; 4096]));
        d.free(&k);
        assert!(!store.contains(&k));
        assert_eq!(store.metrics().spilled_chunks, 0);
    }
}
