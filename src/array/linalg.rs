//! Matrix products: `matmul` (2-d block products; 1-d and stacked operands built on it) and
//! `tensordot` over any axes (a permute, a reshape to one matrix product, a reshape back).
//!
//! Both operands are re-cut so the contracted axis has the same blocks; every output block
//! sums the products of its row of left blocks with its column of right blocks through a tree
//! of at most `split_every` inputs per task. Floats use ndarray's `dot`; integers wrap.
//! This module builds graph nodes and tasks; its kernels only multiply and add.

use bytes::Bytes;
use ndarray::{Array2, ArrayView2, Ix2};
use serde::{Deserialize, Serialize};

use crate::array::array::Array;
use crate::array::chunk::{decode_chunk, encode_view, ChunkView};
use crate::array::dtype::DType;
use crate::array::elementwise::regrid;
use crate::array::error::ArrayError;
use crate::array::grid::{common_blocks, ChunkGrid};
use crate::array::kernels::names;
use crate::array::lower::{encode_args, Lowering};
use crate::array::math::Num;
use crate::array::node::{Node, NodeRef, Op};
use crate::array::reduce::DEFAULT_SPLIT_EVERY;
use crate::array::shape_ops::ShapeOp;
use crate::core::TaskKey;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct MatArgs {
    /// `true`: multiply the two inputs; `false`: add all inputs.
    pub multiply: bool,
}

impl Array {
    /// The matrix product of two 2-d arrays.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let a = Array::arange(0.0, 6.0, 1.0, DType::F64, 6).unwrap().reshape(&[2, 3]).unwrap();
    /// let i = Array::eye(3, 3, 0, DType::F64, 2).unwrap();
    /// assert_eq!(a.matmul(&i).unwrap().compute_local().unwrap(), a.compute_local().unwrap());
    /// ```
    pub fn matmul(&self, other: &Array) -> Result<Array, ArrayError> {
        let (na, nb) = (self.ndim(), other.ndim());
        if na == 0 || nb == 0 {
            return Err(ArrayError::Shape {
                op: "matmul",
                reason: "operands must have at least one dimension, not be scalars".into(),
            });
        }
        if na == 1 || nb == 1 {
            // NumPy: a 1-d left operand is a row, a 1-d right operand a column; the added
            // axis is removed from the result.
            let a = if na == 1 {
                self.expand_dims(0)?
            } else {
                self.clone()
            };
            let b = if nb == 1 {
                other.expand_dims(-1)?
            } else {
                other.clone()
            };
            let r = a.matmul(&b)?;
            let nd = r.ndim() as isize;
            let mut drop = Vec::new();
            if na == 1 {
                drop.push(nd - 2);
            }
            if nb == 1 {
                drop.push(nd - 1);
            }
            return r.squeeze(&drop);
        }
        if na > 2 || nb > 2 {
            return self.batched_matmul(other);
        }
        if self.ndim() != 2 || other.ndim() != 2 || self.shape()[1] != other.shape()[0] {
            return Err(ArrayError::Shape {
                op: "matmul",
                reason: format!(
                    "shapes {:?} and {:?} are not aligned 2-d matrices",
                    self.shape(),
                    other.shape()
                ),
            });
        }
        let dtype = self.dtype().promote(other.dtype());
        if dtype == DType::Bool {
            return Err(ArrayError::UnsupportedDType {
                op: "matmul",
                dtype,
            });
        }
        let (a, b) = (self.astype(dtype), other.astype(dtype));
        let k = common_blocks(a.chunks().blocks(1), b.chunks().blocks(0));
        let a = regrid(a.node(), vec![a.chunks().blocks(0).to_vec(), k.clone()])?;
        let b = regrid(b.node(), vec![k, b.chunks().blocks(1).to_vec()])?;
        let shape = vec![a.shape[0], b.shape[1]];
        let grid = ChunkGrid::from_blocks(
            &shape,
            vec![a.grid.blocks(0).to_vec(), b.grid.blocks(1).to_vec()],
        )?;
        Ok(Array::from_node(Node::new(
            Op::Shape {
                inputs: vec![a, b],
                op: ShapeOp::MatMul,
            },
            dtype,
            shape,
            grid,
        )))
    }

    /// Stacks of matrices (NumPy's `matmul` of n-d operands): the leading axes broadcast, the
    /// last two multiply. Built as a broadcast product summed over the contracted axis, so each
    /// output chunk reads the matching chunks of both operands.
    fn batched_matmul(&self, other: &Array) -> Result<Array, ArrayError> {
        let (sa, sb) = (self.shape(), other.shape());
        if sa[sa.len() - 1] != sb[sb.len() - 2] {
            return Err(ArrayError::Shape {
                op: "matmul",
                reason: format!("shapes {sa:?} and {sb:?} do not align on the contracted axis"),
            });
        }
        let dtype = self.dtype().promote(other.dtype());
        if dtype == DType::Bool {
            return Err(ArrayError::UnsupportedDType {
                op: "matmul",
                dtype,
            });
        }
        // a[..., i, k, newaxis] * b[..., newaxis, k, j], summed over k.
        let a = self.astype(dtype).expand_dims(-1)?;
        let b = other.astype(dtype).expand_dims(-3)?;
        let product = a.mul(&b)?;
        let k = product.ndim() as isize - 2;
        Ok(product
            .reduce(
                crate::array::ReduceKind::Sum,
                &crate::array::ReduceOptions::axes([k]),
            )?
            .astype(dtype))
    }

    /// `tensordot` of two 2-d arrays over one axis pair: `axes = (1, 0)` is `matmul`.
    pub fn tensordot(&self, other: &Array, axes: (usize, usize)) -> Result<Array, ArrayError> {
        self.tensordot_axes(other, &[axes.0 as isize], &[axes.1 as isize])
    }

    /// NumPy's `tensordot(a, b, axes=n)`: the last `n` axes of `self` against the first `n`
    /// of `other` (`n = 0` is the outer product).
    pub fn tensordot_n(&self, other: &Array, n: usize) -> Result<Array, ArrayError> {
        if n > self.ndim() || n > other.ndim() {
            return Err(ArrayError::Shape {
                op: "tensordot",
                reason: format!(
                    "axes={n} needs operands of at least {n} dimensions, got {:?} and {:?}",
                    self.shape(),
                    other.shape()
                ),
            });
        }
        let a: Vec<isize> = (self.ndim() - n..self.ndim()).map(|a| a as isize).collect();
        let b: Vec<isize> = (0..n).map(|a| a as isize).collect();
        self.tensordot_axes(other, &a, &b)
    }

    /// NumPy's `tensordot(a, b, axes=(a_axes, b_axes))` for any number of dimensions: the
    /// free axes of `self` are moved first and merged, the contracted ones last, and the
    /// product is one matrix product reshaped back.
    pub fn tensordot_axes(
        &self,
        other: &Array,
        a_axes: &[isize],
        b_axes: &[isize],
    ) -> Result<Array, ArrayError> {
        let (sa, sb) = (self.shape().to_vec(), other.shape().to_vec());
        let mismatch = |reason: String| ArrayError::Shape {
            op: "tensordot",
            reason,
        };
        if a_axes.len() != b_axes.len() {
            return Err(mismatch(format!(
                "{} axes of the first operand against {} of the second",
                a_axes.len(),
                b_axes.len()
            )));
        }
        let ca = crate::array::reduce::axes_in_order(a_axes, sa.len())?;
        let cb = crate::array::reduce::axes_in_order(b_axes, sb.len())?;
        for (&i, &j) in ca.iter().zip(&cb) {
            if sa[i] != sb[j] {
                return Err(mismatch(format!(
                    "shape-mismatch for sum: axis {i} of {sa:?} has length {}, axis {j} of {sb:?} has {}",
                    sa[i], sb[j]
                )));
            }
        }
        let free_a: Vec<usize> = (0..sa.len()).filter(|a| !ca.contains(a)).collect();
        let free_b: Vec<usize> = (0..sb.len()).filter(|a| !cb.contains(a)).collect();
        let len = |shape: &[usize], axes: &[usize]| -> Result<usize, ArrayError> {
            crate::array::grid::checked_size(axes.iter().map(|&a| shape[a]))
        };
        let (m, k, n) = (len(&sa, &free_a)?, len(&sa, &ca)?, len(&sb, &free_b)?);
        let perm_a: Vec<usize> = free_a.iter().chain(&ca).copied().collect();
        let perm_b: Vec<usize> = cb.iter().chain(&free_b).copied().collect();
        let a = self.permute(&perm_a)?.reshape(&[m, k])?;
        let b = other.permute(&perm_b)?.reshape(&[k, n])?;
        let out_shape: Vec<usize> = free_a
            .iter()
            .map(|&a| sa[a])
            .chain(free_b.iter().map(|&b| sb[b]))
            .collect();
        a.matmul(&b)?.reshape(&out_shape)
    }
}

pub(crate) fn lower(
    low: &mut Lowering,
    node: &NodeRef,
    a: &NodeRef,
    b: &NodeRef,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let nk = a.grid.blocks(1).len();
    for idx in chunks {
        let (i, j) = (idx[0], idx[1]);
        let suffix = format!("-{i}-{j}");
        let mut keys: Vec<TaskKey> = Vec::with_capacity(nk);
        for k in 0..nk {
            let deps = vec![low.need(a, &[i, k]), low.need(b, &[k, j])];
            if nk == 1 {
                low.push(
                    node.key(idx),
                    names::MATMUL,
                    encode_args(&MatArgs { multiply: true })?,
                    deps,
                );
                break;
            }
            let key = format!("matmul-part-{}{suffix}-{k}", node.id);
            low.push(
                key.clone(),
                names::MATMUL,
                encode_args(&MatArgs { multiply: true })?,
                deps,
            );
            keys.push(TaskKey::new(key));
        }
        if nk == 1 {
            continue;
        }
        let mut level = 0;
        while keys.len() > DEFAULT_SPLIT_EVERY {
            let mut next = Vec::new();
            for (g, group) in keys.chunks(DEFAULT_SPLIT_EVERY).enumerate() {
                let key = format!("matmul-sum-{}-l{level}-g{g}{suffix}", node.id);
                low.push(
                    key.clone(),
                    names::MATMUL,
                    encode_args(&MatArgs { multiply: false })?,
                    group.to_vec(),
                );
                next.push(TaskKey::new(key));
            }
            keys = next;
            level += 1;
        }
        low.push(
            node.key(idx),
            names::MATMUL,
            encode_args(&MatArgs { multiply: false })?,
            keys,
        );
    }
    Ok(())
}

fn view2<'a, T: crate::array::Element>(
    v: &'a ChunkView<'_>,
) -> Result<ArrayView2<'a, T>, ArrayError> {
    v.array_view::<T>()?
        .into_dimensionality::<Ix2>()
        .map_err(|e| ArrayError::Compute(format!("matmul block of shape {:?}: {e}", v.shape)))
}

fn int_dot<T: Num + crate::array::Element>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
) -> Array2<T> {
    let (n, k, m) = (a.nrows(), a.ncols(), b.ncols());
    let mut out = Array2::<T>::default((n, m));
    for i in 0..n {
        for p in 0..k {
            let x = a[[i, p]];
            for j in 0..m {
                out[[i, j]] = out[[i, j]].add(x.mul(b[[p, j]]));
            }
        }
    }
    out
}

fn mat_typed<T>(args: &MatArgs, views: &[ChunkView<'_>], float: bool) -> Result<Bytes, ArrayError>
where
    T: Num + crate::array::Element + ndarray::LinalgScalar,
{
    if args.multiply {
        let (a, b) = match views {
            [a, b] => (view2::<T>(a)?, view2::<T>(b)?),
            _ => {
                return Err(ArrayError::Compute(format!(
                    "matmul block with {} inputs",
                    views.len()
                )))
            }
        };
        if a.ncols() != b.nrows() {
            return Err(ArrayError::Compute(format!(
                "blocks {:?} and {:?} do not align",
                a.shape(),
                b.shape()
            )));
        }
        let out = if float { a.dot(&b) } else { int_dot(a, b) };
        encode_view(&out.into_dyn().view())
    } else {
        let first = views
            .first()
            .ok_or_else(|| ArrayError::Compute("sum of no blocks".into()))?;
        let mut acc = view2::<T>(first)?.to_owned();
        for v in &views[1..] {
            let x = view2::<T>(v)?;
            if x.shape() != acc.shape() {
                return Err(ArrayError::Compute(format!(
                    "adding blocks {:?} and {:?}",
                    acc.shape(),
                    x.shape()
                )));
            }
            ndarray::Zip::from(&mut acc)
                .and(&x)
                .for_each(|a, &b| *a = Num::add(*a, b));
        }
        encode_view(&acc.into_dyn().view())
    }
}

/// Kernel: a block product, or a sum of block products.
pub(crate) fn matmul_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: MatArgs = postcard::from_bytes(args)
        .map_err(|e| ArrayError::Decode(format!("matmul arguments: {e}")))?;
    let views = inputs
        .iter()
        .map(|b| decode_chunk(b))
        .collect::<Result<Vec<_>, _>>()?;
    let dtype = views
        .first()
        .map(ChunkView::dtype)
        .ok_or_else(|| ArrayError::Compute("matmul without inputs".into()))?;
    match dtype {
        DType::F64 => mat_typed::<f64>(&args, &views, true),
        DType::F32 => mat_typed::<f32>(&args, &views, true),
        DType::I64 => mat_typed::<i64>(&args, &views, false),
        DType::I32 => mat_typed::<i32>(&args, &views, false),
        DType::U8 => mat_typed::<u8>(&args, &views, false),
        DType::Bool => Err(ArrayError::UnsupportedDType {
            op: "matmul",
            dtype,
        }),
    }
}
