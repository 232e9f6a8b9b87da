//! Priority queues of ready tasks, lowest priority number first, with lazy deletion.
//!
//! Used for the global ready queue and for each worker's queue of ready tasks that prefer it
//! (hold most of their input bytes). An entry goes stale when its task leaves the ready state
//! or is forgotten; stale entries are skipped when they reach the top and purged in bulk when
//! they outnumber live ones. The queue does not know task states: callers pass a validity test.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::task_store::TaskId;

/// One queued task, ordered by `(priority, task)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ReadyEntry {
    pub priority: u64,
    pub task: TaskId,
    pub generation: u32,
}

/// A min-heap of [`ReadyEntry`] with lazy deletion.
#[derive(Default)]
pub(super) struct ReadyQueue {
    heap: BinaryHeap<Reverse<ReadyEntry>>,
}

impl ReadyQueue {
    /// An empty queue.
    pub(super) fn new() -> Self {
        ReadyQueue::default()
    }

    /// Add an entry.
    #[inline]
    pub(super) fn push(&mut self, entry: ReadyEntry) {
        self.heap.push(Reverse(entry));
    }

    /// The best entry for which `is_valid` holds, dropping stale entries above it.
    #[inline]
    pub(super) fn peek_valid(
        &mut self,
        is_valid: impl Fn(ReadyEntry) -> bool,
    ) -> Option<ReadyEntry> {
        while let Some(Reverse(top)) = self.heap.peek() {
            if is_valid(*top) {
                return Some(*top);
            }
            self.heap.pop();
        }
        None
    }

    /// Remove and return the best valid entry.
    #[inline]
    pub(super) fn pop_valid(
        &mut self,
        is_valid: impl Fn(ReadyEntry) -> bool,
    ) -> Option<ReadyEntry> {
        let top = self.peek_valid(is_valid)?;
        self.heap.pop();
        Some(top)
    }

    /// Remove the top entry (after [`ReadyQueue::peek_valid`] returned it).
    #[inline]
    pub(super) fn pop_top(&mut self) {
        self.heap.pop();
    }

    /// Purge stale entries (and duplicates) when they outnumber the `live` ones.
    pub(super) fn compact_if_sparse(&mut self, live: usize, is_valid: impl Fn(ReadyEntry) -> bool) {
        if self.heap.len() <= 2 * live + 64 {
            return;
        }
        let mut entries: Vec<Reverse<ReadyEntry>> = std::mem::take(&mut self.heap).into_vec();
        entries.retain(|e| is_valid(e.0));
        entries.sort_unstable();
        entries.dedup_by_key(|e| e.0.task);
        self.heap = BinaryHeap::from(entries);
    }

    /// All entries, valid or not, in no particular order.
    pub(super) fn entries(&self) -> impl Iterator<Item = ReadyEntry> + '_ {
        self.heap.iter().map(|e| e.0)
    }
}
