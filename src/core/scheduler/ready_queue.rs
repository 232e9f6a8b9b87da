//! Priority queues of ready tasks, lowest priority number first, with lazy deletion.
//!
//! Used for the global ready queue and for each worker's queue of ready tasks that prefer it
//! (hold most of their input bytes). An entry goes stale when its task leaves the ready state
//! or is forgotten; stale entries are skipped when they reach the top and purged in bulk when
//! they outnumber live ones. The queue does not know task states: callers pass a validity test.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::task_store::TaskId;

/// One queued task, ordered by `(priority, task)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ReadyEntry {
    pub priority: u64,
    pub task: TaskId,
    pub generation: u32,
}

/// A min-queue of [`ReadyEntry`] with lazy deletion.
///
/// Tasks mostly become ready in priority order or in reverse (priorities follow the
/// depth-first order in which graphs are planned; inputs are made ready from a stack), so an
/// entry not above the sorted run's first entry or not below its last one joins that run, a
/// deque, in O(1); only entries in between pay for the heap. The best entry is the lesser of
/// the run's front and the heap's top.
#[derive(Default)]
pub(super) struct ReadyQueue {
    /// Entries in ascending order.
    run: VecDeque<ReadyEntry>,
    /// The other entries.
    heap: BinaryHeap<Reverse<ReadyEntry>>,
}

/// Which part of a [`ReadyQueue`] holds its best entry.
#[derive(Clone, Copy)]
enum Side {
    Run,
    Heap,
}

impl ReadyQueue {
    /// An empty queue.
    pub(super) fn new() -> Self {
        ReadyQueue::default()
    }

    /// Add an entry.
    #[inline]
    pub(super) fn push(&mut self, entry: ReadyEntry) {
        match (self.run.front(), self.run.back()) {
            (Some(first), _) if entry <= *first => self.run.push_front(entry),
            (_, Some(last)) if entry < *last => self.heap.push(Reverse(entry)),
            _ => self.run.push_back(entry),
        }
    }

    /// The best entry, valid or not, and where it is.
    #[inline]
    fn best(&self) -> Option<(ReadyEntry, Side)> {
        match (self.run.front(), self.heap.peek()) {
            (Some(&r), Some(&Reverse(h))) => Some(if h < r {
                (h, Side::Heap)
            } else {
                (r, Side::Run)
            }),
            (Some(&r), None) => Some((r, Side::Run)),
            (None, Some(&Reverse(h))) => Some((h, Side::Heap)),
            (None, None) => None,
        }
    }

    #[inline]
    fn remove(&mut self, side: Side) {
        match side {
            Side::Run => {
                self.run.pop_front();
            }
            Side::Heap => {
                self.heap.pop();
            }
        }
    }

    /// The best entry for which `is_valid` holds, dropping stale entries above it.
    #[inline]
    pub(super) fn peek_valid(
        &mut self,
        is_valid: impl Fn(ReadyEntry) -> bool,
    ) -> Option<ReadyEntry> {
        while let Some((top, side)) = self.best() {
            if is_valid(top) {
                return Some(top);
            }
            self.remove(side);
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
        self.pop_top();
        Some(top)
    }

    /// Remove the best entry (after [`ReadyQueue::peek_valid`] returned it).
    #[inline]
    pub(super) fn pop_top(&mut self) {
        if let Some((_, side)) = self.best() {
            self.remove(side);
        }
    }

    /// Number of entries, valid or not.
    #[inline]
    fn len(&self) -> usize {
        self.run.len() + self.heap.len()
    }

    /// Purge stale entries (and duplicates) when they outnumber the `live` ones.
    #[inline]
    pub(super) fn compact_if_sparse(&mut self, live: usize, is_valid: impl Fn(ReadyEntry) -> bool) {
        if self.len() > 2 * live + 64 {
            self.compact(is_valid);
        }
    }

    #[cold]
    fn compact(&mut self, is_valid: impl Fn(ReadyEntry) -> bool) {
        let mut entries: Vec<ReadyEntry> = std::mem::take(&mut self.run).into();
        entries.extend(std::mem::take(&mut self.heap).into_iter().map(|e| e.0));
        entries.retain(|e| is_valid(*e));
        entries.sort_unstable();
        entries.dedup_by_key(|e| e.task);
        // Sorted: it all becomes the run.
        self.run = entries.into();
    }

    /// All entries, valid or not, in no particular order.
    pub(super) fn entries(&self) -> impl Iterator<Item = ReadyEntry> + '_ {
        self.run
            .iter()
            .copied()
            .chain(self.heap.iter().map(|e| e.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(priority: u64, task: u32) -> ReadyEntry {
        ReadyEntry {
            priority,
            task: TaskId(task),
            generation: 0,
        }
    }

    #[test]
    fn pops_in_priority_order_whatever_the_push_order() {
        let mut queue = ReadyQueue::new();
        let mut state = 12345u64;
        let mut pushed = Vec::new();
        for i in 0..2_000u32 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Mostly ascending with some out-of-order entries.
            let priority = if state >> 62 == 0 {
                (state >> 40) % 3_000
            } else {
                u64::from(i) * 2
            };
            queue.push(entry(priority, i));
            pushed.push(entry(priority, i));
            if i % 7 == 0 {
                let top = queue.pop_valid(|_| true);
                pushed.sort_unstable();
                assert_eq!(top, Some(pushed.remove(0)));
            }
        }
        pushed.sort_unstable();
        for expected in pushed {
            assert_eq!(queue.pop_valid(|_| true), Some(expected));
        }
        assert_eq!(queue.pop_valid(|_| true), None);
    }

    #[test]
    fn stale_entries_are_skipped_and_compacted() {
        let mut queue = ReadyQueue::new();
        for i in 0..200u32 {
            queue.push(entry(u64::from(200 - i), i));
        }
        let live = |e: ReadyEntry| e.task.0.is_multiple_of(10);
        queue.compact_if_sparse(20, live);
        assert_eq!(queue.entries().count(), 20);
        assert_eq!(queue.peek_valid(live), Some(entry(10, 190)));
        queue.pop_top();
        assert_eq!(queue.pop_valid(live), Some(entry(20, 180)));
    }
}
