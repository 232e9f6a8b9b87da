//! `map_blocks`: a registered user kernel applied to corresponding chunks of one or more
//! arrays (broadcast and re-cut to a common chunking).
//!
//! The kernel receives [`BlockArgs`] (its own argument bytes, the block index, origin and
//! shape) and the input chunks in order, and must return an encoded chunk of the block's shape
//! and the declared dtype. This module builds graph nodes and tasks only.

use crate::array::array::Array;
use crate::array::dtype::DType;
use crate::array::elementwise::unify;
use crate::array::error::ArrayError;
use crate::array::lower::{encode_args, BlockArgs, Lowering};
use crate::array::node::{Node, NodeRef, Op};
use crate::array::shape_ops::ShapeOp;

impl Array {
    /// Applies the registered kernel `kernel` to every chunk of `arrays` (broadcast together);
    /// the result has the broadcast shape, the common chunking and dtype `dtype`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tessera::array::{decode_chunk, encode_values, Array, BlockArgs, DType};
    /// use tessera::runtime::{register_kernel, KernelError};
    /// register_kernel("doc.add-block-row", |ctx, inputs| {
    ///     let a = BlockArgs::decode(ctx.args).map_err(|e| KernelError::new(e.to_string()))?;
    ///     let v = decode_chunk(&inputs[0]).map_err(|e| KernelError::new(e.to_string()))?;
    ///     let xs: Vec<f64> = v.slice::<f64>().unwrap().iter().map(|x| x + a.block[0] as f64).collect();
    ///     encode_values(&a.chunk_shape, &xs).map_err(|e| KernelError::new(e.to_string()))
    /// });
    /// let x = Array::zeros(&[4], DType::F64, 2).unwrap();
    /// let y = Array::map_blocks("doc.add-block-row", Bytes::new(), &[&x], DType::F64).unwrap();
    /// assert_eq!(y.compute_local_as::<f64>().unwrap().as_slice().unwrap(), &[0.0, 0.0, 1.0, 1.0]);
    /// ```
    pub fn map_blocks(
        kernel: &str,
        args: impl Into<bytes::Bytes>,
        arrays: &[&Array],
        dtype: DType,
    ) -> Result<Array, ArrayError> {
        if arrays.is_empty() {
            return Err(ArrayError::InvalidParameter {
                name: "arrays",
                reason: "map_blocks needs at least one array".into(),
            });
        }
        let nodes: Vec<NodeRef> = arrays.iter().map(|a| a.node().clone()).collect();
        let (shape, grid, inputs) = unify(&nodes)?;
        let args: bytes::Bytes = args.into();
        Ok(Array::from_node(Node::new(
            Op::Shape {
                inputs,
                op: ShapeOp::MapBlocks {
                    kernel: kernel.to_string(),
                    args: args.to_vec(),
                },
            },
            dtype,
            shape,
            grid,
        )))
    }
}

pub(crate) fn lower(
    low: &mut Lowering,
    node: &NodeRef,
    inputs: &[NodeRef],
    kernel: &str,
    user: &[u8],
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let n = node.ndim();
    for idx in chunks {
        let deps = inputs
            .iter()
            .map(|x| {
                let off = n - x.ndim();
                let in_idx: Vec<usize> = (0..x.ndim())
                    .map(|j| if x.shape[j] == 1 { 0 } else { idx[j + off] })
                    .collect();
                low.need(x, &in_idx)
            })
            .collect();
        let args = BlockArgs {
            user: user.to_vec(),
            block: idx.clone(),
            origin: node.grid.chunk_origin(idx),
            chunk_shape: node.grid.chunk_shape(idx),
            array_shape: node.shape.clone(),
            dtype: node.dtype,
        };
        low.push(node.key(idx), kernel, encode_args(&args)?, deps);
    }
    Ok(())
}
