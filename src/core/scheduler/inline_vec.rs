//! A small vector stored inline up to `N` elements and on the heap beyond.
//!
//! The scheduler keeps millions of tasks, most with one or two dependencies, dependents,
//! holders and wanting clients; storing those short lists inline keeps them free of
//! allocations. This is a container only: it must not know what it stores.

use std::ops::Index;

/// A list of `Copy` items, inline up to `N`, on the heap beyond.
#[derive(Clone, Debug, Default)]
pub(super) enum InlineVec<T: Copy, const N: usize> {
    /// No items.
    #[default]
    Empty,
    /// Up to `N` items; only the first `len` are meaningful.
    Inline { len: u8, items: [T; N] },
    /// More than `N` items (or was once). Boxed on purpose (a thin pointer instead of a
    /// three-word `Vec`), so the list is no wider than its inline items: tasks hold several of
    /// these, millions of tasks must stay small, and lists this long are rare.
    #[allow(clippy::box_collection)]
    Heap(Box<Vec<T>>),
}

impl<T: Copy, const N: usize> InlineVec<T, N> {
    /// An empty list.
    pub(super) const fn new() -> Self {
        InlineVec::Empty
    }

    /// The items as a slice.
    pub(super) fn as_slice(&self) -> &[T] {
        match self {
            InlineVec::Empty => &[],
            InlineVec::Inline { len, items } => &items[..*len as usize],
            InlineVec::Heap(v) => v.as_slice(),
        }
    }

    /// Number of items.
    pub(super) fn len(&self) -> usize {
        match self {
            InlineVec::Empty => 0,
            InlineVec::Inline { len, .. } => *len as usize,
            InlineVec::Heap(v) => v.len(),
        }
    }

    /// True when there are no items.
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append an item.
    pub(super) fn push(&mut self, item: T) {
        match self {
            InlineVec::Empty => {
                *self = InlineVec::Inline {
                    len: 1,
                    items: [item; N],
                };
            }
            InlineVec::Inline { len, items } => {
                let n = *len as usize;
                if n < N {
                    items[n] = item;
                    *len += 1;
                } else {
                    let mut v = Vec::with_capacity(N * 2);
                    v.extend_from_slice(&items[..]);
                    v.push(item);
                    *self = InlineVec::Heap(Box::new(v));
                }
            }
            InlineVec::Heap(v) => v.push(item),
        }
    }

    /// Keep only the items for which `keep` returns true (order preserved).
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match self {
            InlineVec::Empty => {}
            InlineVec::Inline { len, items } => {
                let mut out = 0usize;
                for i in 0..*len as usize {
                    if keep(&items[i]) {
                        items[out] = items[i];
                        out += 1;
                    }
                }
                if out == 0 {
                    *self = InlineVec::Empty;
                } else {
                    *len = out as u8;
                }
            }
            InlineVec::Heap(v) => {
                v.retain(|x| keep(x));
                if v.is_empty() {
                    *self = InlineVec::Empty;
                } else if v.len() * 4 < v.capacity() {
                    v.shrink_to_fit();
                }
            }
        }
    }

    /// A mutable reference to the item at `index`, if any.
    pub(super) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        match self {
            InlineVec::Empty => None,
            InlineVec::Inline { len, items } => {
                if index < *len as usize {
                    items.get_mut(index)
                } else {
                    None
                }
            }
            InlineVec::Heap(v) => v.get_mut(index),
        }
    }
}

impl<T: Copy + PartialEq, const N: usize> InlineVec<T, N> {
    /// True when `item` is in the list.
    pub(super) fn contains(&self, item: &T) -> bool {
        self.as_slice().contains(item)
    }

    /// Remove every occurrence of `item`; true if one was found.
    pub(super) fn remove_item(&mut self, item: &T) -> bool {
        let before = self.len();
        self.retain(|x| x != item);
        self.len() != before
    }
}

impl<T: Copy, const N: usize> Index<usize> for InlineVec<T, N> {
    type Output = T;
    fn index(&self, index: usize) -> &T {
        &self.as_slice()[index]
    }
}

impl<T: Copy, const N: usize> FromIterator<T> for InlineVec<T, N> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut list = InlineVec::new();
        for item in iter {
            list.push(item);
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::InlineVec;

    #[test]
    fn grows_from_inline_to_heap_and_keeps_order() {
        let mut v: InlineVec<u32, 2> = InlineVec::new();
        assert!(v.is_empty());
        for i in 0..5 {
            v.push(i);
        }
        assert_eq!(v.as_slice(), &[0, 1, 2, 3, 4]);
        assert!(v.remove_item(&2));
        assert_eq!(v.as_slice(), &[0, 1, 3, 4]);
        v.retain(|x| *x > 10);
        assert!(v.is_empty());
    }

    #[test]
    fn inline_retain_and_contains() {
        let mut v: InlineVec<u32, 4> = [7, 8, 7].into_iter().collect();
        assert!(v.contains(&8));
        assert!(v.remove_item(&7));
        assert_eq!(v.as_slice(), &[8]);
        assert!(!v.remove_item(&7));
        assert_eq!(v[0], 8);
    }
}
