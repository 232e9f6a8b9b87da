//! Weighted statistics built from the lazy reductions: NumPy's `average` with weights.
//! Chunked and lazy like the sums it is made of. This module must not compute anything.

use crate::array::array::Array;
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::reduce::{normalize_axes, ReduceKind, ReduceOptions};

impl Array {
    /// The weighted mean `sum(x * w) / sum(w)` over `axis` (all axes when `None`), NumPy's
    /// `average`: `weights` has this array's shape, or is 1-d along `axis`. Integer and
    /// boolean data are averaged in float64. Weights summing to zero give NaN or infinity
    /// (NumPy raises): a task cannot fail on its values.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let x = Array::arange(0, 4, 1, DType::I64, 3).unwrap();
    /// let w = Array::arange(1, 5, 1, DType::I64, 2).unwrap();
    /// let a = x.average(&w, None).unwrap();
    /// assert_eq!(a.compute_local_as::<f64>().unwrap().as_slice().unwrap(), &[2.0]);
    /// ```
    pub fn average(&self, weights: &Array, axis: Option<isize>) -> Result<Array, ArrayError> {
        let opts = match axis {
            None => ReduceOptions::all(),
            Some(a) => ReduceOptions::axes([a]),
        };
        let w = if weights.shape() == self.shape() {
            weights.clone()
        } else {
            let bad = |reason: String| ArrayError::Shape {
                op: "average",
                reason,
            };
            let Some(a) = axis else {
                return Err(bad(format!(
                    "weights of shape {:?} differ from the data's shape {:?}; give an axis for 1-d weights",
                    weights.shape(),
                    self.shape()
                )));
            };
            let a = normalize_axes(&[a], self.ndim())?[0];
            if weights.ndim() != 1 || weights.shape()[0] != self.shape()[a] {
                return Err(bad(format!(
                    "weights of shape {:?} for axis {a} of length {}",
                    weights.shape(),
                    self.shape()[a]
                )));
            }
            let mut shape = vec![1; self.ndim()];
            shape[a] = self.shape()[a];
            weights.reshape(&shape)?
        };
        // NumPy's result dtype: float64 for integer or boolean data, else the promotion.
        let dtype = if self.dtype().is_float() {
            self.dtype().promote(w.dtype())
        } else {
            DType::F64
        };
        let reduced: Vec<usize> = match axis {
            None => (0..self.ndim()).collect(),
            Some(a) => normalize_axes(&[a], self.ndim())?,
        };
        if reduced.iter().any(|&a| self.shape()[a] == 0) {
            return Err(ArrayError::Shape {
                op: "average",
                reason: format!(
                    "the weights sum to zero over the empty axes of shape {:?}",
                    self.shape()
                ),
            });
        }
        let (x, w) = (self.astype(dtype), w.astype(dtype));
        let num = x.mul(&w)?.reduce(ReduceKind::Sum, &opts)?;
        let den = w
            .broadcast_to(self.shape())?
            .reduce(ReduceKind::Sum, &opts)?;
        num.div(&den)
    }
}
