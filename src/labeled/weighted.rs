//! Weighted reductions (xarray's `weighted`): `x.weighted_reduce(&w, &["lat", "lon"],
//! WeightedReduce::Mean)`, e.g. area-weighted means with `w = cos(lat)`. The weights line up
//! with the data by dimension name; missing values of the data (NaN) count neither in the
//! weighted sum nor in the sum of weights, so a mean over a partly missing region is the mean
//! of what is there; a region with no valid value (or weights summing to 0) gives NaN for the
//! mean and 0 for the sum, as xarray. Attributes follow the plain reduction's rule.
//!
//! Two lazy sums over the broadcast product (`Σ w·x` with missing values as 0, and `Σ w` over
//! the valid values); no pass over the data beyond those. This module must not open files.

use crate::array::{Array, BinaryOp, DType, Operand, ReduceKind, ReduceOptions};

use super::{after_reduction, align, LabelError, LabeledArray};

/// The weighted reduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightedReduce {
    /// `Σ w·x` over the valid values.
    Sum,
    /// `Σ w·x / Σ w` over the valid values.
    Mean,
}

/// A labeled array with its weights (`weighted(x, w)`), waiting for a reduction.
#[derive(Clone, Debug)]
pub struct Weighted {
    /// The data.
    pub array: LabeledArray,
    /// The weights, lined up with the data by dimension name.
    pub weights: LabeledArray,
}

impl Weighted {
    /// [`LabeledArray::weighted_reduce`] of the data with these weights.
    pub fn reduce(&self, dims: &[&str], how: WeightedReduce) -> Result<LabeledArray, LabelError> {
        self.array.weighted_reduce(&self.weights, dims, how)
    }
}

impl LabeledArray {
    /// The weighted sum or mean over `dims` (all dimensions when empty), `weights` lined up by
    /// dimension name.
    ///
    /// ```
    /// use tessera::array::Array;
    /// use tessera::labeled::{LabeledArray, WeightedReduce};
    /// let x = ndarray::arr1(&[1.0, f64::NAN, 4.0]).into_dyn();
    /// let w = ndarray::arr1(&[1.0, 5.0, 3.0]).into_dyn();
    /// let x = LabeledArray::new(Array::from_ndarray(&x, 2).unwrap(), "v").with_dims(&["lat"]).unwrap();
    /// let w = LabeledArray::new(Array::from_ndarray(&w, 2).unwrap(), "w").with_dims(&["lat"]).unwrap();
    /// let m = x.weighted_reduce(&w, &["lat"], WeightedReduce::Mean).unwrap();
    /// assert_eq!(m.array().compute_local_as::<f64>().unwrap().into_raw_vec_and_offset().0, vec![3.25]);
    /// ```
    pub fn weighted_reduce(
        &self,
        weights: &LabeledArray,
        dims: &[&str],
        how: WeightedReduce,
    ) -> Result<LabeledArray, LabelError> {
        for w in weights.dims() {
            if !self.dims().contains(w) {
                return Err(LabelError::Invalid(format!(
                    "weights have dimension {w}, which {} does not have",
                    self.name()
                )));
            }
        }
        let aligned = align(&[self, weights])?;
        let (x, w) = (
            aligned.arrays[0].astype(DType::F64),
            aligned.arrays[1].astype(DType::F64),
        );
        let valid = Array::binary_op(BinaryOp::Eq, &x, &x)?;
        let zeroed = Array::where_(&valid, &x, Operand::from(0.0))?;
        let weighted = Array::binary_op(BinaryOp::Mul, zeroed, &w)?;
        let full = aligned.label(weighted.clone(), self.name())?;
        let axes: Vec<usize> = if dims.is_empty() {
            (0..full.dims().len()).collect()
        } else {
            dims.iter()
                .map(|d| full.axis_of(d))
                .collect::<Result<_, _>>()?
        };
        let opts = ReduceOptions::axes(axes.iter().map(|&a| a as isize));
        let total = weighted.reduce(ReduceKind::Sum, &opts)?;
        let (kind, result) = match how {
            WeightedReduce::Sum => (ReduceKind::Sum, total),
            WeightedReduce::Mean => {
                let present = Array::binary_op(BinaryOp::Mul, valid.astype(DType::F64), &w)?;
                let weight_sum = present.reduce(ReduceKind::Sum, &opts)?;
                let none = Array::binary_op(BinaryOp::Eq, &weight_sum, Operand::from(0.0))?;
                let mean = Array::binary_op(BinaryOp::Div, total, &weight_sum)?;
                (
                    ReduceKind::Mean,
                    Array::where_(&none, Operand::from(f64::NAN), mean)?,
                )
            }
        };
        let reduced: Vec<String> = axes.iter().map(|&a| full.dims()[a].clone()).collect();
        let out = full.after_reduce(result, kind, &axes, false);
        Ok(out.with_attrs(after_reduction(kind, self.attrs(), &reduced)))
    }
}
