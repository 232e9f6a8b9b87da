//! Cumulative sums and products along an axis, and `diff`.
//!
//! Each chunk is scanned locally and offset by a carry: the running total of all earlier
//! chunks along the axis, computed as a chain of small carry tasks (one per block along the
//! axis). Integers and bool accumulate in int64, like sums. This module builds graph nodes and
//! tasks; its kernels only scan.

use bytes::Bytes;
use ndarray::{ArrayD, Axis};
use serde::{Deserialize, Serialize};

use crate::array::array::Array;
use crate::array::chunk::{decode_chunk, encode_view, ChunkView};
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::index::IndexItem;
use crate::array::kernels::names;
use crate::array::lower::{encode_args, Lowering};
use crate::array::math::Num;
use crate::array::node::{Node, NodeRef, Op};
use crate::array::reduce::normalize_axes;
use crate::array::shape_ops::ShapeOp;
use crate::core::TaskKey;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ScanArgs {
    pub axis: usize,
    pub prod: bool,
    /// `true`: a carry task (total of the chunk, plus the previous carry); `false`: the
    /// scanned chunk (plus the carry, when there is one).
    pub carry: bool,
}

impl Array {
    fn scan(&self, axis: isize, prod: bool) -> Result<Array, ArrayError> {
        let axis = normalize_axes(&[axis], self.ndim())?[0];
        let dtype = self.dtype().sum_dtype();
        let x = self.astype(dtype);
        let x = x.node();
        Ok(Array::from_node(Node::new(
            Op::Shape {
                inputs: vec![x.clone()],
                op: ShapeOp::Scan { axis, prod },
            },
            dtype,
            x.shape.clone(),
            x.grid.clone(),
        )))
    }

    /// Cumulative sum along `axis`.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let a = Array::arange(1, 6, 1, DType::I32, 2).unwrap();
    /// let c = a.cumsum(0).unwrap();
    /// assert_eq!(c.compute_local_as::<i64>().unwrap().as_slice().unwrap(), &[1, 3, 6, 10, 15]);
    /// ```
    pub fn cumsum(&self, axis: isize) -> Result<Array, ArrayError> {
        self.scan(axis, false)
    }

    /// Cumulative product along `axis`.
    pub fn cumprod(&self, axis: isize) -> Result<Array, ArrayError> {
        self.scan(axis, true)
    }

    /// First difference along `axis`: `x[1:] - x[:-1]`.
    pub fn diff(&self, axis: isize) -> Result<Array, ArrayError> {
        let a = normalize_axes(&[axis], self.ndim())?[0];
        let mut hi = vec![IndexItem::full(); self.ndim()];
        let mut lo = hi.clone();
        hi[a] = IndexItem::slice(Some(1), None, 1);
        lo[a] = IndexItem::slice(None, Some(-1), 1);
        self.index(&hi)?.sub(&self.index(&lo)?)
    }
}

pub(crate) fn lower(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    axis: usize,
    prod: bool,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let carry_key = |idx: &[usize]| -> String {
        let suffix: String = idx.iter().map(|i| format!("-{i}")).collect();
        format!("{}-carry-{}{suffix}", node.op.name(), node.id)
    };
    for idx in chunks {
        let k = idx[axis];
        // The carries this chunk needs: for blocks 1..=k along the axis.
        for j in 1..=k {
            let mut cidx = idx.clone();
            cidx[axis] = j;
            let mut prev = idx.clone();
            prev[axis] = j - 1;
            let mut deps: Vec<TaskKey> = Vec::with_capacity(2);
            deps.push(low.need(x, &prev));
            if j > 1 {
                deps.push(TaskKey::new(carry_key(&prev)));
            }
            let args = ScanArgs {
                axis,
                prod,
                carry: true,
            };
            low.push(carry_key(&cidx), names::SCAN, encode_args(&args)?, deps);
        }
        let mut deps = vec![low.need(x, idx)];
        if k > 0 {
            deps.push(TaskKey::new(carry_key(idx)));
        }
        let args = ScanArgs {
            axis,
            prod,
            carry: false,
        };
        low.push(node.key(idx), names::SCAN, encode_args(&args)?, deps);
    }
    Ok(())
}

fn scan_typed<T: Num + crate::array::Element>(
    args: &ScanArgs,
    views: &[ChunkView<'_>],
) -> Result<Bytes, ArrayError> {
    let x = views[0].array_view::<T>()?;
    if args.axis >= x.ndim() {
        return Err(ArrayError::Compute(format!(
            "scan axis {} of a chunk of shape {:?}",
            args.axis,
            x.shape()
        )));
    }
    let ax = Axis(args.axis);
    let op = |a: T, b: T| if args.prod { a.mul(b) } else { a.add(b) };
    let carry: Option<ndarray::ArrayViewD<'_, T>> = match views.get(1) {
        Some(v) => Some(v.array_view::<T>()?),
        None => None,
    };
    let out: ArrayD<T> = if args.carry {
        let total = x
            .fold_axis(
                ax,
                if args.prod {
                    T::from_i64(1)
                } else {
                    T::default()
                },
                |&a, &b| op(a, b),
            )
            .insert_axis(ax);
        match carry {
            Some(c) => ndarray::Zip::from(&total)
                .and(&c)
                .map_collect(|&a, &b| op(a, b)),
            None => total,
        }
    } else {
        let mut s = x.to_owned();
        s.accumulate_axis_inplace(ax, |&prev, cur| *cur = op(prev, *cur));
        if let Some(c) = carry {
            let c = c.broadcast(s.raw_dim()).ok_or_else(|| {
                ArrayError::Compute(format!(
                    "carry of shape {:?} for a chunk of shape {:?}",
                    c.shape(),
                    s.shape()
                ))
            })?;
            ndarray::Zip::from(&mut s)
                .and(&c)
                .for_each(|a, &b| *a = op(*a, b));
        }
        s
    };
    encode_view(&out.view())
}

/// Kernel: a scanned chunk, or a carry.
pub(crate) fn scan_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: ScanArgs = postcard::from_bytes(args)
        .map_err(|e| ArrayError::Decode(format!("scan arguments: {e}")))?;
    let views = inputs
        .iter()
        .map(|b| decode_chunk(b))
        .collect::<Result<Vec<_>, _>>()?;
    let first = views
        .first()
        .ok_or_else(|| ArrayError::Compute("scan without input".into()))?;
    match first.dtype() {
        DType::I64 => scan_typed::<i64>(&args, &views),
        DType::F64 => scan_typed::<f64>(&args, &views),
        DType::F32 => scan_typed::<f32>(&args, &views),
        other => Err(ArrayError::UnsupportedDType {
            op: "cumsum",
            dtype: other,
        }),
    }
}
