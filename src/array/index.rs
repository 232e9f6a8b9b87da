//! Basic indexing: integers, slices with (negative) steps, ellipsis and new axes, with Python
//! semantics. Every output chunk reads exactly one input chunk, so only touched chunks appear
//! in the graph.
//!
//! This module must not compute anything outside its slicing kernel.

use bytes::Bytes;
use ndarray::Slice as NdSlice;
use serde::{Deserialize, Serialize};

use crate::array::array::Array;
use crate::array::chunk::encode_values;
use crate::array::data::Element;
use crate::array::error::ArrayError;
use crate::array::grid::ChunkGrid;
use crate::array::kernels::names;
use crate::array::lower::{encode_args, Lowering};
use crate::array::node::{Node, NodeRef, Op};
use crate::array::slice_pushdown::{slice_pushed_down, AxisRange};

/// One item of an index expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexItem {
    /// One position (negative counts from the end); the axis is dropped.
    Int(i64),
    /// `start:stop:step` with Python semantics (`None` = default for the step's sign).
    Slice {
        /// First position.
        start: Option<i64>,
        /// Position to stop before.
        stop: Option<i64>,
        /// Step (not 0).
        step: i64,
    },
    /// A new axis of length 1.
    NewAxis,
    /// As many full slices as needed to index every axis.
    Ellipsis,
}

impl IndexItem {
    /// `start:stop:step`.
    pub fn slice(start: Option<i64>, stop: Option<i64>, step: i64) -> IndexItem {
        IndexItem::Slice { start, stop, step }
    }

    /// `:` (the whole axis).
    pub fn full() -> IndexItem {
        IndexItem::Slice {
            start: None,
            stop: None,
            step: 1,
        }
    }
}

impl From<i64> for IndexItem {
    fn from(i: i64) -> Self {
        IndexItem::Int(i)
    }
}

impl From<std::ops::Range<i64>> for IndexItem {
    fn from(r: std::ops::Range<i64>) -> Self {
        IndexItem::slice(Some(r.start), Some(r.end), 1)
    }
}

impl From<std::ops::RangeFull> for IndexItem {
    fn from(_: std::ops::RangeFull) -> Self {
        IndexItem::full()
    }
}

/// The selection on one input axis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum AxisSel {
    /// One position; the axis is dropped.
    Int(usize),
    /// `count` positions `first, first + step, ...`.
    Range {
        first: usize,
        count: usize,
        step: i64,
    },
}

/// Where every output axis comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum OutAxis {
    New,
    Input(usize),
}

/// A normalised basic index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlicePlan {
    pub(crate) sel: Vec<AxisSel>,
    pub(crate) out: Vec<OutAxis>,
}

/// Python's `slice.indices` followed by the element count.
fn normalize_slice(
    start: Option<i64>,
    stop: Option<i64>,
    step: i64,
    len: usize,
    axis: usize,
) -> Result<AxisSel, ArrayError> {
    if step == 0 {
        return Err(ArrayError::BadIndex(format!("slice step 0 on axis {axis}")));
    }
    let n = len as i64;
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let norm = |v: i64| if v < 0 { v + n } else { v };
    let (first, last_excl) = if step > 0 {
        (
            start.map_or(0, |s| clamp(norm(s), 0, n)),
            stop.map_or(n, |s| clamp(norm(s), 0, n)),
        )
    } else {
        (
            start.map_or(n - 1, |s| clamp(norm(s), -1, n - 1)),
            stop.map_or(-1, |s| clamp(norm(s), -1, n - 1)),
        )
    };
    let count = if step > 0 {
        if last_excl > first {
            (last_excl - first + step - 1) / step
        } else {
            0
        }
    } else if first > last_excl {
        (first - last_excl + (-step) - 1) / (-step)
    } else {
        0
    };
    Ok(AxisSel::Range {
        first: if count == 0 { 0 } else { first as usize },
        count: count as usize,
        step,
    })
}

impl SlicePlan {
    /// Normalises `items` against `shape`.
    pub(crate) fn new(items: &[IndexItem], shape: &[usize]) -> Result<SlicePlan, ArrayError> {
        let ellipses = items
            .iter()
            .filter(|i| matches!(i, IndexItem::Ellipsis))
            .count();
        if ellipses > 1 {
            return Err(ArrayError::BadIndex("more than one ellipsis".into()));
        }
        let consuming = items
            .iter()
            .filter(|i| matches!(i, IndexItem::Int(_) | IndexItem::Slice { .. }))
            .count();
        if consuming > shape.len() {
            return Err(ArrayError::BadIndex(format!(
                "{consuming} indices for an array of {} dimensions",
                shape.len()
            )));
        }
        let mut expanded: Vec<IndexItem> = Vec::new();
        for it in items {
            if let IndexItem::Ellipsis = it {
                expanded.extend(std::iter::repeat_n(
                    IndexItem::full(),
                    shape.len() - consuming,
                ));
            } else {
                expanded.push(*it);
            }
        }
        if ellipses == 0 {
            expanded.extend(std::iter::repeat_n(
                IndexItem::full(),
                shape.len() - consuming,
            ));
        }
        let mut sel = Vec::with_capacity(shape.len());
        let mut out = Vec::new();
        let mut axis = 0;
        for it in expanded {
            match it {
                IndexItem::NewAxis => out.push(OutAxis::New),
                IndexItem::Int(i) => {
                    let len = shape[axis];
                    let p = if i < 0 { i + len as i64 } else { i };
                    if p < 0 || p >= len as i64 {
                        return Err(ArrayError::IndexOutOfBounds {
                            index: i,
                            axis,
                            size: len,
                        });
                    }
                    sel.push(AxisSel::Int(p as usize));
                    axis += 1;
                }
                IndexItem::Slice { start, stop, step } => {
                    sel.push(normalize_slice(start, stop, step, shape[axis], axis)?);
                    out.push(OutAxis::Input(axis));
                    axis += 1;
                }
                IndexItem::Ellipsis => {}
            }
        }
        Ok(SlicePlan { sel, out })
    }
}

/// For one sliced axis: output blocks as (input block, local first, count).
fn axis_blocks(sel: &AxisSel, in_blocks: &[usize]) -> Vec<(usize, usize, usize)> {
    let AxisSel::Range { first, count, step } = *sel else {
        return vec![];
    };
    if count == 0 {
        return vec![(0, 0, 0)];
    }
    let mut starts = Vec::with_capacity(in_blocks.len() + 1);
    let mut acc = 0;
    for &b in in_blocks {
        starts.push(acc);
        acc += b;
    }
    let block_of = |p: usize| starts.partition_point(|&s| s <= p) - 1;
    let mut out: Vec<(usize, usize, usize)> = Vec::new();
    let mut k = 0;
    while k < count {
        let p = (first as i64 + k as i64 * step) as usize;
        let b = block_of(p);
        let (lo, hi) = (starts[b], starts[b] + in_blocks[b]);
        // Elements of this block still selected: positions p, p + step, ... within [lo, hi).
        let room = if step > 0 {
            (hi - 1 - p) / step as usize + 1
        } else {
            (p - lo) / (-step) as usize + 1
        };
        let n = room.min(count - k);
        out.push((b, p - lo, n));
        k += n;
    }
    out
}

impl Array {
    /// Basic indexing with Python semantics.
    ///
    /// ```
    /// use tessera::array::{Array, DType, IndexItem};
    /// let a = Array::arange(0, 10, 1, DType::I64, 3).unwrap();
    /// let b = a.index(&[IndexItem::slice(Some(8), Some(1), -3)]).unwrap();
    /// assert_eq!(b.compute_local_as::<i64>().unwrap().as_slice().unwrap(), &[8, 5, 2]);
    /// ```
    pub fn index(&self, items: &[IndexItem]) -> Result<Array, ArrayError> {
        let x = self.node();
        let plan = SlicePlan::new(items, &x.shape)?;
        let in_order = plan.out.len() == x.ndim()
            && plan
                .out
                .iter()
                .enumerate()
                .all(|(i, o)| *o == OutAxis::Input(i));
        let ranges: Option<Vec<AxisRange>> = plan
            .sel
            .iter()
            .map(|s| match *s {
                AxisSel::Range { first, count, step } if step > 0 => Some(AxisRange {
                    first,
                    count,
                    step: step as usize,
                }),
                _ => None,
            })
            .collect();
        match ranges {
            Some(ranges) if in_order => slice_pushed_down(x, &ranges),
            _ => self.index_in_place(items),
        }
    }

    /// Basic indexing as one slice node over this array (no rewriting).
    pub(crate) fn index_in_place(&self, items: &[IndexItem]) -> Result<Array, ArrayError> {
        let x = self.node();
        let plan = SlicePlan::new(items, &x.shape)?;
        let per_axis: Vec<Vec<(usize, usize, usize)>> = plan
            .sel
            .iter()
            .enumerate()
            .map(|(a, s)| axis_blocks(s, x.grid.blocks(a)))
            .collect();
        let mut shape = Vec::new();
        let mut blocks = Vec::new();
        for o in &plan.out {
            match o {
                OutAxis::New => {
                    shape.push(1);
                    blocks.push(vec![1]);
                }
                OutAxis::Input(a) => {
                    let b: Vec<usize> = per_axis[*a].iter().map(|t| t.2).collect();
                    shape.push(b.iter().sum());
                    blocks.push(b);
                }
            }
        }
        let grid = ChunkGrid::from_blocks(&shape, blocks)?;
        Ok(Array::from_node(Node::new(
            Op::Slice {
                x: x.clone(),
                plan: std::sync::Arc::new(plan),
            },
            x.dtype,
            shape,
            grid,
        )))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SliceArgs {
    /// Per input axis: (local first, count, step).
    pub sel: Vec<(usize, usize, i64)>,
    pub out_shape: Vec<usize>,
}

pub(crate) fn lower(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    plan: &SlicePlan,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let per_axis: Vec<Vec<(usize, usize, usize)>> = plan
        .sel
        .iter()
        .enumerate()
        .map(|(a, s)| axis_blocks(s, x.grid.blocks(a)))
        .collect();
    for idx in chunks {
        let mut in_idx = vec![0usize; x.ndim()];
        let mut sel = vec![(0usize, 1usize, 1i64); x.ndim()];
        for (a, s) in plan.sel.iter().enumerate() {
            if let AxisSel::Int(p) = s {
                let offs = x.grid.offsets(a);
                let b = offs.partition_point(|&o| o <= *p) - 1;
                in_idx[a] = b;
                sel[a] = (p - offs[b], 1, 1);
            }
        }
        for (o, out_axis) in plan.out.iter().enumerate() {
            if let OutAxis::Input(a) = out_axis {
                let (b, first, count) = per_axis[*a][idx[o]];
                let step = match plan.sel[*a] {
                    AxisSel::Range { step, .. } => step,
                    AxisSel::Int(_) => 1,
                };
                in_idx[*a] = b;
                sel[*a] = (first, count, step);
            }
        }
        let dep = low.need(x, &in_idx);
        let args = SliceArgs {
            sel,
            out_shape: node.grid.chunk_shape(idx),
        };
        low.push(node.key(idx), names::SLICE, encode_args(&args)?, vec![dep]);
    }
    Ok(())
}

/// The ndarray slice selecting `count` elements `first, first + step, ...`.
pub(crate) fn strided_slice(first: usize, count: usize, step: i64) -> NdSlice {
    if count == 0 {
        return NdSlice::new(0, Some(0), 1);
    }
    if step > 0 {
        let end = first + (count - 1) * step as usize + 1;
        NdSlice::new(first as isize, Some(end as isize), step as isize)
    } else {
        // ndarray applies a negative step from the end of the range.
        let lo = first - (count - 1) * (-step) as usize;
        NdSlice::new(lo as isize, Some(first as isize + 1), step as isize)
    }
}

fn slice_typed<T: Element>(
    view: &crate::array::ChunkView<'_>,
    args: &SliceArgs,
) -> Result<Bytes, ArrayError> {
    let v = view.array_view::<T>()?;
    for (a, &(first, count, step)) in args.sel.iter().enumerate() {
        let len = v.shape()[a];
        let last = if step > 0 {
            first + count.saturating_sub(1) * step as usize
        } else {
            first
        };
        if count > 0
            && (last >= len || first >= len || (step < 0 && (count - 1) * (-step) as usize > first))
        {
            return Err(ArrayError::Compute(format!(
                "slice {first}+{count}×{step} out of axis {a} of length {len}"
            )));
        }
    }
    let part = v.slice_each_axis(|ax| {
        let (first, count, step) = args.sel[ax.axis.index()];
        strided_slice(first, count, step)
    });
    let values: Vec<T> = part.iter().copied().collect();
    encode_values(&args.out_shape, &values)
}

/// Kernel: one output chunk of a basic index from one input chunk.
pub(crate) fn slice_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: SliceArgs = crate::array::lower::decode_args(args, "slice")?;
    let view = crate::array::lower::single_input(inputs, "slice")?;
    if view.shape.len() != args.sel.len() {
        return Err(ArrayError::Compute(format!(
            "slice of {} axes on a chunk of shape {:?}",
            args.sel.len(),
            view.shape
        )));
    }
    crate::dispatch_dtype!(view.dtype(), T => slice_typed::<T>(&view, &args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(start: Option<i64>, stop: Option<i64>, step: i64, len: usize) -> Vec<usize> {
        // Reference: Python's range(*slice(start, stop, step).indices(len)).
        let n = len as i64;
        let (lo, hi) = if step > 0 { (0, n) } else { (-1, n - 1) };
        let fix = |v: Option<i64>, d: i64| match v {
            None => d,
            Some(v) => {
                let v = if v < 0 { v + n } else { v };
                v.clamp(lo, hi)
            }
        };
        let s = fix(start, if step > 0 { 0 } else { n - 1 });
        let e = fix(stop, if step > 0 { n } else { -1 });
        let mut out = Vec::new();
        let mut i = s;
        while (step > 0 && i < e) || (step < 0 && i > e) {
            out.push(i as usize);
            i += step;
        }
        out
    }

    #[test]
    fn slices_match_python() {
        let vals = [
            None,
            Some(-12),
            Some(-3),
            Some(-1),
            Some(0),
            Some(2),
            Some(5),
            Some(11),
        ];
        for len in [0usize, 1, 7] {
            for &start in &vals {
                for &stop in &vals {
                    for step in [-3i64, -1, 1, 2] {
                        let want = python(start, stop, step, len);
                        let AxisSel::Range {
                            first,
                            count,
                            step: st,
                        } = normalize_slice(start, stop, step, len, 0).unwrap()
                        else {
                            panic!()
                        };
                        let got: Vec<usize> = (0..count)
                            .map(|k| (first as i64 + k as i64 * st) as usize)
                            .collect();
                        assert_eq!(got, want, "{start:?}:{stop:?}:{step} of {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn axis_blocks_cover_the_selection() {
        let sel = AxisSel::Range {
            first: 9,
            count: 4,
            step: -3,
        };
        assert_eq!(
            axis_blocks(&sel, &[4, 4, 2]),
            vec![(2, 1, 1), (1, 2, 1), (0, 3, 2)]
        );
        let sel = AxisSel::Range {
            first: 1,
            count: 5,
            step: 2,
        };
        assert_eq!(
            axis_blocks(&sel, &[4, 4, 2]),
            vec![(0, 1, 2), (1, 1, 2), (2, 1, 1)]
        );
    }
}
