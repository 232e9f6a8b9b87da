//! Searching against a short list of values written in the program: NumPy's `digitize`,
//! `searchsorted` (the sorted side given as values, the searched side an array) and `isin`.
//! Each is a sum (or `or`) of elementwise comparisons, so chunked and lazy; the lists are
//! bounded by [`MAX_VALUES`]. This module must not compute anything.

use crate::array::array::Array;
use crate::array::dtype::{DType, Scalar};
use crate::array::error::ArrayError;

/// The longest list of bins or values (each is one comparison per element).
pub const MAX_VALUES: usize = 256;

fn check(op: &'static str, values: &[Scalar], sorted: bool) -> Result<(), ArrayError> {
    let bad = |reason: String| Err(ArrayError::Shape { op, reason });
    if values.len() > MAX_VALUES {
        return bad(format!(
            "{} values, more than the {MAX_VALUES} a list may hold",
            values.len()
        ));
    }
    let f = |s: &Scalar| match *s {
        Scalar::Bool(b) => f64::from(u8::from(b)),
        Scalar::Int(i) => i as f64,
        Scalar::Float(x) => x,
    };
    if values.iter().any(|v| f(v).is_nan()) {
        return bad("the values hold NaN".to_string());
    }
    if sorted && values.windows(2).any(|w| f(&w[0]) > f(&w[1])) {
        return bad("the values must be sorted in increasing order".to_string());
    }
    Ok(())
}

impl Array {
    /// How many of the sorted `values` are below each element (`inclusive`: at or below);
    /// NaN elements count every value, as NumPy sorts NaN last.
    fn count_below(&self, values: &[Scalar], inclusive: bool) -> Result<Array, ArrayError> {
        let mut acc = self.full_like(Scalar::Int(0), Some(DType::I64))?;
        for &v in values {
            let hit = if inclusive { self.ge(v)? } else { self.gt(v)? };
            acc = acc.add(hit.astype(DType::I64))?;
        }
        if self.dtype().is_float() {
            acc = Array::where_(&self.isnan()?, values.len() as i64, &acc)?;
        }
        Ok(acc)
    }

    /// The bin of each element for increasing `bins` (NumPy's `digitize`): `i` with
    /// `bins[i-1] <= x < bins[i]`, or `bins[i-1] < x <= bins[i]` when `right`.
    pub fn digitize(&self, bins: &[Scalar], right: bool) -> Result<Array, ArrayError> {
        check("digitize", bins, true)?;
        self.count_below(bins, !right)
    }

    /// Where each element would be inserted into the increasing `sorted` values to keep
    /// them sorted (NumPy's `searchsorted(sorted, self, side)`): before equal values, or
    /// after them when `right`.
    pub fn searchsorted_into(&self, sorted: &[Scalar], right: bool) -> Result<Array, ArrayError> {
        check("searchsorted", sorted, true)?;
        self.count_below(sorted, right)
    }

    /// Whether each element equals one of `values` (NumPy's `isin`).
    pub fn isin(&self, values: &[Scalar]) -> Result<Array, ArrayError> {
        check("isin", values, false)?;
        let mut acc = self.full_like(Scalar::Bool(false), Some(DType::Bool))?;
        for &v in values {
            acc = acc.logical_or(&self.eq(v)?)?;
        }
        Ok(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::grid::ChunkSpec;

    #[test]
    fn long_or_unsorted_lists_are_refused() {
        let x = Array::full(&[3], 1.0, DType::F64, ChunkSpec::Uniform(2)).expect("built");
        let many: Vec<Scalar> = (0..=MAX_VALUES as i64).map(Scalar::Int).collect();
        assert!(x.digitize(&many, false).is_err());
        assert!(x
            .digitize(&[Scalar::Int(2), Scalar::Int(1)], false)
            .is_err());
        assert!(x.isin(&[Scalar::Float(f64::NAN)]).is_err());
    }
}
