//! Sorting along one axis: `sort` (values, NumPy's order: NaN last) and `argsort` (the
//! positions that sort each lane, stable: ties keep their order, NumPy's `kind="stable"`).
//!
//! Algorithm (as dask's `topk`/`sort` along an axis): the axis is re-cut to one chunk, so
//! every task holds whole lanes; each task sorts the lanes of its chunk. The other axes keep
//! their chunks. Labeled and time-series code uses these through [`Array::sort`] and
//! [`Array::argsort`]. This module builds graph nodes and runs the per-chunk kernel; it must
//! not know how tasks are scheduled.

use std::cmp::Ordering;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::array::array::Array;
use crate::array::chunk::{encode_values, ChunkView};
use crate::array::data::Element;
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::kernels::names;
use crate::array::lower::{encode_args, Lowering};
use crate::array::node::{Node, NodeRef, Op};
use crate::array::reduce::normalize_axes;
use crate::array::shape_ops::ShapeOp;

/// Arguments of the sort kernel.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SortArgs {
    /// The axis of the input chunk the lanes run along.
    pub axis: usize,
    /// Positions (int64) instead of values.
    pub arg: bool,
}

impl Array {
    /// The values sorted along `axis` (negative counts from the end), NaN last.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let x = Array::arange(0, 6, 1, DType::I64, 4).unwrap().rem(4).unwrap();
    /// let s = x.sort(-1).unwrap();
    /// assert_eq!(s.compute_local().unwrap().to_f64_vec(), vec![0.0, 0.0, 1.0, 1.0, 2.0, 3.0]);
    /// ```
    pub fn sort(&self, axis: isize) -> Result<Array, ArrayError> {
        self.sorted(axis, false)
    }

    /// The int64 positions that sort each lane along `axis` (stable: ties keep their order).
    pub fn argsort(&self, axis: isize) -> Result<Array, ArrayError> {
        self.sorted(axis, true)
    }

    /// `sort` or `argsort` by name (for front ends).
    pub fn sorted_by(&self, name: &str, axis: isize) -> Result<Array, ArrayError> {
        self.sorted(axis, name == "argsort")
    }

    fn sorted(&self, axis: isize, arg: bool) -> Result<Array, ArrayError> {
        if self.ndim() == 0 {
            return Err(ArrayError::Shape {
                op: if arg { "argsort" } else { "sort" },
                reason: "a 0-d array has no axis to sort along".into(),
            });
        }
        let axis = normalize_axes(&[axis], self.ndim())?[0];
        let whole = self.with_whole_axis(axis)?;
        let dtype = if arg { DType::I64 } else { whole.dtype() };
        let node = Node::new(
            Op::Shape {
                inputs: vec![whole.node().clone()],
                op: ShapeOp::Sort { axis, arg },
            },
            dtype,
            whole.shape().to_vec(),
            whole.chunks().clone(),
        );
        Ok(Array::from_node(node))
    }
}

pub(crate) fn lower(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    axis: usize,
    arg: bool,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let encoded = encode_args(&SortArgs { axis, arg })?;
    for idx in chunks {
        let dep = low.need(x, idx);
        low.push(node.key(idx), names::SORT, encoded.clone(), vec![dep]);
    }
    Ok(())
}

/// NumPy's sort order: NaN after everything (floats); `partial_cmp` otherwise.
fn numpy_order<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    match a.partial_cmp(b) {
        Some(o) => o,
        // Only NaN is unordered: it goes last.
        #[allow(clippy::eq_op)]
        None => (a != a).cmp(&(b != b)),
    }
}

fn sort_typed<T: Element + PartialOrd>(
    view: &ChunkView<'_>,
    args: &SortArgs,
) -> Result<Bytes, ArrayError> {
    let values = view.slice::<T>().ok_or_else(|| ArrayError::DTypeMismatch {
        actual: view.dtype(),
        requested: T::DTYPE,
    })?;
    let shape = &view.shape;
    let n = shape[args.axis];
    let inner: usize = shape[args.axis + 1..].iter().product();
    let outer: usize = shape[..args.axis].iter().product();
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut sorted_values = if args.arg {
        Vec::new()
    } else {
        values.to_vec()
    };
    let mut positions = if args.arg {
        vec![0i64; values.len()]
    } else {
        Vec::new()
    };
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * n + k) * inner + i;
            order.clear();
            order.extend(0..n);
            order.sort_by(|&a, &b| numpy_order(&values[at(a)], &values[at(b)]));
            for (k, &from) in order.iter().enumerate() {
                if args.arg {
                    positions[at(k)] = from as i64;
                } else {
                    sorted_values[at(k)] = values[at(from)];
                }
            }
        }
    }
    if args.arg {
        encode_values(shape, &positions)
    } else {
        encode_values(shape, &sorted_values)
    }
}

/// Kernel: every lane of one chunk sorted (or its sorting positions) along the axis.
pub(crate) fn sort_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: SortArgs = crate::array::lower::decode_args(args, "sort")?;
    let view = crate::array::lower::single_input(inputs, "sort")?;
    if args.axis >= view.shape.len() {
        return Err(ArrayError::Compute(format!(
            "sort axis {} of a chunk of shape {:?}",
            args.axis, view.shape
        )));
    }
    crate::dispatch_dtype!(view.dtype(), T => sort_typed::<T>(&view, &args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_sorts_last_and_ties_keep_their_order() {
        let mut v = [3.0, f64::NAN, -1.0, 3.0, f64::NEG_INFINITY];
        v.sort_by(numpy_order);
        assert_eq!(v[..4], [f64::NEG_INFINITY, -1.0, 3.0, 3.0]);
        assert!(v[4].is_nan());
        let keys = [2, 1, 2, 1];
        let mut order: Vec<usize> = (0..4).collect();
        order.sort_by(|&a, &b| numpy_order(&keys[a], &keys[b]));
        assert_eq!(order, [1, 3, 0, 2]);
    }
}
