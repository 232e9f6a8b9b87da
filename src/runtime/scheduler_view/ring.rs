//! A bounded ring of numbered items: the newest `capacity` are kept, readers ask for the
//! ones after the last number they saw. Must not grow past its capacity.

use std::collections::VecDeque;

/// Items numbered from 0 in the order pushed; only the newest `capacity` are kept.
#[derive(Debug)]
pub struct Ring<T> {
    items: VecDeque<T>,
    capacity: usize,
    /// Number of the next item pushed.
    next: u64,
}

impl<T: Clone> Ring<T> {
    /// An empty ring keeping at most `capacity` items (at least one).
    pub fn new(capacity: usize) -> Self {
        Ring {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            next: 0,
        }
    }

    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
        self.next += 1;
    }

    /// Push every item of `items`, in order.
    pub fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        for item in items {
            self.push(item);
        }
    }

    /// `n` items numbered next were lost before reaching the ring (a writer kept more than
    /// the ring holds while it was busy, and dropped the oldest): their numbers are used up,
    /// so readers see the gap, and the older items go (everything after them is newer).
    pub fn skip(&mut self, n: u64) {
        if n > 0 {
            self.items.clear();
            self.next += n;
        }
    }

    /// Number the next item will get (one past the newest).
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// At most `max` items numbered `seq` and later (the newest ones when there are more),
    /// and the number to ask from next time. Items already dropped are skipped.
    pub fn since(&self, seq: u64, max: usize) -> (Vec<T>, u64) {
        let first = self.next - self.items.len() as u64;
        let from = seq.clamp(first, self.next);
        let available = (self.next - from) as usize;
        let skip = self.items.len() - available + available.saturating_sub(max);
        (self.items.iter().skip(skip).cloned().collect(), self.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_items_use_up_their_numbers() {
        let mut r = Ring::new(3);
        r.extend([0, 1]);
        r.skip(4);
        r.extend([6, 7, 8]);
        assert_eq!(r.next_seq(), 9);
        assert_eq!(r.since(0, 10), (vec![6, 7, 8], 9));
        assert_eq!(r.since(7, 10), (vec![7, 8], 9));
    }

    #[test]
    fn keeps_the_newest_and_serves_from_a_sequence_number() {
        let mut r = Ring::new(3);
        assert_eq!(r.since(0, 10), (vec![], 0));
        for i in 0..5 {
            r.push(i);
        }
        assert_eq!(r.len(), 3);
        assert_eq!(
            r.since(0, 10),
            (vec![2, 3, 4], 5),
            "dropped items are skipped"
        );
        assert_eq!(r.since(3, 10), (vec![3, 4], 5));
        assert_eq!(r.since(5, 10), (vec![], 5));
        assert_eq!(
            r.since(99, 10),
            (vec![], 5),
            "a number from the future gives nothing"
        );
        assert_eq!(r.since(0, 2), (vec![3, 4], 5), "at most max, the newest");
    }
}
