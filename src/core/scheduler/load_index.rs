//! The "least-loaded worker with room" index of the worker pool: workers bucketed by load,
//! each bucket a bit set over the workers in worker-id order.
//!
//! Every assignment and completion changes one worker's load by one task, so the index is
//! updated on the hot path of every task. Loads take few distinct values at a time (tasks per
//! thread in fixed point), so the index keeps one bucket per load value in use, in ascending
//! order; a bucket is a two-level bit set over the workers' ranks, ranks ascending with worker
//! ids. Moving a worker between buckets clears one bit and sets another; the least-loaded
//! worker is the first set bit of the first non-empty bucket: exactly the order `(load, id)` of
//! an ordered set, without sifting or rebalancing. Workers usually join in ascending id order
//! and take the next rank; otherwise (and when departed workers leave too many holes) ranks are
//! laid out again. This is a container only: it must not know what a load is or decide
//! anything.

/// No rank, no slot.
const NONE: u32 = u32::MAX;

/// Workers with one load, as a two-level bit set over ranks.
#[derive(Debug)]
struct Bucket {
    load: u64,
    count: usize,
    /// Bit `r % 64` of word `r / 64`: the worker of rank `r` is here.
    words: Vec<u64>,
    /// Bit `w % 64` of `summary[w / 64]`: word `w` is not zero.
    summary: Vec<u64>,
}

impl Bucket {
    fn new(load: u64, ranks: usize) -> Self {
        let words = ranks.div_ceil(64).max(1);
        Bucket {
            load,
            count: 0,
            words: vec![0; words],
            summary: vec![0; words.div_ceil(64)],
        }
    }

    #[inline]
    fn insert(&mut self, rank: usize) {
        let word = rank / 64;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
            self.summary.resize((word + 1).div_ceil(64), 0);
        }
        self.words[word] |= 1 << (rank % 64);
        self.summary[word / 64] |= 1 << (word % 64);
        self.count += 1;
    }

    #[inline]
    fn remove(&mut self, rank: usize) {
        let word = rank / 64;
        self.words[word] &= !(1 << (rank % 64));
        if self.words[word] == 0 {
            self.summary[word / 64] &= !(1 << (word % 64));
        }
        self.count -= 1;
    }

    /// The least rank here.
    #[inline]
    fn first(&self) -> Option<usize> {
        let (s, bits) = self
            .summary
            .iter()
            .enumerate()
            .find(|(_, bits)| **bits != 0)?;
        let word = s * 64 + bits.trailing_zeros() as usize;
        Some(word * 64 + self.words[word].trailing_zeros() as usize)
    }

    /// The least rank here other than `except`.
    fn first_except(&self, except: usize) -> Option<usize> {
        self.words.iter().enumerate().find_map(|(w, &bits)| {
            let bits = if w == except / 64 {
                bits & !(1 << (except % 64))
            } else {
                bits
            };
            (bits != 0).then(|| w * 64 + bits.trailing_zeros() as usize)
        })
    }
}

/// Least `(load, id)` over worker slots (small dense indices), at most one entry per slot.
#[derive(Debug, Default)]
pub(super) struct LoadIndex {
    /// Buckets in ascending load order (empty ones may linger).
    buckets: Vec<Bucket>,
    /// Bit `b % 64` of word `b / 64`: bucket `b` is not empty.
    nonempty: Vec<u64>,
    /// Bucket of each slot's entry, [`NONE`] when the slot has none.
    bucket_of_slot: Vec<u32>,
    /// Slot of each rank (ranks ascend with worker ids), [`NONE`] for a hole.
    slot_of_rank: Vec<u32>,
    /// Rank of each slot, [`NONE`] when unranked.
    rank_of_slot: Vec<u32>,
    /// Worker id of each ranked slot.
    id_of_slot: Vec<u32>,
    /// Ranked slots (the others in `slot_of_rank` are holes).
    ranked: usize,
}

impl LoadIndex {
    /// Number of entries.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.count).sum()
    }

    /// True when `slot` has an entry.
    #[cfg(test)]
    pub(super) fn contains(&self, slot: u32) -> bool {
        self.bucket_of_slot
            .get(slot as usize)
            .is_some_and(|&b| b != NONE)
    }

    /// Give `slot` (the worker `id`) the load `load`, or change it.
    pub(super) fn set(&mut self, slot: u32, load: u64, id: u32) {
        let index = slot as usize;
        if index >= self.rank_of_slot.len() {
            self.rank_of_slot.resize(index + 1, NONE);
            self.id_of_slot.resize(index + 1, 0);
            self.bucket_of_slot.resize(index + 1, NONE);
        }
        if self.rank_of_slot[index] == NONE || self.id_of_slot[index] != id {
            self.leave(slot);
            self.rank(slot, id);
        }
        let rank = self.rank_of_slot[index] as usize;
        let old = self.bucket_of_slot[index];
        let b = if old == NONE {
            self.bucket_or_insert(load, 0)
        } else {
            let old = old as usize;
            if self.buckets[old].load == load {
                return;
            }
            self.take_out(old, rank);
            self.bucket_or_insert(load, old)
        };
        self.put_in(b, rank);
        self.bucket_of_slot[index] = b as u32;
    }

    /// `slot` has no entry (no room) but keeps its rank.
    pub(super) fn remove(&mut self, slot: u32) {
        let index = slot as usize;
        let Some(&b) = self.bucket_of_slot.get(index) else {
            return;
        };
        if b == NONE {
            return;
        }
        let rank = self.rank_of_slot[index] as usize;
        self.take_out(b as usize, rank);
        self.bucket_of_slot[index] = NONE;
    }

    #[inline]
    fn take_out(&mut self, b: usize, rank: usize) {
        let bucket = &mut self.buckets[b];
        bucket.remove(rank);
        if bucket.count == 0 {
            self.nonempty[b / 64] &= !(1 << (b % 64));
        }
    }

    #[inline]
    fn put_in(&mut self, b: usize, rank: usize) {
        let bucket = &mut self.buckets[b];
        bucket.insert(rank);
        self.nonempty[b / 64] |= 1 << (b % 64);
    }

    /// The first non-empty bucket.
    #[inline]
    fn first_nonempty(&self) -> Option<&Bucket> {
        let (w, bits) = self
            .nonempty
            .iter()
            .enumerate()
            .find(|(_, bits)| **bits != 0)?;
        self.buckets.get(w * 64 + bits.trailing_zeros() as usize)
    }

    /// `slot`'s worker is gone: drop its entry and rank.
    pub(super) fn leave(&mut self, slot: u32) {
        self.remove(slot);
        let Some(&rank) = self.rank_of_slot.get(slot as usize) else {
            return;
        };
        if rank == NONE {
            return;
        }
        self.slot_of_rank[rank as usize] = NONE;
        self.rank_of_slot[slot as usize] = NONE;
        self.ranked -= 1;
    }

    /// The slot with the least `(load, id)`.
    #[inline]
    pub(super) fn first(&self) -> Option<u32> {
        self.first_nonempty()
            .and_then(Bucket::first)
            .map(|rank| self.slot_of_rank[rank])
    }

    /// The slot with the least `(load, id)` other than `except`.
    pub(super) fn first_except(&self, except: u32) -> Option<u32> {
        let except_rank = match self.rank_of_slot.get(except as usize) {
            Some(&rank) if rank != NONE => rank as usize,
            _ => usize::MAX,
        };
        self.buckets
            .iter()
            .filter(|b| b.count > 0)
            .find_map(|b| b.first_except(except_rank))
            .map(|rank| self.slot_of_rank[rank])
    }

    /// Every entry as `(load, slot)`, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.bucket_of_slot
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b != NONE)
            .map(|(slot, &b)| (self.buckets[b as usize].load, slot as u32))
    }

    /// The bucket of `load`, created if needed; `near` is a bucket likely next to it (loads
    /// move by one task at a time).
    #[inline]
    fn bucket_or_insert(&mut self, load: u64, near: usize) -> usize {
        for b in [near + 1, near.wrapping_sub(1), near] {
            if self
                .buckets
                .get(b)
                .is_some_and(|bucket| bucket.load == load)
            {
                return b;
            }
        }
        match self.buckets.binary_search_by_key(&load, |b| b.load) {
            Ok(b) => b,
            Err(at) => self.insert_bucket(at, load),
        }
    }

    /// Add a bucket for `load` at position `at` (renumbering the ones after it).
    #[cold]
    fn insert_bucket(&mut self, mut at: usize, load: u64) -> usize {
        // Drop empty buckets first when many linger (loads drift over time).
        if self.buckets.len() >= 256 && self.buckets.iter().any(|b| b.count == 0) {
            self.buckets.retain(|b| b.count > 0);
            at = self.buckets.partition_point(|b| b.load < load);
        }
        let ranks = self.slot_of_rank.len();
        self.buckets.insert(at, Bucket::new(load, ranks));
        self.renumber();
        at
    }

    /// Recompute every slot's bucket number and the non-empty mask after buckets moved.
    fn renumber(&mut self) {
        self.nonempty = vec![0; self.buckets.len().div_ceil(64)];
        for (b, bucket) in self.buckets.iter().enumerate() {
            if bucket.count > 0 {
                self.nonempty[b / 64] |= 1 << (b % 64);
            }
        }
        for (rank, &slot) in self.slot_of_rank.iter().enumerate() {
            if slot == NONE || self.bucket_of_slot[slot as usize] == NONE {
                continue;
            }
            let b = self.buckets.iter().position(|bucket| {
                bucket
                    .words
                    .get(rank / 64)
                    .is_some_and(|w| w & (1 << (rank % 64)) != 0)
            });
            self.bucket_of_slot[slot as usize] = b.map_or(NONE, |b| b as u32);
        }
    }

    /// Give an unranked slot a rank in worker-id order.
    fn rank(&mut self, slot: u32, id: u32) {
        self.id_of_slot[slot as usize] = id;
        let last_id = self
            .slot_of_rank
            .iter()
            .rev()
            .find(|&&s| s != NONE)
            .map(|&s| self.id_of_slot[s as usize]);
        let appends = last_id.is_none_or(|last| id > last);
        let holes = self.slot_of_rank.len() - self.ranked;
        self.ranked += 1;
        if appends && holes <= self.ranked + 64 {
            self.rank_of_slot[slot as usize] = self.slot_of_rank.len() as u32;
            self.slot_of_rank.push(slot);
        } else {
            self.relayout(slot);
        }
    }

    /// Rank every ranked slot and `newcomer` again in id order, without holes, and rebuild
    /// the buckets.
    fn relayout(&mut self, newcomer: u32) {
        let mut slots: Vec<(u32, u32)> = self
            .slot_of_rank
            .iter()
            .filter(|&&s| s != NONE)
            .map(|&s| (self.id_of_slot[s as usize], s))
            .collect();
        slots.push((self.id_of_slot[newcomer as usize], newcomer));
        slots.sort_unstable();
        self.slot_of_rank = slots.iter().map(|&(_, s)| s).collect();
        for (rank, &(_, slot)) in slots.iter().enumerate() {
            self.rank_of_slot[slot as usize] = rank as u32;
        }
        let ranks = self.slot_of_rank.len();
        for bucket in &mut self.buckets {
            *bucket = Bucket::new(bucket.load, ranks);
        }
        for (rank, &slot) in self.slot_of_rank.iter().enumerate() {
            let b = self.bucket_of_slot[slot as usize];
            if b != NONE {
                self.buckets[b as usize].insert(rank);
            }
        }
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
        // ((load, id), slot) for slots with an entry; the id of each connected slot.
        let mut model: BTreeSet<((u64, u32), u32)> = BTreeSet::new();
        let slots = 150usize;
        let mut loads: Vec<Option<u64>> = vec![None; slots];
        let mut ids: Vec<Option<u32>> = vec![None; slots];
        let mut next_id = 0u32;
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for step in 0..60_000 {
            let slot = (next(&mut state) % slots as u64) as u32;
            let s = slot as usize;
            if let (Some(load), Some(id)) = (loads[s], ids[s]) {
                model.remove(&((load, id), slot));
            }
            match next(&mut state) % 8 {
                0 => {
                    // The worker leaves; its slot may come back with a new, unique id.
                    index.leave(slot);
                    loads[s] = None;
                    ids[s] = None;
                }
                1 => {
                    index.remove(slot);
                    loads[s] = None;
                }
                _ => {
                    let id = *ids[s].get_or_insert_with(|| {
                        // Mostly ascending ids, sometimes one below the newest.
                        next_id += 4;
                        if next(&mut state).is_multiple_of(10) {
                            next_id.saturating_sub(200) + 1
                        } else {
                            next_id
                        }
                    });
                    // Few loads at a time, drifting (old buckets empty out).
                    let load = step / 5_000 * 3 + next(&mut state) % 6;
                    index.set(slot, load, id);
                    loads[s] = Some(load);
                    model.insert(((load, id), slot));
                }
            }
            assert_eq!(index.first(), model.first().map(|e| e.1), "step {step}");
            assert_eq!(index.len(), model.len());
            assert_eq!(index.contains(slot), loads[s].is_some() && ids[s].is_some());
            let except = (next(&mut state) % slots as u64) as u32;
            assert_eq!(
                index.first_except(except),
                model.iter().map(|e| e.1).find(|s| *s != except),
                "step {step}"
            );
        }
        let mut all: Vec<(u64, u32)> = index.iter().collect();
        all.sort();
        let mut expected: Vec<(u64, u32)> = model.into_iter().map(|(k, s)| (k.0, s)).collect();
        expected.sort();
        assert_eq!(all, expected);
    }
}
