//! Advanced indexing along one axis: an integer array of positions (`take`) or a boolean mask
//! (`compress`). Output chunks group consecutive positions; each reads only the input chunks
//! holding its positions.
//!
//! Masks must be concrete (in memory): array shapes are static, so a lazy mask must be computed
//! first. This module must not compute anything outside its kernel.

use bytes::Bytes;
use ndarray::{ArrayD, Axis, IxDyn};
use serde::{Deserialize, Serialize};

use crate::array::array::Array;
use crate::array::chunk::{decode_chunk, encode_view, ChunkView};
use crate::array::data::Element;
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::grid::ChunkGrid;
use crate::array::kernels::names;
use crate::array::lower::{encode_args, Lowering};
use crate::array::node::{Node, NodeRef, Op};
use crate::array::reduce::normalize_axes;
use crate::array::shape_ops::ShapeOp;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TakeArgs {
    pub dtype: DType,
    pub axis: usize,
    pub out_shape: Vec<usize>,
    /// Per input: (position in the input chunk, position in the output chunk) along `axis`.
    pub moves: Vec<Vec<(usize, usize)>>,
}

impl Array {
    /// Elements at `indices` along `axis` (negative indices count from the end), like
    /// NumPy's `take` / `x[..., [i, j, k], ...]`.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let a = Array::arange(0, 10, 1, DType::I64, 3).unwrap();
    /// let b = a.take(&[9, 0, -1, 4], 0).unwrap();
    /// assert_eq!(b.compute_local_as::<i64>().unwrap().as_slice().unwrap(), &[9, 0, 9, 4]);
    /// ```
    pub fn take(&self, indices: &[i64], axis: isize) -> Result<Array, ArrayError> {
        let x = self.node();
        let axis = normalize_axes(&[axis], x.ndim())?[0];
        let len = x.shape[axis];
        let idx = indices
            .iter()
            .map(|&i| {
                let p = if i < 0 { i + len as i64 } else { i };
                if p < 0 || p >= len as i64 {
                    Err(ArrayError::IndexOutOfBounds {
                        index: i,
                        axis,
                        size: len,
                    })
                } else {
                    Ok(p as usize)
                }
            })
            .collect::<Result<Vec<usize>, _>>()?;
        let group = x
            .grid
            .blocks(axis)
            .iter()
            .copied()
            .max()
            .unwrap_or(1)
            .max(1);
        let mut out_blocks: Vec<usize> = idx.chunks(group).map(<[usize]>::len).collect();
        if out_blocks.is_empty() {
            out_blocks.push(0);
        }
        let mut shape = x.shape.clone();
        shape[axis] = idx.len();
        let mut blocks = x.grid.all_blocks().to_vec();
        blocks[axis] = out_blocks;
        let grid = ChunkGrid::from_blocks(&shape, blocks)?;
        Ok(Array::from_node(Node::new(
            Op::Shape {
                inputs: vec![x.clone()],
                op: ShapeOp::Take { axis, indices: idx },
            },
            x.dtype,
            shape,
            grid,
        )))
    }

    /// Elements where `mask` is true along `axis` (NumPy's `compress`); the mask's length must
    /// be the axis length.
    pub fn compress(&self, mask: &[bool], axis: isize) -> Result<Array, ArrayError> {
        let a = normalize_axes(&[axis], self.ndim())?[0];
        if mask.len() != self.shape()[a] {
            return Err(ArrayError::Shape {
                op: "compress",
                reason: format!(
                    "mask of length {} for axis {a} of length {}",
                    mask.len(),
                    self.shape()[a]
                ),
            });
        }
        let idx: Vec<i64> = mask
            .iter()
            .enumerate()
            .filter(|(_, &m)| m)
            .map(|(i, _)| i as i64)
            .collect();
        self.take(&idx, axis)
    }

    /// Elements where the n-d boolean `mask` (same shape as the array) is true, as a 1-d
    /// array in row-major order (NumPy's `x[mask]`).
    pub fn masked(&self, mask: &ArrayD<bool>) -> Result<Array, ArrayError> {
        if mask.shape() != self.shape() {
            return Err(ArrayError::Shape {
                op: "boolean mask",
                reason: format!(
                    "mask of shape {:?} for an array of shape {:?}",
                    mask.shape(),
                    self.shape()
                ),
            });
        }
        let idx: Vec<i64> = mask
            .iter()
            .enumerate()
            .filter(|(_, &m)| m)
            .map(|(i, _)| i as i64)
            .collect();
        self.reshape(&[self.size()])?.take(&idx, 0)
    }
}

pub(crate) fn lower(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    axis: usize,
    indices: &[usize],
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let offs = x.grid.offsets(axis);
    let out_offs = node.grid.offsets(axis);
    for idx in chunks {
        let b = idx[axis];
        let (s, e) = (out_offs[b], out_offs[b + 1]);
        let mut deps = Vec::new();
        let mut moves: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut slot_of_block: Vec<(usize, usize)> = Vec::new();
        for (dst, &p) in indices[s..e].iter().enumerate() {
            let ib = offs.partition_point(|&o| o <= p) - 1;
            let slot = match slot_of_block.iter().find(|(blk, _)| *blk == ib) {
                Some(&(_, slot)) => slot,
                None => {
                    let mut in_idx = idx.clone();
                    in_idx[axis] = ib;
                    deps.push(low.need(x, &in_idx));
                    moves.push(Vec::new());
                    slot_of_block.push((ib, moves.len() - 1));
                    moves.len() - 1
                }
            };
            moves[slot].push((p - offs[ib], dst));
        }
        if deps.is_empty() {
            // An empty selection still reads one chunk so the task has the right dtype/shape.
            let mut in_idx = idx.clone();
            in_idx[axis] = 0;
            deps.push(low.need(x, &in_idx));
            moves.push(Vec::new());
        }
        let args = TakeArgs {
            dtype: node.dtype,
            axis,
            out_shape: node.grid.chunk_shape(idx),
            moves,
        };
        low.push(node.key(idx), names::TAKE, encode_args(&args)?, deps);
    }
    Ok(())
}

fn take_typed<T: Element>(args: &TakeArgs, views: &[ChunkView<'_>]) -> Result<Bytes, ArrayError> {
    let mut out = ArrayD::<T>::default(IxDyn(&args.out_shape));
    let ax = Axis(args.axis);
    for (v, moves) in views.iter().zip(&args.moves) {
        let src = v.array_view::<T>()?;
        if src.ndim() != out.ndim() || args.axis >= src.ndim() {
            return Err(ArrayError::Compute(format!(
                "take of a chunk of shape {:?}",
                src.shape()
            )));
        }
        for &(s, d) in moves {
            if s >= src.shape()[args.axis] || d >= out.shape()[args.axis] {
                return Err(ArrayError::Compute(format!(
                    "take position {s} -> {d} out of bounds"
                )));
            }
            out.index_axis_mut(ax, d).assign(&src.index_axis(ax, s));
        }
    }
    encode_view(&out.view())
}

/// Kernel: an output chunk of `take` from the input chunks holding its positions.
pub(crate) fn take_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: TakeArgs = postcard::from_bytes(args)
        .map_err(|e| ArrayError::Decode(format!("take arguments: {e}")))?;
    if args.moves.len() != inputs.len() {
        return Err(ArrayError::Compute(format!(
            "{} move lists for {} inputs",
            args.moves.len(),
            inputs.len()
        )));
    }
    let views = inputs
        .iter()
        .map(|b| decode_chunk(b))
        .collect::<Result<Vec<_>, _>>()?;
    crate::dispatch_dtype!(args.dtype, T => take_typed::<T>(&args, &views))
}
