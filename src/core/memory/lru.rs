//! A least-recently-used order of keys with O(1) insert, touch and remove: an intrusive
//! doubly linked list over a slab of nodes plus a key → slot map.
//!
//! It only orders keys and remembers each key's size; it must not decide what to spill.

use std::collections::HashMap;

use crate::core::task::TaskKey;

const NIL: usize = usize::MAX;

struct Node {
    key: TaskKey,
    nbytes: u64,
    prev: usize,
    next: usize,
}

/// Keys from least to most recently used.
#[derive(Default)]
pub struct LruOrder {
    nodes: Vec<Option<Node>>,
    free: Vec<usize>,
    slots: HashMap<TaskKey, usize>,
    /// Least recently used.
    head: usize,
    /// Most recently used.
    tail: usize,
    total_bytes: u64,
}

impl LruOrder {
    /// An empty order.
    pub fn new() -> Self {
        LruOrder {
            nodes: Vec::new(),
            free: Vec::new(),
            slots: HashMap::new(),
            head: NIL,
            tail: NIL,
            total_bytes: 0,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Sum of the sizes of all keys.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// True when `key` is held.
    pub fn contains(&self, key: &TaskKey) -> bool {
        self.slots.contains_key(key)
    }

    /// Insert `key` as the most recently used (replacing its size if already held).
    pub fn insert_most_recent(&mut self, key: TaskKey, nbytes: u64) {
        self.remove(&key);
        let slot = self.alloc(key.clone(), nbytes);
        self.link_after(self.tail, slot);
        self.slots.insert(key, slot);
        self.total_bytes += nbytes;
    }

    /// Insert `key` as the least recently used (replacing its size if already held).
    pub fn insert_least_recent(&mut self, key: TaskKey, nbytes: u64) {
        self.remove(&key);
        let slot = self.alloc(key.clone(), nbytes);
        self.link_before(self.head, slot);
        self.slots.insert(key, slot);
        self.total_bytes += nbytes;
    }

    /// Mark `key` most recently used; false if not held.
    pub fn touch(&mut self, key: &TaskKey) -> bool {
        let Some(&slot) = self.slots.get(key) else {
            return false;
        };
        if slot != self.tail {
            self.unlink(slot);
            self.link_after(self.tail, slot);
        }
        true
    }

    /// Forget `key`, returning its size.
    pub fn remove(&mut self, key: &TaskKey) -> Option<u64> {
        let slot = self.slots.remove(key)?;
        self.unlink(slot);
        let node = self.nodes[slot].take()?;
        self.free.push(slot);
        self.total_bytes -= node.nbytes;
        Some(node.nbytes)
    }

    /// Keys with sizes, least recently used first.
    pub fn iter_least_recent(&self) -> impl Iterator<Item = (&TaskKey, u64)> + '_ {
        let mut at = self.head;
        std::iter::from_fn(move || {
            let node = self.nodes.get(at)?.as_ref()?;
            at = node.next;
            Some((&node.key, node.nbytes))
        })
    }

    fn alloc(&mut self, key: TaskKey, nbytes: u64) -> usize {
        let node = Node {
            key,
            nbytes,
            prev: NIL,
            next: NIL,
        };
        if let Some(slot) = self.free.pop() {
            self.nodes[slot] = Some(node);
            slot
        } else {
            self.nodes.push(Some(node));
            self.nodes.len() - 1
        }
    }

    fn node_mut(&mut self, slot: usize) -> Option<&mut Node> {
        self.nodes.get_mut(slot).and_then(Option::as_mut)
    }

    fn unlink(&mut self, slot: usize) {
        let (prev, next) = match self.node_mut(slot) {
            Some(n) => (n.prev, n.next),
            None => return,
        };
        match self.node_mut(prev) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.node_mut(next) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        if let Some(n) = self.node_mut(slot) {
            n.prev = NIL;
            n.next = NIL;
        }
    }

    /// Link `slot` right after `after` (`NIL` = at the head).
    fn link_after(&mut self, after: usize, slot: usize) {
        let next = match self.node_mut(after) {
            Some(a) => std::mem::replace(&mut a.next, slot),
            None => std::mem::replace(&mut self.head, slot),
        };
        match self.node_mut(next) {
            Some(n) => n.prev = slot,
            None => self.tail = slot,
        }
        if let Some(n) = self.node_mut(slot) {
            n.prev = after;
            n.next = next;
        }
    }

    /// Link `slot` right before `before` (`NIL` = at the tail).
    fn link_before(&mut self, before: usize, slot: usize) {
        let prev = match self.node_mut(before) {
            Some(b) => b.prev,
            None => self.tail,
        };
        self.link_after(prev, slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn order(lru: &LruOrder) -> Vec<String> {
        lru.iter_least_recent()
            .map(|(k, _)| k.to_string())
            .collect()
    }

    #[test]
    fn touch_moves_to_most_recent() {
        let mut lru = LruOrder::new();
        for k in ["a", "b", "c"] {
            lru.insert_most_recent(TaskKey::new(k), 1);
        }
        assert!(lru.touch(&TaskKey::new("a")));
        assert_eq!(order(&lru), ["b", "c", "a"]);
        lru.insert_least_recent(TaskKey::new("c"), 5);
        assert_eq!(order(&lru), ["c", "b", "a"]);
        assert_eq!(lru.total_bytes(), 7);
        assert_eq!(lru.remove(&TaskKey::new("b")), Some(1));
        assert_eq!(order(&lru), ["c", "a"]);
        assert!(!lru.touch(&TaskKey::new("b")));
    }

    proptest! {
        /// The list agrees with a naive Vec model under any sequence of operations.
        #[test]
        fn matches_vec_model(ops in proptest::collection::vec((0u8..4, 0u8..6), 0..200)) {
            let mut lru = LruOrder::new();
            let mut model: Vec<String> = Vec::new();
            for (op, k) in ops {
                let key = format!("k{k}");
                match op {
                    0 => { model.retain(|x| x != &key); model.push(key.clone()); lru.insert_most_recent(TaskKey::new(&key), 1); }
                    1 => { if let Some(i) = model.iter().position(|x| x == &key) { let x = model.remove(i); model.push(x); } lru.touch(&TaskKey::new(&key)); }
                    2 => { model.retain(|x| x != &key); lru.remove(&TaskKey::new(&key)); }
                    _ => { model.retain(|x| x != &key); model.insert(0, key.clone()); lru.insert_least_recent(TaskKey::new(&key), 1); }
                }
                prop_assert_eq!(order(&lru), model.clone());
                prop_assert_eq!(lru.len(), model.len());
                prop_assert_eq!(lru.total_bytes(), model.len() as u64);
            }
        }
    }
}
