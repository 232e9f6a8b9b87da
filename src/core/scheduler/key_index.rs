//! A compact hash index from task keys to dense `u32` ids, the keys themselves living elsewhere.
//!
//! Open addressing with linear probing over 8-byte slots (a 32-bit key hash and the id), load
//! at most 3/4, and backward-shift deletion (no tombstones). The index never sees a key: the
//! caller hashes it once with [`key_hash`] and passes an equality test on ids, so a key stored
//! with its task is not stored again, lookups compare the 32-bit hash before touching any key,
//! and removal by `(hash, id)` compares no key at all. Keys come from authenticated clients of
//! one user's cluster, so hash flooding is not a concern (as for `fast_hash`). This is a
//! container only: it must not know what the ids mean.

use std::hash::Hasher;

use super::fast_hash::FastHasher;

/// Marker of an empty slot (never a valid id).
const EMPTY: u32 = u32::MAX;

/// The 32-bit hash of a key, as the index expects it.
#[inline]
pub(super) fn key_hash(key: &str) -> u32 {
    let mut hasher = FastHasher::default();
    hasher.write(key.as_bytes());
    let h = hasher.finish();
    (h ^ (h >> 32)) as u32
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    hash: u32,
    id: u32,
}

const VACANT: Slot = Slot { hash: 0, id: EMPTY };

/// Ids by key hash; see the module docs.
#[derive(Debug, Default)]
pub(super) struct KeyIndex {
    slots: Vec<Slot>,
    len: usize,
}

impl KeyIndex {
    /// Number of ids.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The id stored with `hash` for which `is_key` holds.
    #[inline]
    pub(super) fn find(&self, hash: u32, is_key: impl Fn(u32) -> bool) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        let mut at = hash as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot.id == EMPTY {
                return None;
            }
            if slot.hash == hash && is_key(slot.id) {
                return Some(slot.id);
            }
            at = (at + 1) & mask;
        }
    }

    /// Make room for `additional` more ids without rehashing.
    pub(super) fn reserve(&mut self, additional: usize) {
        let needed = self.len.saturating_add(additional);
        if needed.saturating_mul(4) > self.slots.len().saturating_mul(3) {
            let capacity = (needed.saturating_mul(4) / 3 + 1)
                .next_power_of_two()
                .max(16);
            self.rehash(capacity);
        }
    }

    /// Add `id` under `hash`. The caller makes sure its key is not in the index yet.
    #[inline]
    pub(super) fn insert(&mut self, hash: u32, id: u32) {
        self.reserve(1);
        let mask = self.mask();
        let mut at = hash as usize & mask;
        while self.slots[at].id != EMPTY {
            at = (at + 1) & mask;
        }
        self.slots[at] = Slot { hash, id };
        self.len += 1;
    }

    /// Remove `id`, stored under `hash`; false if it is not there.
    pub(super) fn remove(&mut self, hash: u32, id: u32) -> bool {
        if self.len == 0 {
            return false;
        }
        let mask = self.mask();
        let mut at = hash as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot.id == EMPTY {
                return false;
            }
            if slot.id == id {
                break;
            }
            at = (at + 1) & mask;
        }
        // Backward shift: pull later entries of the probe run into the hole when the hole
        // lies between their home slot and where they are.
        let mut hole = at;
        let mut next = (at + 1) & mask;
        loop {
            let slot = self.slots[next];
            if slot.id == EMPTY {
                break;
            }
            let home = slot.hash as usize & mask;
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(hole) & mask) {
                self.slots[hole] = slot;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = VACANT;
        self.len -= 1;
        true
    }

    fn rehash(&mut self, capacity: usize) {
        let old = std::mem::replace(&mut self.slots, vec![VACANT; capacity]);
        let mask = capacity - 1;
        for slot in old.into_iter().filter(|s| s.id != EMPTY) {
            let mut at = slot.hash as usize & mask;
            while self.slots[at].id != EMPTY {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn matches_a_hash_map_under_inserts_and_removals() {
        let keys: Vec<String> = (0..3_000).map(|i| format!("k{}", i % 1_500)).collect();
        let mut index = KeyIndex::default();
        let mut model: HashMap<&str, u32> = HashMap::new();
        // Ids are positions in `keys`; colliding hashes are forced for some keys to exercise
        // long probe runs and backward shifts.
        let hash_of = |i: usize| {
            if i % 1_500 < 40 {
                7
            } else {
                key_hash(&keys[i])
            }
        };
        let mut state = 88172645463325252u64;
        for step in 0..40_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state % 1_500) as usize;
            let key = keys[i].as_str();
            let found = index.find(hash_of(i), |id| keys[id as usize] == key);
            assert_eq!(found, model.get(key).copied(), "step {step}");
            match found {
                Some(id) if state & 1 == 0 => {
                    assert!(index.remove(hash_of(i), id));
                    model.remove(key);
                }
                Some(_) => {}
                None => {
                    index.insert(hash_of(i), i as u32);
                    model.insert(key, i as u32);
                }
            }
            assert_eq!(index.len(), model.len());
        }
        for (key, id) in model {
            let i = id as usize;
            assert_eq!(
                index.find(hash_of(i), |id| keys[id as usize] == key),
                Some(id)
            );
        }
        assert!(!index.remove(key_hash("absent"), 12_345));
    }
}
