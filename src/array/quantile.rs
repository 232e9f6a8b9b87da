//! Exact quantiles along one axis: `quantile`, `percentile`, `median` and their NaN-skipping
//! forms, with NumPy's default method ("linear": `v[i] + (v[i+1] - v[i]) * f` at the virtual
//! index `q * (n - 1)`, with NumPy's rounding of the interpolation).
//!
//! Algorithm (as dask's `median`): the axis is re-cut to one chunk, so every task holds whole
//! lanes of the axis; each task sorts each lane's values once and reads all requested
//! quantiles from it. The other axes keep their chunks, so the work is as parallel as the
//! array is chunked across the axis. Labeled and time-series code uses these through
//! [`Array::quantile`], [`Array::median`] and friends. This module builds graph nodes and
//! runs the per-chunk kernel; it must not know how tasks are scheduled.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::array::array::Array;
use crate::array::chunk::encode_values;
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::grid::ChunkGrid;
use crate::array::kernels::names;
use crate::array::lower::{encode_args, Lowering};
use crate::array::node::{Node, NodeRef, Op};
use crate::array::reduce::normalize_axes;
use crate::array::shape_ops::ShapeOp;

/// Arguments of the quantile kernel.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct QuantileArgs {
    /// The axis of the input chunk the lanes run along.
    pub axis: usize,
    /// Quantiles in [0, 1].
    pub q: Vec<f64>,
    /// Skip NaN (nanquantile); otherwise a lane with NaN gives NaN.
    pub skip_nan: bool,
    /// Result dtype (float32 or float64).
    pub dtype: DType,
}

impl Array {
    /// Quantiles `q` (each in [0, 1]) along `axis` (`None`: over all elements), NumPy's
    /// `quantile` with the linear method. One quantile removes the axis; several put a new
    /// first axis of `q.len()` (NumPy's layout). float32 stays float32, other dtypes give
    /// float64.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let x = Array::arange(0, 10, 1, DType::I64, 3).unwrap();
    /// let m = x.quantile(&[0.25], None, false).unwrap();
    /// assert_eq!(m.compute_local().unwrap().to_f64_vec(), vec![2.25]);
    /// ```
    pub fn quantile(
        &self,
        q: &[f64],
        axis: Option<isize>,
        skip_nan: bool,
    ) -> Result<Array, ArrayError> {
        // As NumPy: quantiles of an empty axis are an error, NaN-skipping ones NaN.
        let reduced = match axis {
            Some(a) => self.shape()[normalize_axes(&[a], self.ndim())?[0]],
            None => self.size(),
        };
        if reduced == 0 && !skip_nan {
            return Err(ArrayError::Shape {
                op: "quantile",
                reason: format!(
                    "no values to take quantiles of along an axis of shape {:?}",
                    self.shape()
                ),
            });
        }
        self.lane_quantiles(q, axis, skip_nan)
    }

    fn lane_quantiles(
        &self,
        q: &[f64],
        axis: Option<isize>,
        skip_nan: bool,
    ) -> Result<Array, ArrayError> {
        if q.is_empty() || q.iter().any(|q| !(0.0..=1.0).contains(q)) {
            return Err(ArrayError::InvalidParameter {
                name: "q",
                reason: format!("quantiles must be in the range [0, 1], got {q:?}"),
            });
        }
        if self.dtype() == DType::Bool {
            return Err(ArrayError::UnsupportedDType {
                op: "quantile",
                dtype: DType::Bool,
            });
        }
        let (x, axis) = match axis {
            Some(a) => (self.clone(), normalize_axes(&[a], self.ndim())?[0]),
            None => (self.ravel()?, 0),
        };
        let out_dtype = x.dtype().float_for_math();
        let whole = x.with_whole_axis(axis)?;
        let mut shape = whole.shape().to_vec();
        shape[axis] = q.len();
        let blocks: Vec<Vec<usize>> = (0..whole.ndim())
            .map(|a| {
                if a == axis {
                    vec![q.len()]
                } else {
                    whole.chunks().blocks(a).to_vec()
                }
            })
            .collect();
        let grid = ChunkGrid::from_blocks(&shape, blocks)?;
        let node = Node::new(
            Op::Shape {
                inputs: vec![whole.node().clone()],
                op: ShapeOp::Quantile {
                    axis,
                    q: q.iter().map(|q| q.to_bits()).collect(),
                    skip_nan,
                },
            },
            out_dtype,
            shape,
            grid,
        );
        let r = Array::from_node(node);
        if q.len() == 1 {
            r.squeeze(&[axis as isize])
        } else {
            let mut perm: Vec<usize> = (0..r.ndim()).filter(|&a| a != axis).collect();
            perm.insert(0, axis);
            r.permute(&perm)
        }
    }

    /// NumPy's `percentile`: [`Array::quantile`] with `q` in percent.
    pub fn percentile(
        &self,
        q: &[f64],
        axis: Option<isize>,
        skip_nan: bool,
    ) -> Result<Array, ArrayError> {
        let q: Vec<f64> = q.iter().map(|p| p / 100.0).collect();
        self.quantile(&q, axis, skip_nan)
    }

    /// NumPy's `median` (`skip_nan`: `nanmedian`) along `axis` or over all elements (NaN
    /// for an empty axis; bool counts as 0 and 1).
    pub fn median(&self, axis: Option<isize>, skip_nan: bool) -> Result<Array, ArrayError> {
        let x = if self.dtype() == DType::Bool {
            self.astype(DType::U8)
        } else {
            self.clone()
        };
        x.lane_quantiles(&[0.5], axis, skip_nan)
    }
}

pub(crate) fn lower(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    axis: usize,
    q: &[u64],
    skip_nan: bool,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let args = QuantileArgs {
        axis,
        q: q.iter().map(|&b| f64::from_bits(b)).collect(),
        skip_nan,
        dtype: node.dtype,
    };
    let encoded = encode_args(&args)?;
    for idx in chunks {
        let mut in_idx = idx.clone();
        in_idx[axis] = 0;
        let dep = low.need(x, &in_idx);
        low.push(node.key(idx), names::QUANTILE, encoded.clone(), vec![dep]);
    }
    Ok(())
}

/// NumPy's `_lerp`: `a + (b - a) t`, computed from `b` for `t >= 0.5` (exact at both ends).
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// Quantile `q` of sorted values (NaN-free), NumPy's linear method; NaN when empty.
fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let virtual_index = q * (v.len() - 1) as f64;
    let lo = virtual_index.floor();
    let i = lo as usize;
    let j = (i + 1).min(v.len() - 1);
    lerp(v[i], v[j], virtual_index - lo)
}

/// Kernel: the quantiles of every lane of one chunk along the axis.
pub(crate) fn quantile_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: QuantileArgs = crate::array::lower::decode_args(args, "quantile")?;
    let view = crate::array::lower::single_input(inputs, "quantile")?;
    let shape = view.shape.clone();
    if args.axis >= shape.len() {
        return Err(ArrayError::Compute(format!(
            "quantile axis {} of a chunk of shape {shape:?}",
            args.axis
        )));
    }
    let values: Vec<f64> = match view.dtype() {
        DType::F64 => view.slice::<f64>().map(<[f64]>::to_vec),
        DType::F32 => view
            .slice::<f32>()
            .map(|v| v.iter().map(|&x| f64::from(x)).collect()),
        DType::I64 => view
            .slice::<i64>()
            .map(|v| v.iter().map(|&x| x as f64).collect()),
        DType::I32 => view
            .slice::<i32>()
            .map(|v| v.iter().map(|&x| f64::from(x)).collect()),
        DType::U8 => view
            .slice::<u8>()
            .map(|v| v.iter().map(|&x| f64::from(x)).collect()),
        DType::Bool => None,
    }
    .ok_or_else(|| ArrayError::UnsupportedDType {
        op: "quantile",
        dtype: view.dtype(),
    })?;
    let n = shape[args.axis];
    let inner: usize = shape[args.axis + 1..].iter().product();
    let outer: usize = shape[..args.axis].iter().product();
    let nq = args.q.len();
    let mut out = vec![0.0f64; outer * nq * inner];
    let mut lane = Vec::with_capacity(n);
    for o in 0..outer {
        for i in 0..inner {
            lane.clear();
            let mut has_nan = false;
            for k in 0..n {
                let v = values[(o * n + k) * inner + i];
                if v.is_nan() {
                    has_nan = true;
                } else {
                    lane.push(v);
                }
            }
            lane.sort_unstable_by(f64::total_cmp);
            for (t, &q) in args.q.iter().enumerate() {
                out[(o * nq + t) * inner + i] = if has_nan && !args.skip_nan {
                    f64::NAN
                } else {
                    quantile_sorted(&lane, q)
                };
            }
        }
    }
    let mut out_shape = shape;
    out_shape[args.axis] = nq;
    if args.dtype == DType::F32 {
        let narrow: Vec<f32> = out.iter().map(|&x| x as f32).collect();
        encode_values(&out_shape, &narrow)
    } else {
        encode_values(&out_shape, &out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_quantiles_of_sorted_values_match_numpy() {
        let v = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 8.0);
        assert_eq!(quantile_sorted(&v, 0.5), 3.0);
        assert_eq!(quantile_sorted(&v, 0.25), 1.75);
        assert!(quantile_sorted(&[], 0.5).is_nan());
        assert_eq!(quantile_sorted(&[7.0], 0.3), 7.0);
    }
}
