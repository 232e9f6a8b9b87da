//! Moving windows along one dimension (xarray's `rolling`): `x.rolling("time", 30)` then
//! `.reduce(RollingReduce::Mean)` (sum, mean, min, max, std, var). As xarray: the window
//! of step `i` ends at `i` (or, with `center`, covers `i - w/2 ..= i + w - 1 - w/2`), missing
//! values (NaN) are skipped, and a window with fewer than `min_periods` valid values
//! (default: the window) gives NaN; the result is float64 with the input's labels and its
//! descriptive attributes.
//!
//! Chunked through [`Array::map_overlap`]: every chunk is extended by the window's reach from
//! its neighbours (NaN beyond the array's edges), the kernel computes every window of the
//! extended chunk and the extension is trimmed. A task holds one chunk plus the window's
//! reach on either side; chunks shorter than the reach are merged with their neighbours
//! first. This module builds graphs and runs the per-chunk kernel; it must not open files.

use std::collections::HashMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::array::{
    decode_chunk, encode_values, Array, ArrayError, BlockArgs, Boundary, ChunkSpec, DType,
};
use crate::runtime::kernel::{Kernel, KernelError};

use super::{KeepAttrs, LabelError, LabeledArray};

/// Kernel name of the per-chunk moving-window reduction.
pub const ROLLING_KERNEL: &str = "tessera.labeled.rolling";

/// A labeled array seen through a moving window, waiting for a reduction.
#[derive(Clone, Debug)]
pub struct Rolling {
    array: LabeledArray,
    dim: String,
    window: usize,
    center: bool,
    min_periods: usize,
}

/// The reduction of every window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum RollingReduce {
    /// Sum of the valid values.
    Sum,
    /// Mean of the valid values.
    Mean,
    /// Smallest valid value.
    Min,
    /// Largest valid value.
    Max,
    /// Variance with `ddof` degrees of freedom subtracted.
    Var(f64),
    /// Standard deviation with `ddof` degrees of freedom subtracted.
    Std(f64),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RollingArgs {
    axis: usize,
    /// Steps before and after the window's own step.
    before: usize,
    after: usize,
    min_periods: usize,
    how: RollingReduce,
}

impl LabeledArray {
    /// Moving windows of `window` steps along `dim`; `center` puts the step in the middle of
    /// its window, `min_periods` (default: `window`) is the fewest valid values a window
    /// needs to give a value.
    ///
    /// ```
    /// use tessera::array::Array;
    /// use tessera::labeled::{LabeledArray, RollingReduce};
    /// let data = ndarray::arr1(&[1.0, 2.0, 3.0, 4.0]).into_dyn();
    /// let x = LabeledArray::new(Array::from_ndarray(&data, 2).unwrap(), "v")
    ///     .with_dims(&["time"]).unwrap();
    /// let m = x.rolling("time", 2, false, None).unwrap().reduce(RollingReduce::Mean).unwrap();
    /// let v = m.array().compute_local_as::<f64>().unwrap();
    /// assert!(v[0].is_nan());
    /// assert_eq!(&v.as_slice().unwrap()[1..], &[1.5, 2.5, 3.5]);
    /// ```
    pub fn rolling(
        &self,
        dim: &str,
        window: usize,
        center: bool,
        min_periods: Option<usize>,
    ) -> Result<Rolling, LabelError> {
        self.axis_of(dim)?;
        if window == 0 {
            return Err(LabelError::Invalid(format!(
                "rolling window along {dim} must be at least 1, got 0"
            )));
        }
        let min_periods = min_periods.unwrap_or(window);
        if min_periods == 0 || min_periods > window {
            return Err(LabelError::Invalid(format!(
                "min_periods along {dim} must be between 1 and the window ({window}), got {min_periods}"
            )));
        }
        Ok(Rolling {
            array: self.clone(),
            dim: dim.to_string(),
            window,
            center,
            min_periods,
        })
    }
}

impl Rolling {
    /// The array being windowed.
    pub fn array(&self) -> &LabeledArray {
        &self.array
    }

    /// The dimension the windows move along.
    pub fn dim(&self) -> &str {
        &self.dim
    }

    /// The window length.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Every window reduced: float64, same dimensions, coordinates and descriptive
    /// attributes as the array.
    pub fn reduce(&self, how: RollingReduce) -> Result<LabeledArray, LabelError> {
        let axis = self.array.axis_of(&self.dim)?;
        let x = self.array.array().astype(DType::F64);
        let (before, after) = if self.center {
            (self.window / 2, self.window - 1 - self.window / 2)
        } else {
            (self.window - 1, 0)
        };
        let n = x.shape()[axis];
        // Beyond the array every value is missing, so the reach never needs to exceed it.
        let reach = before.max(after).min(n);
        let x = merge_short_blocks(&x, axis, reach)?;
        let mut depth = vec![0; x.ndim()];
        depth[axis] = reach;
        let args = RollingArgs {
            axis,
            before,
            after,
            min_periods: self.min_periods,
            how,
        };
        let bytes = postcard::to_allocvec(&args)
            .map_err(|e| ArrayError::Compute(format!("rolling arguments: {e}")))?;
        let result = if x.size() == 0 || reach == 0 {
            // No neighbours needed (a window of one step, or nothing to do).
            Array::map_blocks(ROLLING_KERNEL, bytes, &[&x], DType::F64)?
        } else {
            x.map_overlap(
                ROLLING_KERNEL,
                bytes,
                &depth,
                Boundary::Constant(f64::NAN),
                DType::F64,
            )?
        };
        Ok(self.array.after_elementwise(result, KeepAttrs::Descriptive))
    }
}

/// `x` with blocks along `axis` merged until every one has at least `reach` elements (the
/// overlap takes `reach` elements from each neighbour).
fn merge_short_blocks(x: &Array, axis: usize, reach: usize) -> Result<Array, ArrayError> {
    let blocks = x.chunks().blocks(axis);
    if blocks.len() < 2 || blocks.iter().all(|&b| b >= reach) {
        return Ok(x.clone());
    }
    let mut merged: Vec<usize> = Vec::new();
    let mut acc = 0;
    for &b in blocks {
        acc += b;
        if acc >= reach {
            merged.push(acc);
            acc = 0;
        }
    }
    if acc > 0 {
        match merged.last_mut() {
            Some(last) => *last += acc,
            None => merged.push(acc),
        }
    }
    let mut all: Vec<Vec<usize>> = (0..x.ndim())
        .map(|a| x.chunks().blocks(a).to_vec())
        .collect();
    all[axis] = merged;
    x.rechunk(ChunkSpec::Blocks(all))
}

/// The window reduction of one lane (`vals[lo..hi]`), NaN when fewer than `min` are valid.
fn window_value(vals: &[f64], how: RollingReduce, min: usize) -> f64 {
    let valid = vals.iter().filter(|v| !v.is_nan());
    let count = valid.clone().count();
    if count < min || count == 0 {
        return f64::NAN;
    }
    let sum: f64 = valid.clone().sum();
    let mean = sum / count as f64;
    let var = |ddof: f64| {
        let ss: f64 = valid.clone().map(|v| (v - mean) * (v - mean)).sum();
        let dof = count as f64 - ddof;
        if dof <= 0.0 {
            f64::NAN
        } else {
            ss / dof
        }
    };
    match how {
        RollingReduce::Sum => sum,
        RollingReduce::Mean => mean,
        RollingReduce::Min => valid.fold(f64::INFINITY, |a, &b| a.min(b)),
        RollingReduce::Max => valid.fold(f64::NEG_INFINITY, |a, &b| a.max(b)),
        RollingReduce::Var(ddof) => var(ddof),
        RollingReduce::Std(ddof) => var(ddof).sqrt(),
    }
}

fn rolling_chunk(block_args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let block = BlockArgs::decode(block_args)?;
    let args: RollingArgs = postcard::from_bytes(&block.user)
        .map_err(|e| ArrayError::Decode(format!("rolling arguments: {e}")))?;
    let input = inputs
        .first()
        .ok_or_else(|| ArrayError::Compute("rolling: no input chunk".into()))?;
    let view = decode_chunk(input)?;
    let values = view.slice::<f64>().ok_or(ArrayError::DTypeMismatch {
        actual: view.dtype(),
        requested: DType::F64,
    })?;
    let shape = &view.shape;
    let len = shape[args.axis];
    let inner: usize = shape[args.axis + 1..].iter().product();
    let outer: usize = shape[..args.axis].iter().product();
    let mut out = vec![f64::NAN; values.len()];
    let mut lane = vec![0.0; len];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * len + k) * inner + i;
            for (k, slot) in lane.iter_mut().enumerate() {
                *slot = values[at(k)];
            }
            for k in 0..len {
                let lo = k.saturating_sub(args.before);
                let hi = (k + args.after + 1).min(len);
                out[at(k)] = window_value(&lane[lo..hi], args.how, args.min_periods);
            }
        }
    }
    encode_values(shape, &out)
}

/// Installs the rolling kernel into the kernel registry.
pub(crate) fn install(map: &mut HashMap<String, Kernel>) {
    let kernel: Kernel = std::sync::Arc::new(|ctx, inputs| {
        rolling_chunk(ctx.args, inputs).map_err(|e| KernelError::new(e.to_string()))
    });
    map.insert(ROLLING_KERNEL.into(), kernel);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_skip_missing_values_and_need_min_periods() {
        let v = [1.0, f64::NAN, 3.0];
        assert_eq!(window_value(&v, RollingReduce::Sum, 2), 4.0);
        assert!(window_value(&v, RollingReduce::Sum, 3).is_nan());
        assert_eq!(window_value(&v, RollingReduce::Max, 1), 3.0);
        assert_eq!(window_value(&v, RollingReduce::Var(0.0), 1), 1.0);
        assert!(window_value(&[2.0], RollingReduce::Std(1.0), 1).is_nan());
    }

    #[test]
    fn short_blocks_merge_until_they_cover_the_reach() {
        let data = ndarray::Array1::from_iter((0..10).map(f64::from)).into_dyn();
        let x = Array::from_ndarray(&data, 10)
            .unwrap()
            .rechunk(ChunkSpec::Blocks(vec![vec![2, 2, 5, 1]]))
            .unwrap();
        let m = merge_short_blocks(&x, 0, 3).unwrap();
        assert_eq!(m.chunks().blocks(0), &[4, 6]);
    }
}
