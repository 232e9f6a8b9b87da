//! Block reductions along dimensions (xarray's `coarsen`): `x.coarsen(&[("lat", 2), ("lon",
//! 2)], CoarsenBoundary::Exact)?.reduce(CoarsenReduce::Mean)`. Each coarsened dimension of
//! length `n` becomes `n / k` blocks of `k` steps; `Exact` refuses a length that `k` does not
//! divide, `Trim` drops the remainder at the end. As xarray: missing values are skipped on
//! float data, the coordinate of a block is the mean of its members' coordinates (in the
//! coordinate's dtype for floats, float64 for integers), and every attribute stays.
//!
//! Built from existing array operations: trim by slicing, chunks along a coarsened axis
//! rounded to whole blocks, a reshape splitting the axis into `(n / k, k)` (chunk-aligned,
//! so no data moves between tasks) and a reduction over the `k` axes. This module must not
//! open files.

use crate::array::{ArrayData, ChunkSpec, DType, IndexItem, ReduceKind, ReduceOptions};

use super::{LabelError, LabeledArray};

/// What to do with a dimension length the block size does not divide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoarsenBoundary {
    /// Refuse it (xarray's default).
    Exact,
    /// Drop the steps past the last whole block.
    Trim,
}

impl CoarsenBoundary {
    /// `"exact"` or `"trim"`.
    pub fn parse(text: &str) -> Result<CoarsenBoundary, LabelError> {
        match text {
            "exact" => Ok(CoarsenBoundary::Exact),
            "trim" => Ok(CoarsenBoundary::Trim),
            other => Err(LabelError::Invalid(format!(
                "coarsen boundary must be \"exact\" or \"trim\", got {other:?}"
            ))),
        }
    }
}

/// The reduction of every block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoarsenReduce {
    /// Sum of the valid values.
    Sum,
    /// Mean of the valid values.
    Mean,
    /// Smallest valid value.
    Min,
    /// Largest valid value.
    Max,
}

/// A labeled array cut into blocks along some dimensions, waiting for a reduction.
#[derive(Clone, Debug)]
pub struct Coarsen {
    /// Trimmed so that every factor divides its dimension.
    array: LabeledArray,
    /// (axis, block size), by axis.
    factors: Vec<(usize, usize)>,
}

impl LabeledArray {
    /// Blocks of `k` steps along each named dimension.
    ///
    /// ```
    /// use tessera::array::Array;
    /// use tessera::labeled::{CoarsenBoundary, CoarsenReduce, LabeledArray};
    /// let data = ndarray::arr1(&[1.0, 2.0, 3.0, 4.0, 5.0]).into_dyn();
    /// let x = LabeledArray::new(Array::from_ndarray(&data, 2).unwrap(), "v")
    ///     .with_dims(&["lat"]).unwrap();
    /// let c = x.coarsen(&[("lat", 2)], CoarsenBoundary::Trim).unwrap();
    /// let m = c.reduce(CoarsenReduce::Mean).unwrap();
    /// assert_eq!(m.array().compute_local_as::<f64>().unwrap().as_slice().unwrap(), &[1.5, 3.5]);
    /// ```
    pub fn coarsen(
        &self,
        factors: &[(&str, usize)],
        boundary: CoarsenBoundary,
    ) -> Result<Coarsen, LabelError> {
        if factors.is_empty() {
            return Err(LabelError::Invalid(
                "coarsen needs at least one dimension and block size: coarsen(x, lat=2)".into(),
            ));
        }
        let mut items = vec![
            IndexItem::Slice {
                start: None,
                stop: None,
                step: 1
            };
            self.dims().len()
        ];
        let mut by_axis = Vec::new();
        for &(dim, k) in factors {
            let axis = self.axis_of(dim)?;
            let n = self.array().shape()[axis];
            if k == 0 {
                return Err(LabelError::Invalid(format!(
                    "coarsen block size along {dim} must be at least 1, got 0"
                )));
            }
            if by_axis.iter().any(|&(a, _)| a == axis) {
                return Err(LabelError::Invalid(format!(
                    "coarsen names dimension {dim} twice"
                )));
            }
            if !n.is_multiple_of(k) {
                if boundary == CoarsenBoundary::Exact {
                    return Err(LabelError::Invalid(format!(
                        "coarsen: dimension {dim} of length {n} is not a multiple of {k} \
                         (boundary=\"trim\" drops the last {} steps)",
                        n % k
                    )));
                }
                items[axis] = IndexItem::Slice {
                    start: None,
                    stop: Some((n - n % k) as i64),
                    step: 1,
                };
            }
            by_axis.push((axis, k));
        }
        by_axis.sort_unstable();
        Ok(Coarsen {
            array: self.index(&items)?,
            factors: by_axis,
        })
    }
}

impl Coarsen {
    /// Every block reduced: the coarsened dimensions are `k` times shorter, their
    /// coordinates block means; attributes kept.
    pub fn reduce(&self, how: CoarsenReduce) -> Result<LabeledArray, LabelError> {
        let x = self.array.array();
        let float = x.dtype().is_float();
        let kind = match (how, float) {
            (CoarsenReduce::Sum, true) => ReduceKind::NanSum,
            (CoarsenReduce::Mean, true) => ReduceKind::NanMean,
            (CoarsenReduce::Min, true) => ReduceKind::NanMin,
            (CoarsenReduce::Max, true) => ReduceKind::NanMax,
            (CoarsenReduce::Sum, false) => ReduceKind::Sum,
            (CoarsenReduce::Mean, false) => ReduceKind::Mean,
            (CoarsenReduce::Min, false) => ReduceKind::Min,
            (CoarsenReduce::Max, false) => ReduceKind::Max,
        };
        // Chunks along each coarsened axis rounded to whole blocks, so that the reshape
        // below splits chunks in place.
        let mut blocks: Vec<Vec<usize>> = (0..x.ndim())
            .map(|a| x.chunks().blocks(a).to_vec())
            .collect();
        let mut shape = Vec::new();
        let mut reduced = Vec::new();
        for (axis, &n) in x.shape().iter().enumerate() {
            match self.factors.iter().find(|&&(a, _)| a == axis) {
                Some(&(_, k)) => {
                    blocks[axis] = whole_blocks(&blocks[axis], k);
                    shape.push(n / k);
                    reduced.push(shape.len() as isize);
                    shape.push(k);
                }
                None => shape.push(n),
            }
        }
        let aligned = x.rechunk(ChunkSpec::Blocks(blocks))?;
        let split = aligned.reshape(&shape)?;
        let data = split.reduce(kind, &ReduceOptions::axes(reduced.iter().copied()))?;
        let dims: Vec<&str> = self.array.dims().iter().map(String::as_str).collect();
        let mut out = LabeledArray::new(data, self.array.name())
            .with_dims(&dims)?
            .with_attrs(self.array.attrs().clone());
        for (dim, coord) in self.array.coords() {
            let axis = self.array.axis_of(dim)?;
            let values = match self.factors.iter().find(|&&(a, _)| a == axis) {
                Some(&(_, k)) => block_means(&coord.values, k),
                None => coord.values.clone(),
            };
            out = out.with_coord(dim, values, coord.attrs.clone())?;
        }
        Ok(out)
    }
}

/// Chunk sizes along an axis of `k`-step blocks: each a multiple of `k` near the original.
fn whole_blocks(blocks: &[usize], k: usize) -> Vec<usize> {
    let total: usize = blocks.iter().sum();
    let size = (blocks.iter().copied().max().unwrap_or(0) / k).max(1) * k;
    let mut out = vec![size; total / size];
    if !total.is_multiple_of(size) {
        out.push(total % size);
    }
    out
}

/// The mean of every `k` consecutive coordinate values; float32 stays float32, other dtypes
/// give float64 (as xarray's default `coord_func="mean"`).
fn block_means(values: &ArrayData, k: usize) -> ArrayData {
    let v = values.to_f64_vec();
    let means: Vec<f64> = v
        .chunks(k)
        .filter(|c| c.len() == k)
        .map(|c| c.iter().sum::<f64>() / k as f64)
        .collect();
    if values.dtype() == DType::F32 {
        let f: Vec<f32> = means.iter().map(|&m| m as f32).collect();
        ArrayData::from(ndarray::Array1::from(f).into_dyn())
    } else {
        ArrayData::from(ndarray::Array1::from(means).into_dyn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_to_whole_blocks() {
        assert_eq!(whole_blocks(&[7, 7, 6], 2), vec![6, 6, 6, 2]);
        assert_eq!(whole_blocks(&[1, 1, 1, 1], 2), vec![2, 2]);
    }
}
