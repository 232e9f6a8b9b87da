//! An indexed 4-ary min-heap of worker slots by load: the "least-loaded worker with room"
//! index of the worker pool.
//!
//! Every assignment and completion changes one worker's load by one task, so the index is
//! updated on the hot path of every task. A heap that knows each slot's position re-sifts that
//! one entry in place (no allocation), where an ordered set removes and re-inserts a node;
//! four children per node halve the depth of a binary heap.
//! Each entry is one `u128` — load, worker id, slot, most significant first — so a comparison
//! is a single integer comparison. The id makes keys unique, so the minimum is exactly the one
//! an ordered set of `(load, id)` would give. This is a container only: it must not know what
//! a load is or decide anything.

/// Position marker of a slot that is not in the heap.
const ABSENT: u32 = u32::MAX;

/// Children per heap node.
const ARITY: usize = 4;

/// A min-heap of `(load, id, slot)` with at most one entry per slot, `slot` being a small
/// dense index.
#[derive(Debug, Default)]
pub(super) struct LoadIndex {
    heap: Vec<u128>,
    /// Heap position of each slot, or [`ABSENT`].
    position: Vec<u32>,
}

#[inline]
fn pack(load: u64, id: u32, slot: u32) -> u128 {
    (u128::from(load) << 64) | (u128::from(id) << 32) | u128::from(slot)
}

#[inline]
fn slot_of(entry: u128) -> u32 {
    entry as u32
}

#[inline]
fn load_of(entry: u128) -> u64 {
    (entry >> 64) as u64
}

impl LoadIndex {
    /// Number of entries.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when `slot` has an entry.
    #[cfg(test)]
    pub(super) fn contains(&self, slot: u32) -> bool {
        self.position
            .get(slot as usize)
            .is_some_and(|&p| p != ABSENT)
    }

    /// Add `slot` with key `(load, id)`, or change its key if present.
    pub(super) fn set(&mut self, slot: u32, load: u64, id: u32) {
        let entry = pack(load, id, slot);
        let index = slot as usize;
        if index >= self.position.len() {
            self.position.resize(index + 1, ABSENT);
        }
        match self.position[index] {
            ABSENT => {
                let at = self.heap.len();
                self.heap.push(entry);
                self.sift_up(at, entry);
            }
            at => {
                let at = at as usize;
                if entry < self.heap[at] {
                    self.sift_up(at, entry);
                } else {
                    self.sift_down(at, entry);
                }
            }
        }
    }

    /// Remove `slot`'s entry, if any.
    pub(super) fn remove(&mut self, slot: u32) {
        let Some(&at) = self.position.get(slot as usize) else {
            return;
        };
        if at == ABSENT {
            return;
        }
        self.position[slot as usize] = ABSENT;
        let at = at as usize;
        let Some(last) = self.heap.pop() else {
            return;
        };
        if at == self.heap.len() {
            return;
        }
        if last < self.heap[at] {
            self.sift_up(at, last);
        } else {
            self.sift_down(at, last);
        }
    }

    /// The slot with the least key.
    #[inline]
    pub(super) fn first(&self) -> Option<u32> {
        self.heap.first().map(|&e| slot_of(e))
    }

    /// The slot with the least key other than `except`.
    pub(super) fn first_except(&self, except: u32) -> Option<u32> {
        match self.heap.first() {
            None => None,
            Some(&top) if slot_of(top) != except => Some(slot_of(top)),
            // The runner-up of a heap is one of the root's children.
            Some(_) => self
                .heap
                .get(1..self.heap.len().min(ARITY + 1))
                .and_then(|children| children.iter().min())
                .map(|&e| slot_of(e)),
        }
    }

    /// Every entry as `(load, slot)`, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.heap.iter().map(|&e| (load_of(e), slot_of(e)))
    }

    /// Place `entry` at `at` or above.
    #[inline]
    fn sift_up(&mut self, mut at: usize, entry: u128) {
        while at > 0 {
            let parent = (at - 1) / ARITY;
            let above = self.heap[parent];
            if above <= entry {
                break;
            }
            self.heap[at] = above;
            self.position[slot_of(above) as usize] = at as u32;
            at = parent;
        }
        self.heap[at] = entry;
        self.position[slot_of(entry) as usize] = at as u32;
    }

    /// Place `entry` at `at` or below.
    #[inline]
    fn sift_down(&mut self, mut at: usize, entry: u128) {
        let len = self.heap.len();
        loop {
            let first = ARITY * at + 1;
            if first >= len {
                break;
            }
            let mut child = first;
            let mut below = self.heap[first];
            for next in first + 1..(first + ARITY).min(len) {
                let candidate = self.heap[next];
                if candidate < below {
                    child = next;
                    below = candidate;
                }
            }
            if entry <= below {
                break;
            }
            self.heap[at] = below;
            self.position[slot_of(below) as usize] = at as u32;
            at = child;
        }
        self.heap[at] = entry;
        self.position[slot_of(entry) as usize] = at as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A tiny deterministic generator (xorshift) for the model test.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn matches_an_ordered_set_under_random_updates() {
        let mut index = LoadIndex::default();
        let mut model: BTreeSet<((u64, u32), u32)> = BTreeSet::new();
        let mut keys: Vec<Option<(u64, u32)>> = vec![None; 40];
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let slot = (next(&mut state) % 40) as u32;
            let action = next(&mut state) % 3;
            if let Some(old) = keys[slot as usize].take() {
                model.remove(&(old, slot));
            }
            if action == 0 {
                index.remove(slot);
            } else {
                // Ids differ from slots (and keep keys unique).
                let key = (next(&mut state) % 16, 1000 - slot);
                index.set(slot, key.0, key.1);
                model.insert((key, slot));
                keys[slot as usize] = Some(key);
            }
            assert_eq!(index.len(), model.len());
            assert_eq!(index.first(), model.first().map(|e| e.1));
            assert_eq!(index.contains(slot), keys[slot as usize].is_some());
            let except = (next(&mut state) % 40) as u32;
            assert_eq!(
                index.first_except(except),
                model.iter().map(|e| e.1).find(|s| *s != except)
            );
        }
        let mut all: Vec<(u64, u32)> = index.iter().collect();
        all.sort();
        let mut expected: Vec<(u64, u32)> = model.into_iter().map(|(k, s)| (k.0, s)).collect();
        expected.sort();
        assert_eq!(all, expected);
    }
}
