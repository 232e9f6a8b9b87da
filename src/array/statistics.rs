//! Statistics built from the lazy reductions and products: NumPy's `average` with weights,
//! `cov` and `corrcoef`.
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

    /// The rows (variables) centred on their means, as float64, and the number of
    /// observations: the common part of `cov` and `corrcoef`.
    fn centred_rows(&self, rowvar: bool, op: &'static str) -> Result<(Array, usize), ArrayError> {
        let x = match self.ndim() {
            1 => self.expand_dims(0)?,
            2 if rowvar => self.clone(),
            2 => self.t(),
            n => {
                return Err(ArrayError::Shape {
                    op,
                    reason: format!("needs 1 or 2 axes, got {n}"),
                })
            }
        }
        .astype(DType::F64);
        let n = x.shape()[1];
        let mean = x.reduce(ReduceKind::Mean, &ReduceOptions::axes([1]).keepdims(true))?;
        Ok((x.sub(&mean)?, n))
    }

    /// NumPy's `cov`: the covariance of the rows (`rowvar`) or columns, normalised by
    /// `N - ddof` (default `ddof` 1); a 1-d array is one variable and gives a 0-d result.
    pub fn cov(&self, rowvar: bool, ddof: i64) -> Result<Array, ArrayError> {
        let (xc, n) = self.centred_rows(rowvar, "cov")?;
        let fact = (n as i64 - ddof).max(0) as f64;
        let c = xc.matmul(&xc.t())?.div(fact)?;
        if self.ndim() == 1 {
            c.reshape(&[])
        } else {
            Ok(c)
        }
    }

    /// NumPy's `corrcoef`: Pearson correlation coefficients of the rows (`rowvar`) or
    /// columns, clipped to [-1, 1].
    pub fn corrcoef(&self, rowvar: bool) -> Result<Array, ArrayError> {
        let (xc, _) = self.centred_rows(rowvar, "corrcoef")?;
        let c = xc.matmul(&xc.t())?;
        if self.ndim() == 1 {
            return c.div(&c)?.reshape(&[]);
        }
        let d = xc
            .mul(&xc)?
            .reduce(ReduceKind::Sum, &ReduceOptions::axes([1]))?
            .sqrt()?;
        c.div(&d.expand_dims(1)?)?
            .div(&d.expand_dims(0)?)?
            .clip(-1.0, 1.0)
    }
}
