//! Reshape (row-major, like NumPy's `reshape` with order "C").
//!
//! The input is first re-cut into chunks that are ranges of its leading axis with every other
//! axis whole, so each chunk is one contiguous range of flat positions; output chunks are
//! likewise leading-axis ranges, and each copies the flat ranges it overlaps. Chunks keep about
//! the input's largest chunk size. This module must not compute outside its kernel.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::array::array::Array;
use crate::array::chunk::{decode_chunk, ChunkView, ChunkWriter};
use crate::array::data::Element;
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::grid::{ChunkGrid, ChunkSpec};
use crate::array::kernels::names;
use crate::array::lower::{encode_args, Lowering};
use crate::array::node::{Node, NodeRef, Op};
use crate::array::shape_ops::ShapeOp;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FlatArgs {
    pub dtype: DType,
    pub out_shape: Vec<usize>,
    /// Per input: (flat offset in the input chunk, flat offset in the output chunk, count).
    pub pieces: Vec<(usize, usize, usize)>,
}

/// Leading-axis blocks of about `target` elements for `shape`, other axes whole.
fn leading_blocks(shape: &[usize], target: usize) -> Vec<Vec<usize>> {
    if shape.is_empty() {
        return vec![];
    }
    let inner: usize = shape[1..].iter().product::<usize>().max(1);
    let rows = (target / inner).max(1);
    let mut blocks = Vec::with_capacity(shape.len());
    let n = shape[0];
    let mut lead = vec![rows; n / rows];
    if !n.is_multiple_of(rows) || n == 0 {
        lead.push(n % rows);
    }
    blocks.push(lead);
    for &d in &shape[1..] {
        blocks.push(vec![d]);
    }
    blocks
}

impl Array {
    /// The same elements in row-major order with a new shape of the same size.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let a = Array::arange(0, 12, 1, DType::I64, 5).unwrap();
    /// let b = a.reshape(&[3, 4]).unwrap();
    /// let v = b.compute_local_as::<i64>().unwrap();
    /// assert_eq!(v[[2, 1]], 9);
    /// ```
    pub fn reshape(&self, shape: &[usize]) -> Result<Array, ArrayError> {
        let size: usize = shape.iter().product();
        if size != self.size() {
            return Err(ArrayError::Shape {
                op: "reshape",
                reason: format!(
                    "cannot reshape {:?} ({} elements) to {shape:?} ({size})",
                    self.shape(),
                    self.size()
                ),
            });
        }
        if shape == self.shape() {
            return Ok(self.clone());
        }
        if size == 0 {
            return Array::zeros(
                shape,
                self.dtype(),
                ChunkSpec::Blocks(shape.iter().map(|&d| vec![d]).collect()),
            );
        }
        let target = self.chunks().max_chunk_bytes(1).max(1);
        let input = if self.ndim() == 0 {
            self.clone()
        } else {
            self.rechunk(ChunkSpec::Blocks(leading_blocks(self.shape(), target)))?
        };
        let grid = ChunkGrid::from_blocks(shape, leading_blocks(shape, target))?;
        Ok(Array::from_node(Node::new(
            Op::Shape {
                inputs: vec![input.node().clone()],
                op: ShapeOp::Reshape,
            },
            self.dtype(),
            shape.to_vec(),
            grid,
        )))
    }

    /// The array as 1-d, row-major.
    pub fn ravel(&self) -> Result<Array, ArrayError> {
        self.reshape(&[self.size()])
    }
}

/// Flat `[start, end)` ranges of the leading-axis blocks of a grid.
fn flat_ranges(grid: &ChunkGrid, shape: &[usize]) -> Vec<(usize, usize)> {
    if shape.is_empty() {
        return vec![(0, 1)];
    }
    let inner: usize = shape[1..].iter().product();
    let offs = grid.offsets(0);
    offs.windows(2)
        .map(|w| (w[0] * inner, w[1] * inner))
        .collect()
}

pub(crate) fn lower(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let in_ranges = flat_ranges(&x.grid, &x.shape);
    let out_ranges = flat_ranges(&node.grid, &node.shape);
    for idx in chunks {
        let (s, e) = out_ranges[idx.first().copied().unwrap_or(0)];
        let mut deps = Vec::new();
        let mut pieces = Vec::new();
        for (b, &(is, ie)) in in_ranges.iter().enumerate() {
            let (lo, hi) = (is.max(s), ie.min(e));
            if lo < hi {
                let mut in_idx = vec![0; x.ndim()];
                if let Some(first) = in_idx.first_mut() {
                    *first = b;
                }
                deps.push(low.need(x, &in_idx));
                pieces.push((lo - is, lo - s, hi - lo));
            }
        }
        let args = FlatArgs {
            dtype: node.dtype,
            out_shape: node.grid.chunk_shape(idx),
            pieces,
        };
        low.push(
            node.key(idx),
            names::FLAT_ASSEMBLE,
            encode_args(&args)?,
            deps,
        );
    }
    Ok(())
}

fn flat_typed<T: Element>(args: &FlatArgs, views: &[ChunkView<'_>]) -> Result<Bytes, ArrayError> {
    let mut w = ChunkWriter::new(T::DTYPE, &args.out_shape)?;
    for (v, &(src, dst, n)) in views.iter().zip(&args.pieces) {
        let s = v.slice::<T>().ok_or(ArrayError::DTypeMismatch {
            actual: v.dtype(),
            requested: T::DTYPE,
        })?;
        let part = s.get(src..src + n).ok_or_else(|| {
            ArrayError::Compute(format!("flat piece {src}+{n} of a chunk of {}", s.len()))
        })?;
        w.write(dst, part)?;
    }
    Ok(w.finish())
}

/// Kernel: an output chunk copied from flat ranges of input chunks.
pub(crate) fn flat_assemble_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: FlatArgs = postcard::from_bytes(args)
        .map_err(|e| ArrayError::Decode(format!("reshape arguments: {e}")))?;
    if args.pieces.len() != inputs.len() {
        return Err(ArrayError::Compute(format!(
            "{} pieces for {} inputs",
            args.pieces.len(),
            inputs.len()
        )));
    }
    let views = inputs
        .iter()
        .map(|b| decode_chunk(b))
        .collect::<Result<Vec<_>, _>>()?;
    crate::dispatch_dtype!(args.dtype, T => flat_typed::<T>(&args, &views))
}
