//! Walking a row-major output box in contiguous segments while tracking strided offsets into
//! several operands (broadcast inputs, generator coordinates, reduction accumulators).
//!
//! Axes of length 1 are dropped and adjacent axes every operand walks contiguously are merged
//! first, so the segments are as long as the layout allows. This module must not know dtypes.

/// How one operand is addressed: `base + Σ index[axis] · strides[axis]` over the output's axes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Strided {
    /// Offset of the output's first element.
    pub base: u64,
    /// Step per output axis (0 on broadcast axes).
    pub strides: Vec<u64>,
}

impl Strided {
    /// Row-major contiguous strides of an operand of `shape` (its own shape: broadcast axes
    /// have length 1), with stride 0 where `broadcast[axis]`.
    pub fn row_major(shape: &[usize], broadcast: &[bool]) -> Strided {
        let mut strides = vec![0u64; shape.len()];
        let mut acc = 1u64;
        for a in (0..shape.len()).rev() {
            if !broadcast[a] {
                strides[a] = acc;
            }
            acc *= shape[a] as u64;
        }
        Strided { base: 0, strides }
    }
}

/// The coalesced layout of a box of `shape` and its operands.
#[derive(Clone, Debug)]
pub struct Layout {
    dims: Vec<usize>,
    /// `strides[op][dim]` over `dims`.
    strides: Vec<Vec<u64>>,
    bases: Vec<u64>,
    total: usize,
}

impl Layout {
    /// Coalesces `shape` with the given operands (each with one stride per axis of `shape`).
    pub fn new(shape: &[usize], operands: &[Strided]) -> Layout {
        let total: usize = shape.iter().product();
        let mut dims: Vec<usize> = Vec::new();
        let mut strides: Vec<Vec<u64>> = vec![Vec::new(); operands.len()];
        // Walk from the innermost axis outwards, merging where every operand allows.
        for axis in (0..shape.len()).rev() {
            let d = shape[axis];
            if d == 1 {
                continue;
            }
            let mergeable = !dims.is_empty()
                && operands.iter().enumerate().all(|(o, op)| {
                    let inner = strides[o][0];
                    op.strides[axis] == inner * dims[0] as u64
                });
            if mergeable {
                dims[0] *= d;
            } else {
                dims.insert(0, d);
                for (o, op) in operands.iter().enumerate() {
                    strides[o].insert(0, op.strides[axis]);
                }
            }
        }
        if dims.is_empty() {
            dims.push(1);
            for s in &mut strides {
                s.push(0);
            }
        }
        Layout {
            dims,
            strides,
            bases: operands.iter().map(|o| o.base).collect(),
            total,
        }
    }

    /// Number of elements of the box.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The step of operand `op` along the innermost coalesced axis.
    pub fn inner_stride(&self, op: usize) -> u64 {
        self.strides[op].last().copied().unwrap_or(0)
    }

    /// True when operand `op` is addressed exactly like the output (offset = position).
    pub fn is_identity(&self, op: usize) -> bool {
        self.bases[op] == 0 && self.dims.len() == 1 && self.strides[op][0] == 1
    }

    /// Calls `f(position, length, offsets)` for the contiguous segments of the output
    /// positions `start..start + len`; `offsets[op]` is operand `op`'s offset at `position`,
    /// and along the segment it advances by [`inner_stride`](Self::inner_stride).
    pub fn for_each_segment(
        &self,
        start: usize,
        len: usize,
        mut f: impl FnMut(usize, usize, &[u64]),
    ) {
        let nd = self.dims.len();
        let mut idx = vec![0usize; nd];
        let mut rem = start;
        for a in (0..nd).rev() {
            idx[a] = rem % self.dims[a];
            rem /= self.dims[a];
        }
        let mut offsets = vec![0u64; self.strides.len()];
        let mut pos = start;
        let end = start + len;
        while pos < end {
            for (o, off) in offsets.iter_mut().enumerate() {
                let s = &self.strides[o];
                *off = self.bases[o]
                    + idx
                        .iter()
                        .zip(s)
                        .map(|(&i, &st)| i as u64 * st)
                        .sum::<u64>();
            }
            let seg = (self.dims[nd - 1] - idx[nd - 1]).min(end - pos);
            f(pos, seg, &offsets);
            pos += seg;
            idx[nd - 1] += seg;
            for a in (1..nd).rev() {
                if idx[a] < self.dims[a] {
                    break;
                }
                idx[a] = 0;
                idx[a - 1] += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(layout: &Layout, start: usize, len: usize) -> Vec<(usize, usize, Vec<u64>)> {
        let mut v = Vec::new();
        layout.for_each_segment(start, len, |p, n, o| v.push((p, n, o.to_vec())));
        v
    }

    #[test]
    fn contiguous_operands_merge_into_one_axis() {
        let op = Strided::row_major(&[3, 4, 5], &[false, false, false]);
        let l = Layout::new(&[3, 4, 5], &[op]);
        assert!(l.is_identity(0));
        assert_eq!(collect(&l, 7, 20), vec![(7, 20, vec![7])]);
    }

    #[test]
    fn broadcast_operand_splits_segments() {
        // A (3, 1) operand broadcast over (3, 4): stride 0 along the last axis.
        let op = Strided::row_major(&[3, 1], &[false, true]);
        assert_eq!(op.strides, vec![1, 0]);
        let l = Layout::new(&[3, 4], &[op]);
        assert!(!l.is_identity(0));
        assert_eq!(l.inner_stride(0), 0);
        assert_eq!(
            collect(&l, 2, 7),
            vec![(2, 2, vec![0]), (4, 4, vec![1]), (8, 1, vec![2])]
        );
    }

    #[test]
    fn offsets_match_a_naive_computation() {
        let shape = [2, 3, 1, 4];
        let ops = vec![
            Strided {
                base: 5,
                strides: vec![100, 10, 7, 1],
            },
            Strided::row_major(&shape, &[true, false, false, true]),
        ];
        let l = Layout::new(&shape, &ops);
        let mut seen = 0;
        l.for_each_segment(0, 24, |p, n, offs| {
            for k in 0..n {
                let q = p + k;
                let ix = [q / 12, (q / 4) % 3, 0, q % 4];
                for (o, op) in ops.iter().enumerate() {
                    let want = op.base
                        + ix.iter()
                            .zip(&op.strides)
                            .map(|(&i, &s)| i as u64 * s)
                            .sum::<u64>();
                    assert_eq!(offs[o] + k as u64 * l.inner_stride(o), want);
                }
                seen += 1;
            }
        });
        assert_eq!(seen, 24);
    }

    #[test]
    fn zero_dimensional_box_has_one_element() {
        let l = Layout::new(
            &[],
            &[Strided {
                base: 3,
                strides: vec![],
            }],
        );
        assert_eq!(l.total(), 1);
        assert_eq!(collect(&l, 0, 1), vec![(0, 1, vec![3])]);
    }
}
